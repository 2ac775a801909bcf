//! The emulator's own control API under `/_emulator` (JSON, no auth, loopback only): counters, faults,
//! provider registration, limits on/off, the groups' timeline (PUT arrival, running), time scale,
//! container exits and test tokens.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::arm::GroupRef;
use crate::faults::FaultRule;
use crate::state::Shared;
use crate::timeline::GroupTimeline;

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_emulator/health", get(|| async { Json(json!({ "status": "ok" })) }))
        .route("/_emulator/counters", get(counters).delete(reset_counters))
        .route("/_emulator/timeline", get(timeline))
        .route("/_emulator/counters/groups", get(group_reads))
        .route("/_emulator/faults", get(faults).put(set_faults).delete(clear_faults))
        .route("/_emulator/registration", put(set_registration))
        .route("/_emulator/time-scale", put(set_time_scale))
        .route("/_emulator/limits", put(set_limits))
        .route("/_emulator/tokens", post(issue_token))
        .route(
            "/_emulator/subscriptions/{sub}/resourceGroups/{rg}/containerGroups/{name}/containers/{container}/exit",
            post(exit_container),
        )
}

async fn counters(State(shared): State<Arc<Shared>>) -> Json<BTreeMap<String, u64>> {
    Json(shared.counters.snapshot())
}

async fn group_reads(State(shared): State<Arc<Shared>>) -> Json<BTreeMap<String, u64>> {
    Json(shared.counters.group_reads())
}

async fn timeline(State(shared): State<Arc<Shared>>) -> Json<Vec<GroupTimeline>> {
    Json(shared.timeline.groups(&shared.store))
}

async fn reset_counters(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.counters.reset();
    StatusCode::NO_CONTENT
}

async fn faults(State(shared): State<Arc<Shared>>) -> Response {
    Json(json!({ "rules": shared.faults.rules() })).into_response()
}

#[derive(Deserialize)]
struct FaultRules {
    rules: Vec<FaultRule>,
}

async fn set_faults(State(shared): State<Arc<Shared>>, Json(body): Json<FaultRules>) -> Response {
    if body.rules.iter().any(|r| !(0.0..=1.0).contains(&r.rate)) {
        return (StatusCode::BAD_REQUEST, Json(json!({ "error": "rate must be between 0 and 1" })))
            .into_response();
    }
    shared.faults.set(body.rules);
    StatusCode::NO_CONTENT.into_response()
}

async fn clear_faults(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.faults.set(Vec::new());
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct RegistrationBody {
    subscription: Option<String>,
    registered: bool,
}

async fn set_registration(
    State(shared): State<Arc<Shared>>,
    Json(body): Json<RegistrationBody>,
) -> StatusCode {
    shared.registration.set(body.subscription.as_deref(), body.registered);
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct TimeScale {
    factor: f64,
}

async fn set_time_scale(State(shared): State<Arc<Shared>>, Json(body): Json<TimeScale>) -> StatusCode {
    shared.set_time_scale(body.factor);
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Limits {
    arm_throttling: Option<bool>,
    quotas: Option<bool>,
}

async fn set_limits(State(shared): State<Arc<Shared>>, Json(body): Json<Limits>) -> StatusCode {
    if let Some(on) = body.arm_throttling {
        shared.arm_buckets.set_enabled(on);
    }
    if let Some(on) = body.quotas {
        shared.quotas.set_enabled(on);
    }
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct TokenBody {
    principal: String,
}

async fn issue_token(State(shared): State<Arc<Shared>>, Json(body): Json<TokenBody>) -> Response {
    let (token, expires_on) = shared.tokens.issue(&body.principal);
    Json(json!({ "accessToken": token, "expiresOn": expires_on })).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExitBody {
    exit_code: i32,
}

async fn exit_container(
    State(shared): State<Arc<Shared>>,
    Path((sub, rg, name, container)): Path<(String, String, String, String)>,
    Json(body): Json<ExitBody>,
) -> Response {
    let group = GroupRef { subscription: sub, resource_group: rg, name };
    match shared.controls.request_exit(&group.key(), &container) {
        Some(exit) if exit.send(body.exit_code).is_ok() => StatusCode::NO_CONTENT.into_response(),
        _ => (StatusCode::CONFLICT, Json(json!({ "error": "the container is not running" }))).into_response(),
    }
}
