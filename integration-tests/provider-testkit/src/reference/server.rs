//! Serving a reference backend over a Unix socket or TCP (optionally TLS), together with
//! `grpc.health.v1` and reflection.

use std::path::{Path, PathBuf};

use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::{TcpListenerStream, UnixListenerStream};
use tonic::transport::server::Router;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use vk_proto::Endpoint;

use super::ReferenceBackend;

/// TLS material of a TCP server, PEM encoded.
#[derive(Debug, Clone)]
pub struct ServerTls {
    /// Server certificate chain.
    pub cert_pem: String,
    /// Server private key.
    pub key_pem: String,
    /// When set, clients must present a certificate signed by this CA.
    pub client_ca_pem: Option<String>,
}

/// Why a server could not start or stop.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Binding the Unix socket failed.
    #[error("binding the Unix socket {path} failed: {source}")]
    BindUnix {
        /// The socket path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Binding the TCP address failed.
    #[error("binding the TCP address {address} failed: {source}")]
    BindTcp {
        /// The address.
        address: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The TLS settings were refused.
    #[error("configuring TLS failed: {0}")]
    ConfigureTls(tonic::transport::Error),
    /// The reflection service could not be built.
    #[error("building the reflection service failed: {0}")]
    BuildReflection(#[from] tonic_reflection::server::Error),
    /// The server failed while serving.
    #[error("serving failed: {0}")]
    Serve(tonic::transport::Error),
    /// The server task panicked or was cancelled.
    #[error("joining the server task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// A running server. Shut it down with [`ServerHandle::shutdown`]; dropping it stops it too.
#[derive(Debug)]
pub struct ServerHandle {
    endpoint: Endpoint,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), tonic::transport::Error>>>,
    socket: Option<PathBuf>,
}

impl ServerHandle {
    /// Where the server listens (`unix://...` or `tcp://127.0.0.1:PORT`).
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Stops accepting calls, waits for the server to end and removes its socket file.
    pub async fn shutdown(mut self) -> Result<(), ServeError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let result = match self.task.take() {
            Some(task) => task.await?.map_err(ServeError::Serve),
            None => Ok(()),
        };
        if let Some(socket) = self.socket.take() {
            let _ = std::fs::remove_file(socket);
        }
        result
    }

    /// Waits until the server ends on its own (it does not, unless it fails).
    pub async fn wait(mut self) -> Result<(), ServeError> {
        match self.task.take() {
            Some(task) => task.await?.map_err(ServeError::Serve),
            None => Ok(()),
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        if let Some(socket) = self.socket.take() {
            let _ = std::fs::remove_file(socket);
        }
    }
}

impl ReferenceBackend {
    async fn router(&self, tls: Option<ServerTls>) -> Result<Router, ServeError> {
        let mut builder = Server::builder();
        if let Some(tls) = tls {
            let mut config = ServerTlsConfig::new().identity(Identity::from_pem(tls.cert_pem, tls.key_pem));
            if let Some(ca) = tls.client_ca_pem {
                config = config.client_ca_root(Certificate::from_pem(ca));
            }
            builder = builder.tls_config(config).map_err(ServeError::ConfigureTls)?;
        }
        let (_reporter, health) = vk_proto::standard_services::health().await;
        Ok(builder
            .add_service(health)
            .add_service(vk_proto::standard_services::reflection()?)
            .add_service(self.service()))
    }

    /// Serves on a Unix socket at `path` (a stale socket file there is replaced).
    pub async fn serve_unix(&self, path: &Path) -> Result<ServerHandle, ServeError> {
        let bind_error = |source| ServeError::BindUnix { path: path.to_owned(), source };
        match std::fs::remove_file(path) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(bind_error(error)),
            _ => {}
        }
        let listener = tokio::net::UnixListener::bind(path).map_err(bind_error)?;
        let router = self.router(None).await?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task =
            tokio::spawn(router.serve_with_incoming_shutdown(UnixListenerStream::new(listener), async {
                let _ = stopped.await;
            }));
        Ok(ServerHandle {
            endpoint: Endpoint::Unix(path.to_owned()),
            stop: Some(stop),
            task: Some(task),
            socket: Some(path.to_owned()),
        })
    }

    /// Serves on a TCP `host:port` (port 0 picks a free one), with TLS when given.
    pub async fn serve_tcp(&self, address: &str, tls: Option<ServerTls>) -> Result<ServerHandle, ServeError> {
        let bind_error = |source| ServeError::BindTcp { address: address.to_owned(), source };
        let listener = tokio::net::TcpListener::bind(address).await.map_err(bind_error)?;
        let local = listener.local_addr().map_err(bind_error)?;
        let router = self.router(tls).await?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task =
            tokio::spawn(router.serve_with_incoming_shutdown(TcpListenerStream::new(listener), async {
                let _ = stopped.await;
            }));
        Ok(ServerHandle {
            endpoint: Endpoint::Tcp(local.to_string()),
            stop: Some(stop),
            task: Some(task),
            socket: None,
        })
    }
}
