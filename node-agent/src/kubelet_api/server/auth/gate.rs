//! Authentication and authorization of each request, cached like the kubelet caches its
//! webhook answers: authentications 2 minutes, allowed 5 minutes, denied 30 seconds.

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, StatusCode, header};
use sha2::{Digest, Sha256};

use super::cache::TtlCache;
use super::identity::User;
use super::review::{AccessReviewer, TokenReviewer};
use crate::kubelet_api::server::route::Attributes;

/// How long a token's review is trusted.
pub const AUTHENTICATED_TTL: Duration = Duration::from_secs(120);
/// How long an allowed decision is trusted.
pub const ALLOWED_TTL: Duration = Duration::from_secs(300);
/// How long a denied decision is trusted.
pub const DENIED_TTL: Duration = Duration::from_secs(30);

/// A refused request: the status and the kubelet's text for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// 401, 403 or 500.
    pub status: StatusCode,
    /// Body text.
    pub message: String,
}

/// Decides who may call the kubelet API.
pub enum Gate {
    /// Client certificates (already verified by TLS) and bearer tokens, then SubjectAccessReview.
    Checked {
        /// Token reviews.
        tokens: Arc<dyn TokenReviewer>,
        /// Access reviews.
        access: Arc<dyn AccessReviewer>,
        /// Token hash to user (`None`: invalid token).
        authenticated: TtlCache<[u8; 32], Option<User>>,
        /// Decisions.
        decisions: TtlCache<(User, Attributes), bool>,
    },
    /// Everyone may do everything. Local development only.
    Open,
}

impl Gate {
    /// A gate that reviews through `tokens` and `access`.
    pub fn checked(tokens: Arc<dyn TokenReviewer>, access: Arc<dyn AccessReviewer>) -> Gate {
        Gate::Checked { tokens, access, authenticated: TtlCache::default(), decisions: TtlCache::default() }
    }

    /// Admits or refuses a request. `certificate_user` is the user of the verified client
    /// certificate, if the client presented one.
    pub async fn admit(
        &self,
        headers: &HeaderMap,
        certificate_user: Option<&User>,
        attributes: &Attributes,
    ) -> Result<(), Refusal> {
        let Gate::Checked { tokens, access, authenticated, decisions } = self else {
            return Ok(());
        };
        let user = match certificate_user {
            Some(user) => user.clone(),
            None => {
                let token = bearer_token(headers).ok_or_else(unauthorized)?;
                let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
                let user = match authenticated.get(&key) {
                    Some(user) => user,
                    None => {
                        let user = tokens.review_token(token).await.map_err(|err| {
                            tracing::warn!(error = %err, "authenticating a kubelet API request");
                            unauthorized()
                        })?;
                        authenticated.insert(key, user.clone(), AUTHENTICATED_TTL);
                        user
                    }
                };
                user.ok_or_else(unauthorized)?
            }
        };
        let key = (user, attributes.clone());
        let allowed = match decisions.get(&key) {
            Some(allowed) => allowed,
            None => {
                let allowed = access.review_access(&key.0, attributes).await.map_err(|err| {
                    tracing::warn!(error = %err, "authorizing a kubelet API request");
                    Refusal {
                        status: StatusCode::INTERNAL_SERVER_ERROR,
                        message: describe("Authorization error", &key.0, attributes),
                    }
                })?;
                decisions.insert(key.clone(), allowed, if allowed { ALLOWED_TTL } else { DENIED_TTL });
                allowed
            }
        };
        if allowed {
            Ok(())
        } else {
            Err(Refusal { status: StatusCode::FORBIDDEN, message: describe("Forbidden", &key.0, attributes) })
        }
    }
}

fn unauthorized() -> Refusal {
    Refusal { status: StatusCode::UNAUTHORIZED, message: "Unauthorized".to_owned() }
}

fn describe(what: &str, user: &User, attributes: &Attributes) -> String {
    format!(
        "{what} (user={}, verb={}, resource=nodes, subresource={})",
        user.name, attributes.verb, attributes.subresource
    )
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}
