//! Retries of calls that are safe to repeat, on throttling (honouring `Retry-After`), server
//! errors, timeouts and connection failures, with exponential backoff and full jitter.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use rand::Rng as _;
use tower::ServiceExt as _;

use crate::arm::error::ArmError;
use crate::arm::request::{ArmRequest, ArmResponse};

/// How retries behave.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included.
    pub max_attempts: u32,
    /// Backoff ceiling of the first retry; doubles per retry.
    pub base_delay: Duration,
    /// Largest backoff.
    pub max_delay: Duration,
    /// A `Retry-After` longer than this is not waited for; the error goes to the caller.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(20),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// How long to wait before attempt `attempt + 1`, or `None` to give up.
    fn delay(&self, attempt: u32, error: &ArmError) -> Option<Duration> {
        if attempt >= self.max_attempts || !error.is_retryable() {
            return None;
        }
        if let Some(after) = error.retry_after() {
            return (after <= self.max_retry_after).then_some(after);
        }
        let ceiling = self.base_delay.saturating_mul(1 << (attempt - 1).min(16)).min(self.max_delay);
        let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Some(Duration::from_millis(rand::rng().random_range(millis / 2..=millis.max(1))))
    }
}

/// Layer of [`Retry`].
#[derive(Debug, Clone)]
pub struct RetryLayer {
    policy: RetryPolicy,
}

impl RetryLayer {
    /// Retries per `policy`.
    pub fn new(policy: RetryPolicy) -> Self {
        RetryLayer { policy }
    }
}

impl<S> tower::Layer<S> for RetryLayer {
    type Service = Retry<S>;
    fn layer(&self, inner: S) -> Retry<S> {
        Retry { inner, policy: self.policy }
    }
}

/// See the module doc.
#[derive(Debug, Clone)]
pub struct Retry<S> {
    inner: S,
    policy: RetryPolicy,
}

impl<S> tower::Service<ArmRequest> for Retry<S>
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
        let inner = self.inner.clone();
        let policy = self.policy;
        Box::pin(async move {
            let mut attempt = 1;
            loop {
                let result = inner.clone().oneshot(req.clone()).await;
                let error = match result {
                    Ok(response) => return Ok(response),
                    Err(e) => e,
                };
                let delay = if req.idempotent { policy.delay(attempt, &error) } else { None };
                let Some(delay) = delay else { return Err(error) };
                tracing::debug!(operation = req.operation, attempt, ?delay, error = %error, "retrying ARM call");
                tokio::time::sleep(delay).await;
                attempt += 1;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use http::{Method, StatusCode};
    use tokio::time::Instant;
    use tower::{Layer as _, ServiceExt as _};

    use super::*;

    /// A service answering from a script of outcomes and counting calls.
    fn scripted(
        script: Vec<Result<u16, ArmError>>,
    ) -> (
        impl tower::Service<ArmRequest, Response = ArmResponse, Error = ArmError, Future = impl Send>
        + Clone
        + Send
        + 'static,
        Arc<AtomicUsize>,
    ) {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let script = Arc::new(script);
        let service = tower::service_fn(move |req: ArmRequest| {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let outcome = script.get(n).cloned().unwrap_or(Ok(200));
            async move {
                match outcome {
                    Ok(status) => crate::arm::layers::classify::classify(
                        req.operation,
                        ArmResponse {
                            status: StatusCode::from_u16(status).expect("status"),
                            headers: Default::default(),
                            body: Default::default(),
                        },
                    ),
                    Err(e) => Err(e),
                }
            }
        });
        (service, calls)
    }

    fn policy() -> RetryPolicy {
        RetryPolicy { max_attempts: 4, ..RetryPolicy::default() }
    }

    fn request(method: Method) -> ArmRequest {
        ArmRequest::new("op", method, "http://arm.test/x".parse().expect("url"))
    }

    #[tokio::test(start_paused = true)]
    async fn an_idempotent_call_is_retried_through_server_errors() {
        let (inner, calls) = scripted(vec![Ok(503), Ok(500), Ok(200)]);
        let result = RetryLayer::new(policy()).layer(inner).oneshot(request(Method::GET)).await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_honoured_exactly() {
        let throttled = ArmError::Throttled {
            operation: "op",
            code: "T".into(),
            retry_after: Some(Duration::from_secs(7)),
        };
        let (inner, calls) = scripted(vec![Err(throttled), Ok(200)]);
        let start = Instant::now();
        RetryLayer::new(policy())
            .layer(inner)
            .oneshot(request(Method::PUT))
            .await
            .expect("second attempt works");
        assert_eq!(Instant::now() - start, Duration::from_secs(7));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_post_and_a_bad_request_are_not_retried() {
        let (inner, calls) = scripted(vec![Ok(503), Ok(200)]);
        let err = RetryLayer::new(policy())
            .layer(inner)
            .oneshot(request(Method::POST))
            .await
            .expect_err("no retry");
        assert_eq!(err.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let (inner, calls) = scripted(vec![Ok(400), Ok(200)]);
        RetryLayer::new(policy()).layer(inner).oneshot(request(Method::GET)).await.expect_err("400 is final");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn retries_stop_after_the_last_attempt() {
        let (inner, calls) = scripted(vec![Ok(503); 10]);
        RetryLayer::new(policy()).layer(inner).oneshot(request(Method::DELETE)).await.expect_err("gives up");
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }
}
