//! Counters of what actually went on the wire, for benchmarks and the metrics endpoint.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use crate::arm::error::ArmError;
use crate::arm::request::{ArmRequest, ArmResponse, Bucket};

/// Attempt counters.
#[derive(Debug, Default)]
pub struct ArmMetrics {
    reads: AtomicU64,
    writes: AtomicU64,
    succeeded: AtomicU64,
    throttled: AtomicU64,
    client_errors: AtomicU64,
    server_errors: AtomicU64,
    failed_to_send: AtomicU64,
}

/// A copy of the counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ArmMetricsSnapshot {
    /// GET attempts.
    pub reads: u64,
    /// Other attempts.
    pub writes: u64,
    /// 2xx answers.
    pub succeeded: u64,
    /// 429 answers.
    pub throttled: u64,
    /// Other 4xx answers.
    pub client_errors: u64,
    /// 5xx answers.
    pub server_errors: u64,
    /// Attempts without an answer (connect errors, timeouts).
    pub failed_to_send: u64,
}

impl ArmMetrics {
    /// The current counts.
    pub fn snapshot(&self) -> ArmMetricsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ArmMetricsSnapshot {
            reads: get(&self.reads),
            writes: get(&self.writes),
            succeeded: get(&self.succeeded),
            throttled: get(&self.throttled),
            client_errors: get(&self.client_errors),
            server_errors: get(&self.server_errors),
            failed_to_send: get(&self.failed_to_send),
        }
    }

    fn record(&self, bucket: Bucket, result: &Result<ArmResponse, ArmError>) {
        let sent = match bucket {
            Bucket::Read => &self.reads,
            Bucket::Write => &self.writes,
        };
        sent.fetch_add(1, Ordering::Relaxed);
        let outcome = match result {
            Ok(_) => &self.succeeded,
            Err(e) => match e.status() {
                Some(s) if s.as_u16() == 429 => &self.throttled,
                Some(s) if s.is_server_error() => &self.server_errors,
                Some(_) => &self.client_errors,
                None => &self.failed_to_send,
            },
        };
        outcome.fetch_add(1, Ordering::Relaxed);
    }
}

/// Layer of [`Metrics`].
#[derive(Debug, Clone)]
pub struct MetricsLayer {
    metrics: Arc<ArmMetrics>,
}

impl MetricsLayer {
    /// Counts into `metrics`.
    pub fn new(metrics: Arc<ArmMetrics>) -> Self {
        MetricsLayer { metrics }
    }
}

impl<S> tower::Layer<S> for MetricsLayer {
    type Service = Metrics<S>;
    fn layer(&self, inner: S) -> Metrics<S> {
        Metrics { inner, metrics: self.metrics.clone() }
    }
}

/// See the module doc.
#[derive(Debug, Clone)]
pub struct Metrics<S> {
    inner: S,
    metrics: Arc<ArmMetrics>,
}

impl<S> tower::Service<ArmRequest> for Metrics<S>
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
        let bucket = req.bucket();
        let metrics = self.metrics.clone();
        let fut = self.inner.call(req);
        Box::pin(async move {
            let result = fut.await;
            metrics.record(bucket, &result);
            result
        })
    }
}
