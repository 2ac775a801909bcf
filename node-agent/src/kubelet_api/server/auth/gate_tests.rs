//! The gate with counting fake reviewers.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::future::BoxFuture;
use http::{HeaderMap, HeaderValue, StatusCode, header};

use super::gate::Gate;
use super::identity::User;
use super::review::{AccessReviewer, ReviewError, TokenReviewer};
use crate::kubelet_api::server::route::Attributes;

#[derive(Default)]
struct Fake {
    token_calls: AtomicUsize,
    access_calls: AtomicUsize,
}

impl TokenReviewer for Fake {
    fn review_token<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Option<User>, ReviewError>> {
        self.token_calls.fetch_add(1, Ordering::SeqCst);
        let user = match token {
            "good" => Some(User { name: "alice".into(), groups: vec!["devs".into()], uid: None }),
            "broken" => {
                return Box::pin(async {
                    Err(ReviewError { review: "TokenReview", message: "down".into() })
                });
            }
            _ => None,
        };
        Box::pin(async move { Ok(user) })
    }
}

impl AccessReviewer for Fake {
    fn review_access<'a>(
        &'a self,
        user: &'a User,
        attrs: &'a Attributes,
    ) -> BoxFuture<'a, Result<bool, ReviewError>> {
        self.access_calls.fetch_add(1, Ordering::SeqCst);
        let allowed = user.name == "kube-apiserver" || (user.name == "alice" && attrs.subresource == "stats");
        Box::pin(async move { Ok(allowed) })
    }
}

fn gate() -> (Arc<Fake>, Gate) {
    let fake = Arc::new(Fake::default());
    (fake.clone(), Gate::checked(fake.clone(), fake))
}

fn bearer(token: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(header::AUTHORIZATION, HeaderValue::from_str(&format!("Bearer {token}")).expect("header"));
    headers
}

fn attrs(subresource: &'static str) -> Attributes {
    Attributes { verb: "get", subresource, node: "vk".into() }
}

#[tokio::test(start_paused = true)]
async fn no_credentials_is_401() {
    let (_, gate) = gate();
    let refusal = gate.admit(&HeaderMap::new(), None, &attrs("proxy")).await.expect_err("refused");
    assert_eq!(refusal.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refusal.message, "Unauthorized");
    let refusal = gate.admit(&bearer("bad"), None, &attrs("proxy")).await.expect_err("bad token");
    assert_eq!(refusal.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(start_paused = true)]
async fn a_certificate_user_with_permission_passes() {
    let (fake, gate) = gate();
    let apiserver = User { name: "kube-apiserver".into(), groups: vec![], uid: None };
    gate.admit(&HeaderMap::new(), Some(&apiserver), &attrs("proxy")).await.expect("allowed");
    assert_eq!(fake.token_calls.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn missing_permission_is_403_with_the_kubelets_text() {
    let (_, gate) = gate();
    let refusal = gate.admit(&bearer("good"), None, &attrs("proxy")).await.expect_err("forbidden");
    assert_eq!(refusal.status, StatusCode::FORBIDDEN);
    assert_eq!(refusal.message, "Forbidden (user=alice, verb=get, resource=nodes, subresource=proxy)");
    gate.admit(&bearer("good"), None, &attrs("stats")).await.expect("stats allowed");
}

#[tokio::test(start_paused = true)]
async fn reviews_are_cached_for_their_time_to_live() {
    let (fake, gate) = gate();
    for _ in 0..3 {
        gate.admit(&bearer("good"), None, &attrs("stats")).await.expect("allowed");
        let _ = gate.admit(&bearer("good"), None, &attrs("proxy")).await;
    }
    assert_eq!(fake.token_calls.load(Ordering::SeqCst), 1);
    assert_eq!(fake.access_calls.load(Ordering::SeqCst), 2);
    // Denied answers expire after 30 s, allowed after 5 min, authentications after 2 min.
    tokio::time::advance(Duration::from_secs(31)).await;
    let _ = gate.admit(&bearer("good"), None, &attrs("proxy")).await;
    gate.admit(&bearer("good"), None, &attrs("stats")).await.expect("allowed");
    assert_eq!(fake.access_calls.load(Ordering::SeqCst), 3);
    tokio::time::advance(Duration::from_secs(100)).await;
    gate.admit(&bearer("good"), None, &attrs("stats")).await.expect("allowed");
    assert_eq!(fake.token_calls.load(Ordering::SeqCst), 2);
    assert_eq!(fake.access_calls.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn a_failing_token_review_is_401_and_not_cached() {
    let (fake, gate) = gate();
    for _ in 0..2 {
        let refusal = gate.admit(&bearer("broken"), None, &attrs("proxy")).await.expect_err("refused");
        assert_eq!(refusal.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(fake.token_calls.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn the_open_gate_admits_everyone() {
    Gate::Open.admit(&HeaderMap::new(), None, &attrs("proxy")).await.expect("open");
}
