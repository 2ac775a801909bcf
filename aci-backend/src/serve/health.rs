//! The HTTP health port for Kubernetes probes: the provider API may listen on a Unix socket,
//! which a kubelet cannot probe.
//!
//! `/healthz` answers 200 while the process runs; `/readyz` answers 200 once start-up is
//! complete and the provider API is being served, 503 before.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

/// Whether the provider API is being served; shared with the health port.
#[derive(Debug, Clone, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    /// Marks the backend ready (or not).
    pub fn set(&self, ready: bool) {
        self.0.store(ready, Ordering::Release);
    }

    fn get(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// Why the health port could not be served.
#[derive(Debug, thiserror::Error)]
#[error("binding the health address {address}: {source}")]
pub struct HealthError {
    address: SocketAddr,
    source: std::io::Error,
}

/// The health routes.
pub fn router(readiness: Readiness) -> Router {
    Router::new().route("/healthz", get(|| async { "ok" })).route("/readyz", get(ready)).with_state(readiness)
}

async fn ready(State(readiness): State<Readiness>) -> (StatusCode, &'static str) {
    if readiness.get() { (StatusCode::OK, "ok") } else { (StatusCode::SERVICE_UNAVAILABLE, "starting") }
}

/// Binds the health port; the returned future serves it until `shutdown` completes.
pub async fn bind(
    address: SocketAddr,
    readiness: Readiness,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<impl std::future::Future<Output = std::io::Result<()>>, HealthError> {
    let listener =
        tokio::net::TcpListener::bind(address).await.map_err(|source| HealthError { address, source })?;
    Ok(axum::serve(listener, router(readiness)).with_graceful_shutdown(shutdown).into_future())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn status(address: SocketAddr, path: &str) -> u16 {
        let response = reqwest::get(format!("http://{address}{path}")).await.expect("health port answers");
        response.status().as_u16()
    }

    #[tokio::test]
    async fn readiness_follows_start_up_while_liveness_is_always_ok() {
        let readiness = Readiness::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        tokio::spawn(axum::serve(listener, router(readiness.clone())).into_future());
        assert_eq!(status(address, "/healthz").await, 200);
        assert_eq!(status(address, "/readyz").await, 503);
        readiness.set(true);
        assert_eq!(status(address, "/readyz").await, 200);
        assert_eq!(status(address, "/other").await, 404);
    }

    #[tokio::test]
    async fn a_taken_port_is_named_in_the_error() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = taken.local_addr().expect("address");
        let error = bind(address, Readiness::default(), std::future::pending()).await.err();
        let message = error.map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains(&address.to_string()), "{message}");
    }
}
