//! One tracing span per logical ARM call (retries happen inside it), with outcome and latency.
//! URLs are logged without their query; bodies and headers never are.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tracing::Instrument as _;

use crate::arm::error::ArmError;
use crate::arm::request::{ArmRequest, ArmResponse};

/// Layer of [`Trace`].
#[derive(Debug, Clone, Default)]
pub struct TraceLayer;

impl<S> tower::Layer<S> for TraceLayer {
    type Service = Trace<S>;
    fn layer(&self, inner: S) -> Trace<S> {
        Trace { inner }
    }
}

/// See the module doc.
#[derive(Debug, Clone)]
pub struct Trace<S> {
    inner: S,
}

impl<S> tower::Service<ArmRequest> for Trace<S>
where
    S: tower::Service<ArmRequest, Response = ArmResponse, Error = ArmError>,
    S::Future: Send + 'static,
{
    type Response = ArmResponse;
    type Error = ArmError;
    type Future = Pin<Box<dyn Future<Output = Result<ArmResponse, ArmError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ArmError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: ArmRequest) -> Self::Future {
        let span = tracing::debug_span!("arm", operation = req.operation, method = %req.method, path = req.url.path());
        let started = tokio::time::Instant::now();
        let fut = self.inner.call(req);
        Box::pin(
            async move {
                let result = fut.await;
                let millis = started.elapsed().as_millis() as u64;
                match &result {
                    Ok(r) => tracing::debug!(status = r.status.as_u16(), millis, "ARM call done"),
                    Err(e) if e.is_not_found() => tracing::debug!(millis, "ARM call: not found"),
                    Err(e) => tracing::warn!(error = %e, millis, "ARM call failed"),
                }
                result
            }
            .instrument(span),
        )
    }
}
