//! A deadline per attempt, so one stuck connection cannot hang a call (retries get their own).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::arm::error::ArmError;
use crate::arm::request::{ArmRequest, ArmResponse};

/// Layer of [`Timeout`].
#[derive(Debug, Clone)]
pub struct TimeoutLayer {
    after: Duration,
}

impl TimeoutLayer {
    /// Fails attempts that take longer than `after`.
    pub fn new(after: Duration) -> Self {
        TimeoutLayer { after }
    }
}

impl<S> tower::Layer<S> for TimeoutLayer {
    type Service = Timeout<S>;
    fn layer(&self, inner: S) -> Timeout<S> {
        Timeout { inner, after: self.after }
    }
}

/// See the module doc.
#[derive(Debug, Clone)]
pub struct Timeout<S> {
    inner: S,
    after: Duration,
}

impl<S> tower::Service<ArmRequest> for Timeout<S>
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
        let operation = req.operation;
        let after = self.after;
        let fut = self.inner.call(req);
        Box::pin(async move {
            tokio::time::timeout(after, fut).await.unwrap_or(Err(ArmError::Timeout { operation, after }))
        })
    }
}

#[cfg(test)]
mod tests {
    use tower::{Layer as _, ServiceExt as _};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_slow_attempt_times_out() {
        let slow = tower::service_fn(|_req: ArmRequest| async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Err::<ArmResponse, ArmError>(ArmError::Transport { operation: "op", message: "never".into() })
        });
        let req = ArmRequest::new("op", http::Method::GET, "http://arm.test/".parse().expect("url"));
        let err =
            TimeoutLayer::new(Duration::from_secs(5)).layer(slow).oneshot(req).await.expect_err("times out");
        assert!(matches!(err, ArmError::Timeout { after, .. } if after == Duration::from_secs(5)));
        assert!(err.is_retryable());
    }
}
