//! Bearer tokens from an `azure_identity` credential, cached and refreshed before they expire
//! (one refresh at a time; a still-valid token is kept when a refresh fails).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use azure_core::credentials::TokenCredential;
use http::HeaderValue;
use tokio::time::Instant;

use crate::arm::error::ArmError;
use crate::arm::request::{ArmRequest, ArmResponse};

struct Cached {
    token: String,
    expires_at: Instant,
}

/// A cached token for one scope.
pub struct TokenSource {
    credential: Arc<dyn TokenCredential>,
    scope: String,
    refresh_before: Duration,
    cached: tokio::sync::Mutex<Option<Cached>>,
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
        TokenSource { credential, scope: scope.into(), refresh_before, cached: tokio::sync::Mutex::new(None) }
    }

    /// A valid token, fetching a new one when the cached one is missing or about to expire.
    pub async fn token(&self, operation: &'static str) -> Result<String, ArmError> {
        let mut cached = self.cached.lock().await;
        let now = Instant::now();
        if let Some(c) = cached.as_ref().filter(|c| c.expires_at > now + self.refresh_before) {
            return Ok(c.token.clone());
        }
        match self.credential.get_token(&[self.scope.as_str()], None).await {
            Ok(fresh) => {
                let lifetime = fresh.expires_on - azure_core::time::OffsetDateTime::now_utc();
                let lifetime = Duration::try_from(lifetime).unwrap_or(Duration::ZERO);
                let token = fresh.token.secret().to_string();
                *cached = Some(Cached { token: token.clone(), expires_at: now + lifetime });
                Ok(token)
            }
            Err(e) => match cached.as_ref().filter(|c| c.expires_at > now) {
                Some(c) => {
                    tracing::warn!(error = %e, "refreshing the Azure token failed; using the still-valid one");
                    Ok(c.token.clone())
                }
                None => Err(ArmError::Credential { operation, message: e.to_string() }),
            },
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
