//! Serving the provider API with health and reflection: on a Unix socket for the sidecar
//! shape (callers trusted by file permissions), or on TCP with TLS where every caller is
//! authenticated by client certificate or bearer token and limited to its clusters.

use std::future::Future;

use tokio_stream::wrappers::{TcpListenerStream, UnixListenerStream};
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tonic::{Request, Status};
use vk_proto::Endpoint;
use vk_proto::v1::provider_server::ProviderServer;

use super::callers::Callers;
use crate::grpc::{AciProvider, AllowedClusters};

/// TLS and caller settings of a TCP server.
#[derive(Debug, Clone)]
pub struct TcpSecurity {
    /// Server certificate chain (PEM).
    pub cert_pem: Vec<u8>,
    /// Server key (PEM).
    pub key_pem: Vec<u8>,
    /// CA that signs client certificates (PEM), when callers use them.
    pub client_ca_pem: Option<Vec<u8>>,
    /// Known callers.
    pub callers: Callers,
}

/// Why serving failed.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// TCP without TLS and callers.
    #[error("serving on {0} needs --tls-cert, --tls-key and --callers")]
    InsecureTcp(String),
    /// The socket could not be bound.
    #[error("listening on {address}: {message}")]
    Bind {
        /// Address.
        address: String,
        /// Detail.
        message: String,
    },
    /// The server failed.
    #[error("serving the provider API: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// Reflection could not be built.
    #[error("building reflection: {0}")]
    Reflection(String),
}

fn authenticate(callers: &Callers, request: &mut Request<()>) -> Result<(), Status> {
    let by_cert = request
        .peer_certs()
        .and_then(|certs| certs.first().and_then(|c| callers.by_certificate(c.as_ref())).cloned());
    let caller = match by_cert {
        Some(c) => c,
        None => {
            let header = request.metadata().get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
            let token = header.strip_prefix("Bearer ").unwrap_or("");
            if token.is_empty() {
                return Err(Status::unauthenticated("present a known client certificate or a bearer token"));
            }
            callers.by_token(token).cloned().ok_or_else(|| Status::unauthenticated("unknown bearer token"))?
        }
    };
    request.extensions_mut().insert(AllowedClusters(caller.clusters.clone()));
    Ok(())
}

/// How long open streams (WatchPods, followed logs, exec) may keep the server alive after
/// shutdown began.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Turns `shutdown` into the server's graceful signal plus a deadline that ends the server
/// even while streams stay open.
fn with_grace(
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> (impl Future<Output = ()> + Send, impl Future<Output = ()> + Send) {
    let (began, began_rx) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        shutdown.await;
        let _ = began.send(());
    };
    let deadline = async move {
        if began_rx.await.is_ok() {
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    (signal, deadline)
}

/// Serves until `shutdown` completes (and open streams end, at most [`SHUTDOWN_GRACE`] later).
pub async fn serve(
    endpoint: &Endpoint,
    provider: AciProvider,
    tcp: Option<TcpSecurity>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let (_reporter, health) = vk_proto::standard_services::health().await;
    let reflection =
        vk_proto::standard_services::reflection().map_err(|e| ServeError::Reflection(e.to_string()))?;
    let (shutdown, deadline) = with_grace(shutdown);
    let bind_error =
        |e: std::io::Error| ServeError::Bind { address: endpoint.to_string(), message: e.to_string() };
    match endpoint {
        Endpoint::Unix(path) => {
            if path.exists() {
                std::fs::remove_file(path).map_err(bind_error)?;
            }
            let listener = tokio::net::UnixListener::bind(path).map_err(bind_error)?;
            let server = Server::builder()
                .add_service(health)
                .add_service(reflection)
                .add_service(ProviderServer::new(provider))
                .serve_with_incoming_shutdown(UnixListenerStream::new(listener), shutdown);
            tokio::select! {
                served = server => served?,
                () = deadline => tracing::info!("streams still open after the shutdown grace; stopping"),
            }
        }
        Endpoint::Tcp(address) => {
            let Some(security) = tcp else { return Err(ServeError::InsecureTcp(endpoint.to_string())) };
            // Two rustls crypto back ends are linked (ring here, aws-lc-rs through reqwest), so
            // the process default must be chosen; an earlier choice stays.
            vk_proto::tls::install_crypto_provider();
            let mut tls =
                ServerTlsConfig::new().identity(Identity::from_pem(&security.cert_pem, &security.key_pem));
            if let Some(ca) = &security.client_ca_pem {
                tls = tls.client_ca_root(Certificate::from_pem(ca)).client_auth_optional(true);
            }
            let listener = tokio::net::TcpListener::bind(address).await.map_err(bind_error)?;
            let callers = security.callers.clone();
            let provider = ProviderServer::with_interceptor(provider, move |mut r: Request<()>| {
                authenticate(&callers, &mut r)?;
                Ok(r)
            });
            let server = Server::builder()
                .tls_config(tls)?
                .add_service(health)
                .add_service(reflection)
                .add_service(provider)
                .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown);
            tokio::select! {
                served = server => served?,
                () = deadline => tracing::info!("streams still open after the shutdown grace; stopping"),
            }
        }
    }
    Ok(())
}
