//! In-memory terminals for tests: a scripted container that answers what is typed.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::channel::mpsc;
use futures::{SinkExt as _, StreamExt as _};

use super::{OpenError, TermSize, Terminal, TerminalError, TerminalOpener};

/// The container side of an in-memory terminal.
pub struct Far {
    /// Writes terminal output.
    pub output: mpsc::UnboundedSender<Result<Bytes, TerminalError>>,
    /// Reads what was typed; ends when the session closes the terminal.
    pub input: mpsc::UnboundedReceiver<Bytes>,
}

/// A connected pair: the session's [`Terminal`] and the container's [`Far`] end.
pub fn pair() -> (Terminal, Far) {
    let (out_tx, out_rx) = mpsc::unbounded();
    let (in_tx, in_rx) = mpsc::unbounded();
    let input = in_tx.sink_map_err(|e| TerminalError::Send(e.to_string()));
    (Terminal { output: Box::pin(out_rx), input: Box::pin(input) }, Far { output: out_tx, input: in_rx })
}

/// What a scripted container does when a command is opened.
pub type Behaviour = Arc<dyn Fn(&str, Far) + Send + Sync>;

/// Opens in-memory terminals and records the commands.
#[derive(Clone)]
pub struct Scripted {
    /// Commands opened, in order.
    pub opened: Arc<Mutex<Vec<String>>>,
    behaviour: Behaviour,
}

impl Scripted {
    /// A container that runs `behaviour` for each opened terminal.
    pub fn new(behaviour: Behaviour) -> Self {
        Scripted { opened: Arc::default(), behaviour }
    }
}

#[async_trait::async_trait]
impl TerminalOpener for Scripted {
    async fn exec(&self, command: &str, _size: TermSize) -> Result<Terminal, OpenError> {
        if let Ok(mut opened) = self.opened.lock() {
            opened.push(command.to_owned());
        }
        let (terminal, far) = pair();
        (self.behaviour)(command, far);
        Ok(terminal)
    }

    async fn attach(&self) -> Result<Terminal, OpenError> {
        self.exec("<attach>", TermSize::default()).await
    }
}

/// The nonce in a typed driver script.
pub fn nonce_of(script: &str) -> Option<String> {
    let (_, rest) = script.split_once("vkS%s\\n' ")?;
    Some(rest.chars().take_while(|c| c.is_ascii_alphanumeric()).collect())
}

/// Reads typed input until it holds a driver script; returns its nonce.
pub async fn read_nonce(far: &mut Far) -> Option<String> {
    let mut typed = String::new();
    while let Some(bytes) = far.input.next().await {
        typed.push_str(&String::from_utf8_lossy(&bytes));
        if typed.ends_with("exit\n") {
            return nonce_of(&typed);
        }
    }
    None
}
