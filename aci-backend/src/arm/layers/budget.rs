//! One budget for every ARM call of the process: ARM's per-principal token buckets (reads
//! 250 burst / 25 per s, writes 200 / 10 per s; the budget keeps 10% below both) and ACI's
//! create/delete quotas (default 100 per 5 minutes and 300 per hour each). Bucket tokens are
//! reserved in arrival order and a caller waits for its turn, so a heavy load slows evenly
//! instead of drawing 429s. Every answer's `x-ms-ratelimit-remaining-subscription-*` header
//! caps the bucket, so ARM's own count (other clients of the principal, a previous process)
//! wins over ours. Quotas refuse at once with the time a slot frees up (waiting minutes inside
//! a call helps nobody). A 429 from ARM pauses the bucket for its `Retry-After`.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::Instant;

use crate::arm::error::ArmError;
use crate::arm::quota::QuotaWindows;
pub use crate::arm::quota::{Turn, Window};
use crate::arm::request::{ArmRequest, ArmResponse, Bucket, Quota};

/// A token bucket's size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BucketSize {
    /// Burst.
    pub burst: f64,
    /// Refill per second.
    pub per_second: f64,
}

/// Budget sizes.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetConfig {
    /// GET bucket.
    pub reads: BucketSize,
    /// Write bucket.
    pub writes: BucketSize,
    /// Container group create windows.
    pub creates: Vec<Window>,
    /// Container group delete windows.
    pub deletes: Vec<Window>,
}

impl Default for BudgetConfig {
    fn default() -> Self {
        let windows = vec![
            Window { limit: 100, period: Duration::from_secs(300) },
            Window { limit: 300, period: Duration::from_secs(3600) },
        ];
        BudgetConfig {
            // 10% below ARM's limits: arrivals jitter, and ARM's bucket then refills faster
            // than ours empties it.
            reads: BucketSize { burst: 225.0, per_second: 22.5 },
            writes: BucketSize { burst: 180.0, per_second: 9.0 },
            creates: windows.clone(),
            deletes: windows,
        }
    }
}

#[derive(Debug)]
struct TokenBucket {
    size: BucketSize,
    tokens: f64,
    at: Instant,
    paused_until: Option<Instant>,
}

impl TokenBucket {
    fn new(size: BucketSize) -> Self {
        TokenBucket { size, tokens: size.burst, at: Instant::now(), paused_until: None }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.size.per_second).min(self.size.burst);
        self.at = now;
    }

    /// How long until `n` tokens are in the bucket (not taking any).
    fn time_for(&mut self, n: f64, now: Instant) -> Duration {
        self.refill(now);
        let short = n - self.tokens;
        let mut wait = if short <= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(short / self.size.per_second.max(f64::MIN_POSITIVE))
        };
        if let Some(until) = self.paused_until {
            wait = wait.max(until.saturating_duration_since(now));
        }
        wait
    }

    /// Reserves one token; returns how long the caller must wait for it.
    fn reserve(&mut self, now: Instant) -> Duration {
        self.refill(now);
        self.tokens -= 1.0;
        let mut wait = if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.size.per_second.max(f64::MIN_POSITIVE))
        };
        if let Some(until) = self.paused_until {
            wait = wait.max(until.saturating_duration_since(now));
        }
        wait
    }
}

/// A wait for write tokens this short happens inside the call instead of in the line.
const WAITED_INSIDE: Duration = Duration::from_secs(1);

/// The process-wide budget.
#[derive(Debug)]
pub struct Budget {
    reads: Mutex<TokenBucket>,
    writes: Mutex<TokenBucket>,
    creates: Mutex<QuotaWindows>,
    deletes: Mutex<QuotaWindows>,
}

impl Budget {
    /// A full budget.
    pub fn new(config: &BudgetConfig) -> Self {
        Budget {
            reads: Mutex::new(TokenBucket::new(config.reads)),
            writes: Mutex::new(TokenBucket::new(config.writes)),
            creates: Mutex::new(QuotaWindows::new(config.creates.clone())),
            deletes: Mutex::new(QuotaWindows::new(config.deletes.clone())),
        }
    }

    fn bucket(&self, bucket: Bucket) -> &Mutex<TokenBucket> {
        match bucket {
            Bucket::Read => &self.reads,
            Bucket::Write => &self.writes,
        }
    }

    fn windows(&self, quota: Quota) -> Option<(&Mutex<QuotaWindows>, &'static str)> {
        match quota {
            Quota::None => None,
            Quota::Create => Some((&self.creates, "the ACI create quota is used up")),
            Quota::Delete => Some((&self.deletes, "the ACI delete quota is used up")),
        }
    }

    /// Spends the request's quota (or refuses) and waits for its bucket token. Returns when
    /// the quota slot was taken, for [`Budget::give_back`].
    pub async fn spend(&self, req: &ArmRequest) -> Result<Instant, ArmError> {
        let now = Instant::now();
        if let Some((windows, what)) = self.windows(req.quota) {
            let taken = windows.lock().map_err(|_| poisoned(req))?.take(now);
            if let Err(wait) = taken {
                return Err(ArmError::QuotaExhausted {
                    operation: req.operation,
                    what,
                    ahead: 0,
                    retry_after: Some(wait),
                    by_quota: true,
                });
            }
        }
        let wait = self.bucket(req.bucket()).lock().map_err(|_| poisoned(req))?.reserve(now);
        if !wait.is_zero() {
            tracing::debug!(operation = req.operation, ?wait, "waiting for ARM budget");
            tokio::time::sleep(wait).await;
        }
        Ok(now)
    }

    /// Whether the pod `key` may spend a slot of `quota` and a write token now (the call that
    /// spends them follows), or waits in line: refused with how many wait ahead and when its
    /// turn comes. A wait for write tokens of up to [`WAITED_INSIDE`] is left to the call.
    /// Asking costs no ARM call, so a pod refused for quota costs ARM nothing.
    pub fn turn(&self, quota: Quota, operation: &'static str, key: &str) -> Result<(), ArmError> {
        let Some((windows, spent)) = self.windows(quota) else { return Ok(()) };
        let poisoned =
            || ArmError::Transport { operation, message: "the ARM budget lock was poisoned".into() };
        let now = Instant::now();
        let writes = |place: usize| {
            let wait =
                self.writes.lock().map(|mut b| b.time_for(place as f64 + 1.0, now)).unwrap_or_default();
            if wait <= WAITED_INSIDE { Duration::ZERO } else { wait }
        };
        let turn = windows.lock().map_err(|_| poisoned())?.turn(key, now, writes);
        let throttled = self.writes.lock().is_ok_and(|b| b.paused_until.is_some_and(|until| until > now));
        match turn {
            Turn::Go => Ok(()),
            Turn::Wait { ahead, after, by_quota } => Err(ArmError::QuotaExhausted {
                operation,
                what: match (by_quota, throttled) {
                    (true, _) => spent,
                    (false, true) => "throttled by ARM (429): writes wait for its Retry-After",
                    (false, false) => "ARM's write budget is spent for now",
                },
                ahead,
                retry_after: Some(after),
                by_quota,
            }),
        }
    }

    /// Returns the create or delete slot of `quota` taken at `taken`: the attempt was refused
    /// before ACI did anything (ARM's 429, or no connection at all), so ACI counted nothing.
    /// Without this, retries through a 429 storm would spend the whole 5-minute budget on
    /// refused attempts and block every create or delete for minutes after the storm.
    pub fn give_back(&self, quota: Quota, taken: Instant) {
        if let Some((windows, _)) = self.windows(quota)
            && let Ok(mut windows) = windows.lock()
        {
            windows.give_back(taken);
        }
    }

    /// ARM said it has `remaining` calls left in this bucket: never count on more.
    pub fn observe_remaining(&self, bucket: Bucket, remaining: f64) {
        if let Ok(mut b) = self.bucket(bucket).lock() {
            b.refill(Instant::now());
            b.tokens = b.tokens.min(remaining);
        }
    }

    /// ARM said 429: no more calls from this bucket until `after` has passed.
    pub fn pause(&self, bucket: Bucket, after: Duration) {
        if let Ok(mut b) = self.bucket(bucket).lock() {
            let until = Instant::now() + after;
            b.paused_until = Some(b.paused_until.map_or(until, |u| u.max(until)));
        }
    }
}

fn poisoned(req: &ArmRequest) -> ArmError {
    ArmError::Transport { operation: req.operation, message: "the ARM budget lock was poisoned".into() }
}

/// ARM's count of calls left in `bucket`, from an answer's headers.
fn remaining(bucket: Bucket, headers: &http::HeaderMap) -> Option<f64> {
    let name = match bucket {
        Bucket::Read => "x-ms-ratelimit-remaining-subscription-reads",
        Bucket::Write => "x-ms-ratelimit-remaining-subscription-writes",
    };
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// Layer of [`BudgetService`].
#[derive(Debug, Clone)]
pub struct BudgetLayer {
    budget: Arc<Budget>,
}

impl BudgetLayer {
    /// Spends from `budget`.
    pub fn new(budget: Arc<Budget>) -> Self {
        BudgetLayer { budget }
    }
}

impl<S> tower::Layer<S> for BudgetLayer {
    type Service = BudgetService<S>;
    fn layer(&self, inner: S) -> BudgetService<S> {
        BudgetService { inner, budget: self.budget.clone() }
    }
}

/// See the module doc.
#[derive(Debug, Clone)]
pub struct BudgetService<S> {
    inner: S,
    budget: Arc<Budget>,
}

impl<S> tower::Service<ArmRequest> for BudgetService<S>
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
        let budget = self.budget.clone();
        Box::pin(async move {
            let taken = budget.spend(&req).await?;
            let bucket = req.bucket();
            let quota = req.quota;
            let result = inner.call(req).await;
            if let Ok(response) = &result
                && let Some(remaining) = remaining(bucket, &response.headers)
            {
                budget.observe_remaining(bucket, remaining);
            }
            if let Err(ArmError::Throttled { retry_after: Some(after), .. }) = &result {
                budget.pause(bucket, *after);
            }
            if matches!(&result, Err(ArmError::Throttled { .. } | ArmError::Connect { .. })) {
                budget.give_back(quota, taken);
            }
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    fn get() -> ArmRequest {
        ArmRequest::new("get", Method::GET, "http://arm.test/x".parse().expect("url"))
    }

    #[tokio::test(start_paused = true)]
    async fn reads_beyond_the_burst_wait_for_refill() {
        let config = BudgetConfig { reads: BucketSize { burst: 2.0, per_second: 1.0 }, ..Default::default() };
        let budget = Budget::new(&config);
        let start = Instant::now();
        for _ in 0..4 {
            budget.spend(&get()).await.expect("reads only wait");
        }
        let waited = Instant::now() - start;
        assert!(waited >= Duration::from_secs(2) && waited < Duration::from_millis(2100), "{waited:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn creates_beyond_the_window_are_refused_with_the_time_a_slot_frees() {
        let config = BudgetConfig {
            creates: vec![Window { limit: 2, period: Duration::from_secs(300) }],
            ..Default::default()
        };
        let budget = Budget::new(&config);
        let put = || {
            ArmRequest::new("put", Method::PUT, "http://arm.test/x".parse().expect("url"))
                .with_quota(Quota::Create)
        };
        budget.spend(&put()).await.expect("first create");
        tokio::time::advance(Duration::from_secs(100)).await;
        budget.spend(&put()).await.expect("second create");
        let err = budget.spend(&put()).await.expect_err("third create in the window");
        assert_eq!(err.retry_after(), Some(Duration::from_secs(200)));
        tokio::time::advance(Duration::from_secs(200)).await;
        budget.spend(&put()).await.expect("a slot freed up");
    }

    #[tokio::test(start_paused = true)]
    async fn a_delete_slot_given_back_can_be_taken_again() {
        let config = BudgetConfig {
            deletes: vec![Window { limit: 1, period: Duration::from_secs(300) }],
            ..Default::default()
        };
        let budget = Budget::new(&config);
        let delete = ArmRequest::new("delete", Method::DELETE, "http://arm.test/x".parse().expect("url"))
            .with_quota(Quota::Delete);
        let taken = budget.spend(&delete).await.expect("the only slot");
        budget.spend(&delete).await.expect_err("the window is full");
        budget.give_back(Quota::Delete, taken);
        budget.spend(&delete).await.expect("the slot is free again");
    }

    #[tokio::test(start_paused = true)]
    async fn arm_saying_few_calls_remain_caps_a_full_bucket() {
        let config =
            BudgetConfig { reads: BucketSize { burst: 100.0, per_second: 10.0 }, ..Default::default() };
        let budget = Budget::new(&config);
        budget.observe_remaining(Bucket::Read, 1.0);
        let start = Instant::now();
        budget.spend(&get()).await.expect("the one ARM has left");
        assert_eq!(Instant::now() - start, Duration::ZERO);
        budget.spend(&get()).await.expect("then waits for refill");
        assert!(
            Instant::now() - start >= Duration::from_millis(100),
            "waited only {:?}",
            Instant::now() - start
        );
    }

    #[test]
    fn the_remaining_count_is_read_from_the_bucket_s_own_header() {
        let mut headers = http::HeaderMap::new();
        headers.insert("x-ms-ratelimit-remaining-subscription-reads", http::HeaderValue::from_static("249"));
        headers.insert("x-ms-ratelimit-remaining-subscription-writes", http::HeaderValue::from_static("7"));
        assert_eq!(remaining(Bucket::Read, &headers), Some(249.0));
        assert_eq!(remaining(Bucket::Write, &headers), Some(7.0));
        assert_eq!(remaining(Bucket::Read, &http::HeaderMap::new()), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_create_waits_in_line_for_write_tokens_beyond_a_second_and_says_so() {
        let config =
            BudgetConfig { writes: BucketSize { burst: 2.0, per_second: 0.5 }, ..Default::default() };
        let budget = Budget::new(&config);
        let put = || {
            ArmRequest::new("put", Method::PUT, "http://arm.test/x".parse().expect("url"))
                .with_quota(Quota::Create)
        };
        for key in ["a", "b"] {
            budget.turn(Quota::Create, "put", key).expect("tokens in the bucket");
            budget.spend(&put()).await.expect("spent");
        }
        // The bucket is empty and refills one token in 2 s.
        let refused = budget.turn(Quota::Create, "put", "c").expect_err("the next token is 2 s away");
        assert!(refused.to_string().contains("ARM's write budget is spent"), "{refused}");
        assert_eq!(refused.retry_after(), Some(Duration::from_secs(2)));
        let second = budget.turn(Quota::Create, "put", "d").expect_err("behind c");
        assert!(second.to_string().contains("1 pod waits ahead"), "{second}");
        assert_eq!(second.retry_after(), Some(Duration::from_secs(4)));
        // Half a second before its token, c may go and wait for it inside the call.
        tokio::time::advance(Duration::from_millis(1500)).await;
        budget.turn(Quota::Create, "put", "c").expect("a token within a second");
        budget.pause(Bucket::Write, Duration::from_secs(30));
        let throttled = budget.turn(Quota::Create, "put", "d").expect_err("ARM said 429");
        assert!(throttled.to_string().contains("throttled by ARM (429)"), "{throttled}");
        assert!(throttled.retry_after() >= Some(Duration::from_secs(30)), "{throttled}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_pauses_the_bucket() {
        let budget = Budget::new(&BudgetConfig::default());
        budget.pause(Bucket::Read, Duration::from_secs(5));
        let start = Instant::now();
        budget.spend(&get()).await.expect("waits");
        assert!(Instant::now() - start >= Duration::from_secs(5));
    }
}
