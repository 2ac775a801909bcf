//! Accepting connections: TLS handshake, the client certificate's user, HTTP/1.1 with
//! upgrades.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use super::auth::{User, user_from_certificate};
use super::provider::ProviderChannel;
use super::service::KubeletApi;
use super::tls::{ServingCertificate, TlsError, server_config};

/// Where and how to serve the kubelet API.
#[derive(Clone, Debug)]
pub struct ServerSettings {
    /// Listen address (`--kubelet-port`, default 10250).
    pub address: SocketAddr,
    /// Serving certificate.
    pub serving: ServingCertificate,
    /// CA that signs the apiserver's kubelet client certificate (`--client-ca-file`).
    pub client_ca: Option<PathBuf>,
}

/// Why the kubelet API could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The TLS configuration failed.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The port could not be bound.
    #[error("binding the kubelet API to {address}: {source}")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// Binds `settings.address` and serves until `shutdown`.
pub async fn run<T: ProviderChannel>(
    settings: &ServerSettings,
    api: Arc<KubeletApi<T>>,
    shutdown: CancellationToken,
) -> Result<(), ServeError> {
    let tls = server_config(&settings.serving, settings.client_ca.as_deref())?;
    let listener = TcpListener::bind(settings.address)
        .await
        .map_err(|source| ServeError::Bind { address: settings.address, source })?;
    tracing::info!(address = %settings.address, "kubelet API listening");
    serve_tls(listener, tls, api, shutdown).await;
    Ok(())
}

/// How long a client has to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves HTTPS on `listener` until `shutdown`; sessions already running carry on.
pub async fn serve_tls<T: ProviderChannel>(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    api: Arc<KubeletApi<T>>,
    shutdown: CancellationToken,
) {
    let acceptor = TlsAcceptor::from(tls);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    tracing::warn!(error = %err, "accepting a kubelet API connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => return,
        };
        let acceptor = acceptor.clone();
        let api = api.clone();
        tokio::spawn(async move {
            let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(stream)) => stream,
                Ok(Err(err)) => {
                    tracing::debug!(%peer, error = %err, "kubelet API TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "kubelet API TLS handshake timed out");
                    return;
                }
            };
            let user = stream
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| chain.first())
                .and_then(|certificate| user_from_certificate(certificate));
            serve_connection(stream, api, user).await;
        });
    }
}

/// Serves one connection (already decrypted) for a caller whose certificate named `user`.
pub async fn serve_connection<IO, T>(io: IO, api: Arc<KubeletApi<T>>, user: Option<User>)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    T: ProviderChannel,
{
    let service = service_fn(move |request| {
        let api = api.clone();
        let user = user.clone();
        async move { Ok::<_, std::convert::Infallible>(api.handle(request, user).await) }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    if let Err(err) = connection.await {
        tracing::debug!(error = %err, "kubelet API connection ended with an error");
    }
}
