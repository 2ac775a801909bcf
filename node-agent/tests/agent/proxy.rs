//! A Unix-socket relay between the agent and its backend. Stopping it closes every relayed
//! connection at once, as a backend process that dies would (a backend server shut down
//! in-process keeps its open streams alive).

use std::path::{Path, PathBuf};

use tokio::net::{UnixListener, UnixStream};
use tokio::task::{JoinHandle, JoinSet};

/// A running relay; dropping it cuts every connection.
pub struct Proxy {
    task: JoinHandle<()>,
}

impl Proxy {
    /// Relays connections made to `listen` to the socket at `target`.
    pub fn start(listen: &Path, target: PathBuf) -> std::io::Result<Self> {
        match std::fs::remove_file(listen) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(error),
            _ => {}
        }
        let listener = UnixListener::bind(listen)?;
        let task = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                connections.spawn(async move {
                    if let Ok(mut outbound) = UnixStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Ok(Self { task })
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}
