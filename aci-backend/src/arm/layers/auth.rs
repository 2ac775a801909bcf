//! Bearer tokens from an `azure_identity` credential, cached and refreshed before they expire.
//! One refresh runs at a time and holds up nobody who can be answered now: while it runs,
//! callers get the still-valid token, or at once the error of the last failed refresh when no
//! valid token is left (a token endpoint that is down must not stall every ARM call).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use azure_core::credentials::TokenCredential;
use http::HeaderValue;
use tokio::time::Instant;

use crate::arm::error::ArmError;
use crate::arm::request::{ArmRequest, ArmResponse};

#[derive(Clone)]
struct Cached {
    token: String,
    expires_at: Instant,
}

#[derive(Default)]
struct State {
    cached: Option<Cached>,
    /// Why the last refresh failed (cleared by a successful one).
    last_error: Option<String>,
}

/// A cached token for one scope.
pub struct TokenSource {
    credential: Arc<dyn TokenCredential>,
    scope: String,
    refresh_before: Duration,
    state: Mutex<State>,
    refreshing: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource").field("scope", &self.scope).finish_non_exhaustive()
    }
}

impl TokenSource {
    /// Tokens for `scope` (for ARM: `<endpoint>/.default`), refreshed `refresh_before` ahead of expiry.
    pub fn new(
        credential: Arc<dyn TokenCredential>,
        scope: impl Into<String>,
        refresh_before: Duration,
    ) -> Self {
        TokenSource {
            credential,
            scope: scope.into(),
            refresh_before,
            state: Mutex::new(State::default()),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // Only plain assignments happen under the lock: a poisoned state is still consistent.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The cached token if it is valid for at least `margin` more.
    fn valid_for(&self, margin: Duration) -> Option<String> {
        let now = Instant::now();
        self.state().cached.as_ref().filter(|c| c.expires_at > now + margin).map(|c| c.token.clone())
    }

    /// Why no ARM call can be authenticated right now: the last refresh failed and no valid
    /// token is left. `None` while calls can be made.
    pub fn problem(&self) -> Option<String> {
        let state = self.state();
        let valid = state.cached.as_ref().is_some_and(|c| c.expires_at > Instant::now());
        if valid { None } else { state.last_error.clone() }
    }

    /// A valid token, fetching a new one when the cached one is missing or about to expire.
    pub async fn token(&self, operation: &'static str) -> Result<String, ArmError> {
        if let Some(token) = self.valid_for(self.refresh_before) {
            return Ok(token);
        }
        let _refresh = match self.refreshing.try_lock() {
            Ok(guard) => guard,
            Err(_) => {
                // Another call is refreshing: answer now if anything can be said.
                if let Some(token) = self.valid_for(Duration::ZERO) {
                    return Ok(token);
                }
                if let Some(message) = self.state().last_error.clone() {
                    return Err(ArmError::Credential { operation, message });
                }
                // The first token: wait for it.
                self.refreshing.lock().await
            }
        };
        if let Some(token) = self.valid_for(self.refresh_before) {
            return Ok(token);
        }
        let now = Instant::now();
        match self.credential.get_token(&[self.scope.as_str()], None).await {
            Ok(fresh) => {
                let lifetime = fresh.expires_on - azure_core::time::OffsetDateTime::now_utc();
                let lifetime = Duration::try_from(lifetime).unwrap_or(Duration::ZERO);
                let token = fresh.token.secret().to_string();
                let mut state = self.state();
                state.cached = Some(Cached { token: token.clone(), expires_at: now + lifetime });
                state.last_error = None;
                Ok(token)
            }
            Err(e) => {
                let message = e.to_string();
                self.state().last_error = Some(message.clone());
                match self.valid_for(Duration::ZERO) {
                    Some(token) => {
                        tracing::warn!(error = %message, "refreshing the Azure token failed; using the still-valid one");
                        Ok(token)
                    }
                    None => Err(ArmError::Credential { operation, message }),
                }
            }
        }
    }
}

/// Layer of [`Auth`].
#[derive(Debug, Clone)]
pub struct AuthLayer {
    tokens: Arc<TokenSource>,
}

impl AuthLayer {
    /// Uses `tokens` for every request.
    pub fn new(tokens: Arc<TokenSource>) -> Self {
        AuthLayer { tokens }
    }
}

impl<S> tower::Layer<S> for AuthLayer {
    type Service = Auth<S>;
    fn layer(&self, inner: S) -> Auth<S> {
        Auth { inner, tokens: self.tokens.clone() }
    }
}

/// Adds `Authorization: Bearer <token>` (marked sensitive so it is never logged).
#[derive(Debug, Clone)]
pub struct Auth<S> {
    inner: S,
    tokens: Arc<TokenSource>,
}

impl<S> tower::Service<ArmRequest> for Auth<S>
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

    fn call(&mut self, mut req: ArmRequest) -> Self::Future {
        let mut inner = self.inner.clone();
        std::mem::swap(&mut inner, &mut self.inner);
        let tokens = self.tokens.clone();
        Box::pin(async move {
            let token = tokens.token(req.operation).await?;
            let mut value =
                HeaderValue::from_str(&format!("Bearer {token}")).map_err(|e| ArmError::Credential {
                    operation: req.operation,
                    message: format!("token is not a header: {e}"),
                })?;
            value.set_sensitive(true);
            req.headers.insert(http::header::AUTHORIZATION, value);
            inner.call(req).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use azure_core::credentials::{AccessToken, TokenRequestOptions};
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Debug, Default)]
    struct Counting {
        calls: AtomicUsize,
    }

    #[async_trait::async_trait]
    impl TokenCredential for Counting {
        async fn get_token(
            &self,
            _: &[&str],
            _: Option<TokenRequestOptions<'_>>,
        ) -> azure_core::Result<AccessToken> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            let expires = azure_core::time::OffsetDateTime::now_utc() + azure_core::time::Duration::hours(1);
            Ok(AccessToken::new(format!("token-{n}"), expires))
        }
    }

    /// Hands out tokens living `lifetime`, or fails while `down`; each call takes `delay`.
    #[derive(Debug)]
    struct Flaky {
        down: std::sync::atomic::AtomicBool,
        calls: AtomicUsize,
        lifetime: azure_core::time::Duration,
        delay: Duration,
    }

    impl Flaky {
        fn new(lifetime_secs: i64, delay: Duration) -> Arc<Self> {
            Arc::new(Flaky {
                down: false.into(),
                calls: AtomicUsize::new(0),
                lifetime: azure_core::time::Duration::seconds(lifetime_secs),
                delay,
            })
        }
    }

    #[async_trait::async_trait]
    impl TokenCredential for Flaky {
        async fn get_token(
            &self,
            _: &[&str],
            _: Option<TokenRequestOptions<'_>>,
        ) -> azure_core::Result<AccessToken> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(self.delay).await;
            if self.down.load(Ordering::SeqCst) {
                return Err(azure_core::Error::with_message(
                    azure_core::error::ErrorKind::Credential,
                    "the token endpoint answered 503",
                ));
            }
            let expires = azure_core::time::OffsetDateTime::now_utc() + self.lifetime;
            Ok(AccessToken::new(format!("token-{n}"), expires))
        }
    }

    #[tokio::test(start_paused = true)]
    async fn while_a_refresh_hangs_other_calls_get_the_valid_token_or_the_last_error_at_once() {
        let credential = Flaky::new(600, Duration::from_secs(20));
        let source = Arc::new(TokenSource::new(credential.clone(), "scope", Duration::from_secs(300)));
        assert_eq!(source.token("op").await.expect("first token"), "token-0");
        credential.down.store(true, Ordering::SeqCst);
        tokio::time::advance(Duration::from_secs(310)).await;
        let refresher = tokio::spawn({
            let source = source.clone();
            async move { source.token("op").await }
        });
        tokio::task::yield_now().await;
        let start = Instant::now();
        assert_eq!(source.token("op").await.expect("the valid token"), "token-0");
        assert_eq!(start.elapsed(), Duration::ZERO, "not held up by the refresh");
        assert_eq!(refresher.await.expect("joined").expect("still valid"), "token-0");
        assert!(source.problem().is_none(), "calls can still be made");

        tokio::time::advance(Duration::from_secs(300)).await;
        let refresher = tokio::spawn({
            let source = source.clone();
            async move { source.token("op").await }
        });
        tokio::task::yield_now().await;
        let error = source.token("op").await.expect_err("no valid token left");
        assert_eq!(start.elapsed(), Duration::from_secs(320), "failed at once, not after the refresh");
        assert!(error.to_string().contains("503"), "{error}");
        assert!(refresher.await.expect("joined").is_err());
        assert!(source.problem().is_some_and(|problem| problem.contains("503")));

        credential.down.store(false, Ordering::SeqCst);
        assert!(source.token("op").await.is_ok(), "a new token once the endpoint is back");
        assert!(source.problem().is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn a_token_is_cached_and_refreshed_before_it_expires() {
        let credential = Arc::new(Counting::default());
        let source = TokenSource::new(
            credential.clone(),
            "https://management.azure.com/.default",
            Duration::from_secs(300),
        );
        assert_eq!(source.token("op").await.expect("token"), "token-0");
        tokio::time::advance(Duration::from_secs(50 * 60)).await;
        assert_eq!(source.token("op").await.expect("cached"), "token-0");
        tokio::time::advance(Duration::from_secs(6 * 60)).await;
        assert_eq!(source.token("op").await.expect("refreshed"), "token-1");
        assert_eq!(credential.calls.load(Ordering::SeqCst), 2);
    }
}
