//! Every ARM request passes here: counted, faults applied, authenticated, throttled, api-version and
//! provider registration checked, then handed to the operation.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use super::error::ArmError;
use super::route::{Match, Operation, parse};
use crate::groups;
use crate::limits::Verdict;
use crate::metrics;
use crate::state::Shared;
use crate::usages;

/// Marks a response whose connection must be dropped without answering (fault injection).
#[derive(Clone, Copy, Debug)]
pub struct DropConnection;

const MAX_BODY: usize = 4 * 1024 * 1024;

/// Fallback handler for every path that is not the emulator's own.
pub async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let op = match parse(&parts.method, parts.uri.path()) {
        Match::Found(op) => op,
        Match::MethodNotAllowed => {
            return ArmError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                format!("The requested method '{}' is not allowed for this resource.", parts.method),
            )
            .into_response();
        }
        Match::NotFound => {
            return ArmError::new(
                StatusCode::NOT_FOUND,
                "InvalidResourceType",
                format!("The resource type could not be found for path '{}'.", parts.uri.path()),
            )
            .into_response();
        }
    };
    let operation_id = op.operation_id();
    shared.counters.record(operation_id);
    if let Operation::Get(group) = &op {
        shared.counters.record_group_read(&group.name);
    }
    let fault = shared.faults.decide(operation_id);
    for injected in fault.injected() {
        shared.counters.record(&format!("{injected}:{operation_id}"));
    }
    if !fault.latency.is_zero() {
        tokio::time::sleep(fault.latency).await;
    }
    if fault.drop {
        let mut response = Response::new(Body::empty());
        response.extensions_mut().insert(DropConnection);
        return response;
    }
    if let Some(error) = fault.error {
        return error.into_response();
    }
    let principal = match shared.tokens.authenticate(&parts.headers) {
        Ok(p) => p,
        Err(e) => {
            let mut response = e.into_response();
            let challenge = format!(
                "Bearer authorization_uri=\"{}/common/oauth2/authorize\", error=\"invalid_token\"",
                shared.base_url()
            );
            if let Ok(v) = HeaderValue::from_str(&challenge) {
                response.headers_mut().insert("www-authenticate", v);
            }
            return response;
        }
    };
    let write = parts.method != Method::GET;
    let (remaining_header, remaining) = match shared.arm_buckets.take(&principal, write) {
        Verdict::Throttled { retry_after_secs } => {
            shared.counters.record_throttled(operation_id);
            return ArmError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "SubscriptionRequestsThrottled",
                format!(
                    "Number of {} requests for subscription '{}' actor '{principal}' exceeded. Please try again after \
                     '{retry_after_secs}' seconds.",
                    if write { "write" } else { "read" },
                    op.subscription()
                ),
            )
            .with_retry_after(retry_after_secs)
            .into_response();
        }
        Verdict::Allowed { remaining } => (
            if write {
                "x-ms-ratelimit-remaining-subscription-writes"
            } else {
                "x-ms-ratelimit-remaining-subscription-reads"
            },
            remaining,
        ),
    };
    let query: HashMap<String, String> =
        Query::<HashMap<String, String>>::try_from_uri(&parts.uri).map(|q| q.0).unwrap_or_default();
    let mut response = match checked(&shared, &op, &query, &parts.method, body, parts.uri.path()).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    };
    if response.status() == StatusCode::TOO_MANY_REQUESTS {
        shared.counters.record_throttled(operation_id);
    }
    let headers = response.headers_mut();
    headers.insert(remaining_header, HeaderValue::from(remaining));
    let request_id = uuid::Uuid::new_v4().to_string();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        headers.insert("x-ms-request-id", v.clone());
        headers.insert("x-ms-correlation-request-id", v);
    }
    response
}

fn check_api_version(
    shared: &Shared,
    op: &Operation,
    query: &HashMap<String, String>,
) -> Result<(), ArmError> {
    let Some(version) = query.get("api-version").filter(|v| !v.is_empty()) else {
        return Err(ArmError::bad_request(
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        ));
    };
    let (resource_type, supported) = match op {
        Operation::ProviderGet { .. } => return Ok(()),
        Operation::Metrics(_) => ("metrics", vec![metrics::API_VERSION.to_owned()]),
        _ => ("containerGroups", shared.config.api_versions.clone()),
    };
    if supported.iter().any(|v| v == version) {
        return Ok(());
    }
    Err(ArmError::bad_request(
        "NoRegisteredProviderFound",
        format!(
            "No registered resource provider found for API version '{version}' and type '{resource_type}'. The \
             supported api-versions are '{}'.",
            supported.join(", ")
        ),
    ))
}

async fn checked(
    shared: &Arc<Shared>,
    op: &Operation,
    query: &HashMap<String, String>,
    method: &Method,
    body: Body,
    path: &str,
) -> Result<Response, ArmError> {
    check_api_version(shared, op, query)?;
    // Metrics belong to Microsoft.Insights, not to the ACI provider whose registration is modelled.
    let aci_provider = !matches!(op, Operation::ProviderGet { .. } | Operation::Metrics(_));
    if aci_provider && !shared.registration.is_registered(op.subscription()) {
        return Err(ArmError::new(
            StatusCode::CONFLICT,
            "MissingSubscriptionRegistration",
            format!(
                "The subscription '{}' is not registered to use namespace 'Microsoft.ContainerInstance'.",
                op.subscription()
            ),
        ));
    }
    let body = if *method == Method::GET {
        Default::default()
    } else {
        axum::body::to_bytes(body, MAX_BODY).await.map_err(|e| {
            ArmError::bad_request("InvalidRequestContent", format!("The request body could not be read: {e}"))
        })?
    };
    let skip = query.get("$skipToken").and_then(|s| s.parse::<usize>().ok()).unwrap_or(0);
    match op {
        Operation::ListBySubscription { subscription } => {
            groups::list(shared, subscription, None, path, skip)
        }
        Operation::ListByResourceGroup { subscription, resource_group } => {
            groups::list(shared, subscription, Some(resource_group), path, skip)
        }
        Operation::Get(g) => groups::get(shared, g),
        Operation::CreateOrUpdate(g) => groups::create_or_update(shared, g, &body),
        Operation::Update(g) => groups::update_tags(shared, g, &body),
        Operation::Delete(g) => groups::delete(shared, g),
        Operation::Start(g) => groups::start(shared, g),
        Operation::Stop(g) => groups::stop(shared, g),
        Operation::Restart(g) => groups::restart(shared, g),
        Operation::ListLogs(g, c) => groups::list_logs(shared, g, c, query),
        Operation::Exec(g, c) => groups::exec(shared, g, c, &body),
        Operation::Attach(g, c) => groups::attach(shared, g, c),
        Operation::Usages { subscription, location } => {
            Ok(axum::Json(usages::usages(shared, subscription, location)).into_response())
        }
        Operation::Capabilities { location, .. } => {
            Ok(axum::Json(usages::capabilities(shared, location)).into_response())
        }
        Operation::OperationStatus { subscription, location, id } => shared
            .operations
            .status(id, subscription, location, &shared.store)
            .map(|body| axum::Json(body).into_response())
            .ok_or_else(|| {
                ArmError::new(
                    StatusCode::NOT_FOUND,
                    "OperationNotFound",
                    format!("The operation '{id}' was not found."),
                )
            }),
        Operation::Metrics(g) => metrics::list(shared, g, query),
        Operation::ProviderGet { subscription } => {
            Ok(axum::Json(shared.registration.body(subscription, &shared.config.api_versions))
                .into_response())
        }
    }
}
