//! The ARM client's tower stack, composed in one place and read top (caller) to bottom (wire).

use std::sync::Arc;
use std::time::Duration;

use tower::ServiceBuilder;
use tower::util::BoxCloneSyncService;

use super::error::ArmError;
use super::layers::auth::{AuthLayer, TokenSource};
use super::layers::budget::{Budget, BudgetLayer};
use super::layers::classify::ClassifyLayer;
use super::layers::concurrency::ConcurrencyLayer;
use super::layers::metrics::{ArmMetrics, MetricsLayer};
use super::layers::retry::{RetryLayer, RetryPolicy};
use super::layers::timeout::TimeoutLayer;
use super::layers::trace::TraceLayer;
use super::request::{ArmRequest, ArmResponse};
use super::transport::Transport;

/// The composed ARM service.
pub type ArmService = BoxCloneSyncService<ArmRequest, ArmResponse, ArmError>;

/// Knobs of the stack.
#[derive(Debug, Clone, PartialEq)]
pub struct StackSettings {
    /// Deadline of one attempt.
    pub attempt_timeout: Duration,
    /// ARM calls in flight at most.
    pub max_concurrency: usize,
    /// Retry behaviour.
    pub retry: RetryPolicy,
}

impl Default for StackSettings {
    fn default() -> Self {
        StackSettings {
            attempt_timeout: Duration::from_secs(30),
            max_concurrency: 32,
            retry: RetryPolicy::default(),
        }
    }
}

/// Everything the stack shares with the rest of the process.
#[derive(Debug, Clone)]
pub struct StackParts {
    /// HTTP client (connection pool).
    pub http: reqwest::Client,
    /// Cached tokens.
    pub tokens: Arc<TokenSource>,
    /// The process-wide ARM budget.
    pub budget: Arc<Budget>,
    /// Attempt counters.
    pub metrics: Arc<ArmMetrics>,
}

/// Builds the stack.
pub fn arm_service(settings: &StackSettings, parts: StackParts) -> ArmService {
    let service = ServiceBuilder::new()
        // One span per logical call, so its retries and waits are visible together.
        .layer(TraceLayer)
        // Bound calls in flight so a burst of pods cannot open hundreds of connections.
        .layer(ConcurrencyLayer::new(settings.max_concurrency))
        // Ride out 429s, 5xx and connection errors, but only for calls safe to repeat.
        .layer(RetryLayer::new(settings.retry))
        // Every attempt spends ARM tokens and ACI quota: slow down (or refuse) before ARM says 429.
        .layer(BudgetLayer::new(parts.budget))
        // A bearer token per attempt, from the cache, refreshed before it expires.
        .layer(AuthLayer::new(parts.tokens))
        // Count what actually goes on the wire.
        .layer(MetricsLayer::new(parts.metrics))
        // One stuck attempt must not hang the call.
        .layer(TimeoutLayer::new(settings.attempt_timeout))
        // Non-2xx answers become typed errors the layers above can judge.
        .layer(ClassifyLayer)
        .service(Transport::new(parts.http));
    BoxCloneSyncService::new(service)
}
