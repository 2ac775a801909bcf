//! Identity: an OAuth2 client-credentials token endpoint (`/{tenant}/oauth2/v2.0/token`, as Entra ID
//! serves it), a managed-identity endpoint (`/metadata/identity/oauth2/token`, IMDS and App Service style),
//! and bearer token checks on every ARM call.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::body::Body;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use serde_json::json;

use crate::arm::{ArmError, DropConnection};
use crate::config::Config;
use crate::state::Shared;

#[derive(Debug, Clone)]
struct Issued {
    principal: String,
    expires: DateTime<Utc>,
}

/// Tokens the emulator issued, and the known service principals.
#[derive(Debug)]
pub struct Tokens {
    issued: Mutex<HashMap<String, Issued>>,
    clients: BTreeMap<String, String>,
    lifetime: Duration,
    accept_any: bool,
    identity_header: Option<String>,
}

impl Tokens {
    pub fn new(config: &Config) -> Self {
        let clients = config
            .clients
            .iter()
            .filter_map(|c| c.split_once('=').map(|(id, secret)| (id.to_owned(), secret.to_owned())))
            .collect();
        Self {
            issued: Mutex::new(HashMap::new()),
            clients,
            lifetime: Duration::seconds(i64::try_from(config.token_lifetime_secs).unwrap_or(3600)),
            accept_any: config.accept_any_token,
            identity_header: config.identity_header.clone(),
        }
    }

    /// Issues a token for `principal` valid for the configured lifetime.
    pub fn issue(&self, principal: &str) -> (String, i64) {
        self.issue_for(principal, self.lifetime)
    }

    /// Issues a token with an explicit lifetime (tests use a negative one for expired tokens).
    pub fn issue_for(&self, principal: &str, lifetime: Duration) -> (String, i64) {
        let random: [u8; 24] = rand::rng().random();
        let token = format!("aciemu.{}", hex_encode(&random));
        let expires = Utc::now() + lifetime;
        if let Ok(mut issued) = self.issued.lock() {
            issued.retain(|_, t| t.expires > Utc::now());
            issued.insert(token.clone(), Issued { principal: principal.to_owned(), expires });
        }
        (token, expires.timestamp())
    }

    /// The principal behind an `Authorization` header, or ARM's 401.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<String, ArmError> {
        let header = headers.get("authorization").and_then(|v| v.to_str().ok());
        let Some(header) = header else {
            return Err(ArmError::new(
                StatusCode::UNAUTHORIZED,
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is missing.",
            ));
        };
        let Some(token) = header.strip_prefix("Bearer ").or_else(|| header.strip_prefix("bearer ")) else {
            return Err(ArmError::new(
                StatusCode::UNAUTHORIZED,
                "AuthenticationFailedInvalidHeader",
                "Authentication failed. The 'Authorization' header is provided in an invalid format.",
            ));
        };
        let known = self.issued.lock().ok().and_then(|i| i.get(token.trim()).cloned());
        match known {
            Some(t) if t.expires > Utc::now() => Ok(t.principal),
            Some(_) => Err(ArmError::new(
                StatusCode::UNAUTHORIZED,
                "ExpiredAuthenticationToken",
                "The access token expiry UTC time is earlier than current UTC time.",
            )),
            None if self.accept_any && !token.trim().is_empty() => {
                Ok(format!("token-{}", token.trim().chars().rev().take(12).collect::<String>()))
            }
            None => Err(ArmError::new(
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                "The access token is invalid.",
            )),
        }
    }
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn entra_error(status: StatusCode, error: &str, description: &str, code: i32) -> Response {
    let body = json!({
        "error": error,
        "error_description": description,
        "error_codes": [code],
        "timestamp": Utc::now().format("%Y-%m-%d %H:%M:%SZ").to_string(),
        "trace_id": uuid::Uuid::new_v4().to_string(),
        "correlation_id": uuid::Uuid::new_v4().to_string(),
    });
    (status, Json(body)).into_response()
}

/// The faults injected into a token endpoint by rules that name `operation` (`None`: answer
/// normally). Errors come in Entra ID's shape, with `Retry-After` on a 429.
async fn token_fault(shared: &Shared, operation: &str) -> Option<Response> {
    let fault = shared.faults.decide_named(operation);
    for injected in fault.injected() {
        shared.counters.record(&format!("{injected}:{operation}"));
    }
    if !fault.latency.is_zero() {
        tokio::time::sleep(fault.latency).await;
    }
    if fault.drop {
        let mut response = Response::new(Body::empty());
        response.extensions_mut().insert(DropConnection);
        return Some(response);
    }
    let error = fault.error?;
    let mut response = entra_error(
        error.status,
        "temporarily_unavailable",
        &format!("The token service answered {} (injected fault). Please retry.", error.status),
        i32::from(error.status.as_u16()),
    );
    if let Some(secs) = error.retry_after_secs {
        response.headers_mut().insert("retry-after", HeaderValue::from(secs));
    }
    Some(response)
}

/// `POST /{tenant}/oauth2/v2.0/token` with client credentials (secret or federated assertion).
pub async fn token_endpoint(
    State(shared): State<Arc<Shared>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    shared.counters.record("OAuth2_Token");
    if let Some(fault) = token_fault(&shared, "OAuth2_Token").await {
        return fault;
    }
    let tokens = &shared.tokens;
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    if get("grant_type") != "client_credentials" {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "AADSTS70003: The app requested an unsupported grant type.",
            70003,
        );
    }
    if get("scope").is_empty() {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "AADSTS900144: The request body must contain the following parameter: 'scope'.",
            900144,
        );
    }
    let client_id = get("client_id");
    let secret = get("client_secret");
    let assertion = get("client_assertion");
    let credential_ok = if !assertion.is_empty() {
        true
    } else if tokens.clients.is_empty() {
        !secret.is_empty()
    } else {
        tokens.clients.get(client_id).is_some_and(|s| s == secret)
    };
    if client_id.is_empty() || !credential_ok {
        return entra_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "AADSTS7000215: Invalid client secret provided.",
            7000215,
        );
    }
    let (token, expires) = tokens.issue(client_id);
    let expires_in = (expires - Utc::now().timestamp()).max(0);
    Json(json!({
        "token_type": "Bearer",
        "expires_in": expires_in,
        "ext_expires_in": expires_in,
        "access_token": token,
    }))
    .into_response()
}

/// `GET /metadata/identity/oauth2/token?resource=...` for ManagedIdentityCredential (IMDS and App Service).
pub async fn managed_identity_endpoint(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    shared.counters.record("ManagedIdentity_Token");
    if let Some(fault) = token_fault(&shared, "ManagedIdentity_Token").await {
        return fault;
    }
    let tokens = &shared.tokens;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let identity_header = header("x-identity-header");
    let allowed = match &tokens.identity_header {
        Some(expected) => &identity_header == expected,
        None => !identity_header.is_empty() || header("metadata").eq_ignore_ascii_case("true"),
    };
    if !allowed {
        let body = json!({ "error": "invalid_request", "error_description": "Required metadata header not specified" });
        return (StatusCode::BAD_REQUEST, Json(body)).into_response();
    }
    let Some(resource) = query.get("resource").filter(|r| !r.is_empty()) else {
        let body = json!({ "error": "invalid_request", "error_description": "Required query variable 'resource' is missing" });
        return (StatusCode::BAD_REQUEST, Json(body)).into_response();
    };
    let principal = query
        .get("client_id")
        .or_else(|| query.get("object_id"))
        .or_else(|| query.get("msi_res_id"))
        .cloned()
        .unwrap_or_else(|| "system-assigned".to_owned());
    let (token, expires) = tokens.issue(&principal);
    let expires_in = (expires - Utc::now().timestamp()).max(0);
    let mut response = Json(json!({
        "access_token": token,
        "expires_on": expires.to_string(),
        "expires_in": expires_in.to_string(),
        "token_type": "Bearer",
        "resource": resource,
        "client_id": principal,
    }))
    .into_response();
    response.headers_mut().insert("content-type", HeaderValue::from_static("application/json"));
    response
}
