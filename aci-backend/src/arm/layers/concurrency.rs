//! A cap on ARM calls in flight, shared by every clone of the stack.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::sync::Semaphore;

use crate::arm::error::ArmError;
use crate::arm::request::{ArmRequest, ArmResponse};

/// Layer of [`Concurrency`].
#[derive(Debug, Clone)]
pub struct ConcurrencyLayer {
    permits: Arc<Semaphore>,
}

impl ConcurrencyLayer {
    /// At most `max` calls at once.
    pub fn new(max: usize) -> Self {
        ConcurrencyLayer { permits: Arc::new(Semaphore::new(max.max(1))) }
    }
}

impl<S> tower::Layer<S> for ConcurrencyLayer {
    type Service = Concurrency<S>;
    fn layer(&self, inner: S) -> Concurrency<S> {
        Concurrency { inner, permits: self.permits.clone() }
    }
}

/// Waits for a permit before calling the inner service; holds it until the call ends.
#[derive(Debug, Clone)]
pub struct Concurrency<S> {
    inner: S,
    permits: Arc<Semaphore>,
}

impl<S> tower::Service<ArmRequest> for Concurrency<S>
where
    S: tower::Service<ArmRequest, Response = ArmResponse, Error = ArmError> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = ArmResponse;
    type Error = ArmError;
    type Future = Pin<Box<dyn Future<Output = Result<ArmResponse, ArmError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ArmError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: ArmRequest) -> Self::Future {
        let mut inner = self.inner.clone();
        std::mem::swap(&mut inner, &mut self.inner);
        let permits = self.permits.clone();
        Box::pin(async move {
            // The semaphore is never closed, so acquiring only waits.
            let _permit = permits.acquire_owned().await;
            inner.call(req).await
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::time::Instant;
    use tower::{Layer as _, ServiceExt as _};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn calls_beyond_the_limit_wait_their_turn() {
        let slow = tower::service_fn(|_req: ArmRequest| async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            Ok::<_, ArmError>(ArmResponse {
                status: http::StatusCode::OK,
                headers: Default::default(),
                body: Default::default(),
            })
        });
        let service = ConcurrencyLayer::new(2).layer(slow);
        let req = || ArmRequest::new("op", http::Method::GET, "http://arm.test/".parse().expect("url"));
        let start = Instant::now();
        let calls = (0..4).map(|_| service.clone().oneshot(req()));
        for result in futures::future::join_all(calls).await {
            result.expect("all succeed");
        }
        assert_eq!(Instant::now() - start, Duration::from_secs(2));
    }
}
