//! Who may call the kubelet API: client certificates or bearer tokens (TokenReview), then
//! SubjectAccessReview on `nodes/<subresource>`, with cached answers.

mod cache;
mod gate;
mod identity;
mod review;

pub use cache::TtlCache;
pub use gate::{ALLOWED_TTL, AUTHENTICATED_TTL, DENIED_TTL, Gate, Refusal};
pub use identity::{User, user_from_certificate};
pub use review::{AccessReviewer, KubeReviewer, ReviewError, TokenReviewer};

#[cfg(test)]
mod gate_tests;
