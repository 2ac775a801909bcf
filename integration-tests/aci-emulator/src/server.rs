//! The HTTP(S) server: routes, the accept loop (which can drop connections for fault injection), and the
//! handle tests and the binary hold.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower::ServiceExt;

use crate::arm::{self, DropConnection, GroupRef};
use crate::config::Config;
use crate::faults::{FaultParseError, FaultRule, Faults};
use crate::state::Shared;
use crate::tls::{TlsError, self_signed};
use crate::{admin, auth, exec_ws};

/// Failures while starting the emulator.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("refusing to listen on {0}: the emulator serves loopback addresses only")]
    NotLoopback(SocketAddr),
    #[error("binding {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("reading the bound address: {0}")]
    LocalAddr(#[source] std::io::Error),
    #[error(transparent)]
    Fault(#[from] FaultParseError),
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("writing the CA certificate to {path}: {source}")]
    WriteCa { path: String, source: std::io::Error },
}

pub struct Emulator;

/// A running emulator. Dropping it stops the server.
pub struct EmulatorHandle {
    base_url: String,
    addr: SocketAddr,
    ca_pem: Option<String>,
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(auth::token_endpoint))
        .route("/metadata/identity/oauth2/token", get(auth::managed_identity_endpoint))
        .route("/_aci/ws/{id}", get(exec_ws::websocket))
        .merge(admin::routes())
        .fallback(arm::handle)
        .with_state(shared)
}

impl Emulator {
    /// Binds, then serves in a background task until the handle is dropped or shut down.
    pub async fn start(config: Config) -> Result<EmulatorHandle, StartError> {
        if !config.listen.ip().is_loopback() {
            return Err(StartError::NotLoopback(config.listen));
        }
        let rules = config.faults.iter().map(|f| f.parse::<FaultRule>()).collect::<Result<Vec<_>, _>>()?;
        let tls = if config.tls { Some(self_signed()?) } else { None };
        if let (Some(tls), Some(path)) = (&tls, &config.tls_ca_out) {
            std::fs::write(path, &tls.ca_pem)
                .map_err(|source| StartError::WriteCa { path: path.display().to_string(), source })?;
        }
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| StartError::Bind { addr: config.listen, source })?;
        let addr = listener.local_addr().map_err(StartError::LocalAddr)?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let base_url = format!("{scheme}://{addr}");
        let shared = Arc::new(Shared::new(config, Faults::new(rules)));
        let _ = shared.base_url.set(base_url.clone());
        let (shutdown, stop) = watch::channel(false);
        let acceptor = tls.as_ref().map(|t| tokio_rustls::TlsAcceptor::from(t.server_config.clone()));
        let task = tokio::spawn(serve(listener, shared.clone(), acceptor, stop));
        Ok(EmulatorHandle { base_url, addr, ca_pem: tls.map(|t| t.ca_pem), shared, shutdown, task })
    }
}

async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    mut stop: watch::Receiver<bool>,
) {
    let router = router(shared.clone());
    loop {
        let stream = tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a connection");
                    continue;
                }
            },
        };
        let router = router.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                let router = router.clone();
                async move {
                    let response = router.oneshot(request).await.unwrap_or_else(|never| match never {});
                    if response.extensions().get::<DropConnection>().is_some() {
                        return Err(std::io::Error::other("connection dropped by fault injection"));
                    }
                    Ok(response)
                }
            });
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            let result = match acceptor {
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(tls) => builder.serve_connection_with_upgrades(TokioIo::new(tls), service).await,
                    Err(e) => {
                        tracing::debug!(error = %e, "TLS handshake");
                        return;
                    }
                },
                None => builder.serve_connection_with_upgrades(TokioIo::new(stream), service).await,
            };
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection ended");
            }
        });
    }
    shared.controls.abort_all();
}

impl EmulatorHandle {
    /// `http://127.0.0.1:PORT` (or https with `--tls`): the ARM endpoint and the token authority host.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The CA certificate (PEM) to trust in TLS mode.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// Issues a bearer token for `principal` directly (no OAuth2 round trip).
    pub fn issue_token(&self, principal: &str) -> String {
        self.shared.tokens.issue(principal).0
    }

    /// Issues a token that has already expired.
    pub fn issue_expired_token(&self, principal: &str) -> String {
        self.shared.tokens.issue_for(principal, chrono::Duration::seconds(-60)).0
    }

    pub fn counters(&self) -> BTreeMap<String, u64> {
        self.shared.counters.snapshot()
    }

    /// GETs per container group name (lower case) since the last counter reset.
    pub fn group_reads(&self) -> BTreeMap<String, u64> {
        self.shared.counters.group_reads()
    }

    pub fn reset_counters(&self) {
        self.shared.counters.reset();
    }

    pub fn set_faults(&self, rules: Vec<FaultRule>) {
        self.shared.faults.set(rules);
    }

    /// Sets Microsoft.ContainerInstance registration for one subscription (or all when None).
    pub fn set_registered(&self, subscription: Option<&str>, registered: bool) {
        self.shared.registration.set(subscription, registered);
    }

    pub fn set_time_scale(&self, factor: f64) {
        self.shared.set_time_scale(factor);
    }

    pub fn set_arm_throttling(&self, enabled: bool) {
        self.shared.arm_buckets.set_enabled(enabled);
    }

    pub fn set_quotas(&self, enabled: bool) {
        self.shared.quotas.set_enabled(enabled);
    }

    /// Makes a running container exit with `code`; false when it is not running.
    pub fn exit_container(&self, group: &GroupRef, container: &str, code: i32) -> bool {
        self.shared.controls.request_exit(&group.key(), container).is_some_and(|tx| tx.send(code).is_ok())
    }

    /// Stops serving and waits for the accept loop to end.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        let _ = (&mut self.task).await;
    }

    /// Waits until the server ends (the binary's main loop).
    pub async fn wait(&mut self) {
        let _ = (&mut self.task).await;
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}
