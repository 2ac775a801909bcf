//! The ARM client's whole stack against a tiny local ARM stand-in: auth header, retries of
//! idempotent calls, paging, not-found handling and the attempt counters.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aci_backend::arm::layers::auth::TokenSource;
use aci_backend::arm::layers::budget::{Budget, BudgetConfig};
use aci_backend::arm::layers::metrics::ArmMetrics;
use aci_backend::arm::layers::retry::RetryPolicy;
use aci_backend::arm::stack::{StackParts, StackSettings, arm_service};
use aci_backend::arm::{ArmClient, ArmTarget, Deleted};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};

#[derive(Debug)]
struct FixedCredential;

#[async_trait::async_trait]
impl TokenCredential for FixedCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        _: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        assert_eq!(scopes, ["https://management.azure.com/.default"]);
        Ok(AccessToken::new(
            "test-token",
            azure_core::time::OffsetDateTime::now_utc() + azure_core::time::Duration::hours(1),
        ))
    }
}

#[derive(Default)]
struct Seen {
    calls: AtomicUsize,
    auth: Mutex<Vec<String>>,
    get_failures_left: AtomicUsize,
}

fn group_json(name: &str) -> serde_json::Value {
    serde_json::json!({
        "name": name,
        "location": "westeurope",
        "properties": { "containers": [], "osType": "Linux", "provisioningState": "Succeeded" }
    })
}

async fn arm(
    seen: Arc<Seen>,
    base: String,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> axum::response::Response {
    seen.calls.fetch_add(1, Ordering::SeqCst);
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    seen.auth.lock().expect("lock").push(auth);
    let path = uri.path().to_string();
    let query = uri.query().unwrap_or("");
    assert!(query.contains("api-version=2025-09-01"), "{query}");
    let groups = "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.ContainerInstance/containerGroups";
    match (method, path.as_str()) {
        (Method::GET, p) if p == groups && query.contains("page=2") => {
            axum::Json(serde_json::json!({ "value": [group_json("b")] })).into_response()
        }
        (Method::GET, p) if p == groups => axum::Json(serde_json::json!({
            "value": [group_json("a")],
            "nextLink": format!("{base}{groups}?api-version=2025-09-01&page=2"),
        }))
        .into_response(),
        (Method::GET, p) if p.ends_with("/flaky") => {
            if seen.get_failures_left.load(Ordering::SeqCst) > 0 {
                seen.get_failures_left.fetch_sub(1, Ordering::SeqCst);
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    axum::Json(serde_json::json!({"error": {"code": "Busy", "message": "try again"}})),
                )
                    .into_response();
            }
            axum::Json(group_json("flaky")).into_response()
        }
        (Method::DELETE, p) if p.ends_with("/missing") => StatusCode::NO_CONTENT.into_response(),
        _ => (
            StatusCode::NOT_FOUND,
            axum::Json(serde_json::json!({"error": {"code": "ResourceNotFound", "message": "no"}})),
        )
            .into_response(),
    }
}

async fn start() -> (ArmClient, Arc<Seen>, Arc<ArmMetrics>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let seen = Arc::new(Seen::default());
    let state = (seen.clone(), base.clone());
    let app = axum::Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap| {
        let (seen, base) = state.clone();
        arm(seen, base, method, uri, headers)
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    let metrics = Arc::new(ArmMetrics::default());
    let parts = StackParts {
        http: reqwest::Client::new(),
        tokens: Arc::new(TokenSource::new(
            Arc::new(FixedCredential),
            "https://management.azure.com/.default",
            Duration::from_secs(300),
        )),
        budget: Arc::new(Budget::new(&BudgetConfig::default())),
        metrics: metrics.clone(),
    };
    let settings = StackSettings {
        retry: RetryPolicy { base_delay: Duration::from_millis(10), ..RetryPolicy::default() },
        ..StackSettings::default()
    };
    let target = ArmTarget {
        endpoint: base.parse().expect("url"),
        subscription_id: "sub".into(),
        resource_group: "rg".into(),
        location: "westeurope".into(),
    };
    (ArmClient::new(target, arm_service(&settings, parts)), seen, metrics)
}

#[tokio::test]
async fn a_list_follows_next_links_with_a_bearer_token() {
    let (client, seen, _) = start().await;
    let names: Vec<_> =
        client.list_groups().await.expect("lists").into_iter().filter_map(|g| g.name).collect();
    assert_eq!(names, vec!["a", "b"]);
    assert!(seen.auth.lock().expect("lock").iter().all(|a| a == "Bearer test-token"));
}

#[tokio::test]
async fn a_get_is_retried_through_503s_and_counted() {
    let (client, seen, metrics) = start().await;
    seen.get_failures_left.store(2, Ordering::SeqCst);
    let group = client.get_group("flaky").await.expect("third attempt succeeds").expect("exists");
    assert_eq!(group.name.as_deref(), Some("flaky"));
    assert_eq!(seen.calls.load(Ordering::SeqCst), 3);
    let m = metrics.snapshot();
    assert_eq!((m.reads, m.server_errors, m.succeeded), (3, 2, 1));
}

#[tokio::test]
async fn missing_groups_read_as_absent_and_delete_as_not_found() {
    let (client, _, _) = start().await;
    assert!(client.get_group("nope").await.expect("404 is an answer").is_none());
    assert_eq!(client.delete_group("missing").await.expect("204 is an answer"), Deleted::NotFound);
    let err = client.patch_group_tags("nope", &BTreeMap::new()).await.expect_err("404 on patch is an error");
    assert!(err.is_not_found(), "{err}");
}
