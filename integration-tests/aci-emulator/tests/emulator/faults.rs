//! Injected faults (errors, latency, dropped connections) and request counters, by flag, API and method.

use std::time::{Duration, Instant};

use aci_emulator::{Config, FaultKind, FaultRule};
use reqwest::StatusCode;
use serde_json::json;

use super::arm_client::Arm;

fn rule(operation: &str, kind: FaultKind, latency_ms: u64) -> FaultRule {
    FaultRule { operation: operation.to_owned(), kind, rate: 1.0, latency_ms }
}

#[tokio::test]
async fn each_error_kind_answers_with_its_arm_error() {
    let arm = Arm::fast().await;
    let cases = [
        (FaultKind::Error429, StatusCode::TOO_MANY_REQUESTS, "TooManyRequests"),
        (FaultKind::Error500, StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError"),
        (FaultKind::Error503, StatusCode::SERVICE_UNAVAILABLE, "ServerTimeout"),
    ];
    for (kind, status, code) in cases {
        arm.emulator.set_faults(vec![rule("ContainerGroups_Get", kind, 0)]);
        let reply = arm.get_group("rg", "g").await;
        assert_eq!((reply.status, reply.error_code()), (status, code));
        if kind == FaultKind::Error429 {
            assert_eq!(reply.header("retry-after"), Some("1"));
        }
    }
    let other = arm
        .call(
            reqwest::Method::GET,
            "/subscriptions/s/providers/Microsoft.ContainerInstance/containerGroups",
            None,
        )
        .await;
    assert_eq!(other.status, StatusCode::OK, "faults apply to their operation only");
}

#[tokio::test]
async fn latency_delays_the_answer() {
    let arm = Arm::fast().await;
    arm.emulator.set_faults(vec![rule("*", FaultKind::Latency, 200)]);
    let start = Instant::now();
    assert_eq!(arm.get_group("rg", "g").await.status, StatusCode::NOT_FOUND);
    assert!(start.elapsed() >= Duration::from_millis(200));
}

#[tokio::test]
async fn a_dropped_connection_gives_no_answer() {
    let arm =
        Arm::start(Config { faults: vec!["ContainerGroups_Get:drop:1".into()], ..Config::fast() }).await;
    let url = format!("{}{}?api-version=2025-09-01", arm.emulator.base_url(), Arm::group_path("rg", "g"));
    let result = arm.http.get(url).bearer_auth(&arm.token).send().await;
    assert!(result.is_err(), "the connection must close without a response: {result:?}");
}

#[tokio::test]
async fn faults_and_counters_are_managed_through_the_admin_api() {
    let arm = Arm::fast().await;
    let admin = format!("{}/_emulator", arm.emulator.base_url());
    let rules = json!({ "rules": [{ "operation": "ContainerGroups_Get", "kind": "error503", "rate": 1.0 }] });
    let set = arm.http.put(format!("{admin}/faults")).json(&rules).send().await.expect("admin answers");
    assert_eq!(set.status(), StatusCode::NO_CONTENT);
    assert_eq!(arm.get_group("rg", "g").await.status, StatusCode::SERVICE_UNAVAILABLE);
    arm.http.delete(format!("{admin}/faults")).send().await.expect("admin answers");
    assert_eq!(arm.get_group("rg", "g").await.status, StatusCode::NOT_FOUND);
    let counters: serde_json::Value =
        arm.http.get(format!("{admin}/counters")).send().await.expect("answer").json().await.expect("json");
    assert_eq!(counters["ContainerGroups_Get"], 2);
    assert_eq!(counters["fault:error503:ContainerGroups_Get"], 1, "injected faults are counted");
    arm.http.delete(format!("{admin}/counters")).send().await.expect("admin answers");
    assert!(arm.emulator.counters().is_empty());
    let bad = json!({ "rules": [{ "operation": "*", "kind": "error500", "rate": 3.0 }] });
    let refused = arm.http.put(format!("{admin}/faults")).json(&bad).send().await.expect("admin answers");
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_token_endpoint_can_be_taken_down_by_a_rule_that_names_it() {
    let arm = Arm::fast().await;
    let url = format!("{}/tenant/oauth2/v2.0/token", arm.emulator.base_url());
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", "app"),
        ("client_secret", "pw"),
        ("scope", "https://management.azure.com/.default"),
    ];
    let token = || async { arm.http.post(&url).form(&form).send().await };
    arm.emulator.set_faults(vec![rule("*", FaultKind::Error503, 0)]);
    let reply = token().await.expect("an answer");
    assert_eq!(reply.status(), StatusCode::OK, "`*` covers ARM operations, not the token endpoint");

    arm.emulator.set_faults(vec![rule("OAuth2_Token", FaultKind::Error503, 0)]);
    let reply = token().await.expect("an answer");
    assert_eq!(reply.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = reply.json().await.expect("json");
    assert_eq!(body["error"], "temporarily_unavailable", "Entra ID's shape: {body}");
    assert_eq!(arm.get_group("rg", "g").await.status, StatusCode::NOT_FOUND, "ARM itself still answers");

    arm.emulator.set_faults(vec![rule("OAuth2_Token", FaultKind::Drop, 0)]);
    assert!(token().await.is_err(), "a dropped token request gets no answer");

    arm.emulator.set_faults(Vec::new());
    assert_eq!(token().await.expect("an answer").status(), StatusCode::OK, "back up once the rule is gone");
    let counters = arm.emulator.counters();
    assert_eq!(counters.get("OAuth2_Token"), Some(&4));
    assert_eq!(counters.get("fault:error503:OAuth2_Token"), Some(&1), "{counters:?}");
    assert_eq!(counters.get("fault:drop:OAuth2_Token"), Some(&1), "{counters:?}");
}
