//! Start, stop, restart, container logs, and the exec / attach requests that open websocket sessions.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::crud::{async_operation_url, with_async_operation};
use crate::arm::{ArmError, GroupRef};
use crate::exec_ws::SessionKind;
use crate::groups::Group;
use crate::lifecycle::{self, Deploy};
use crate::operations::OperationKind;
use crate::state::Shared;

fn group(shared: &Shared, g: &GroupRef) -> Result<Group, ArmError> {
    shared.store.get(&g.key()).ok_or_else(|| ArmError::not_found_group(&g.name, &g.resource_group))
}

fn container_not_found(container: &str, g: &GroupRef) -> ArmError {
    ArmError::new(
        StatusCode::NOT_FOUND,
        "ContainerNotFound",
        format!("The container '{container}' is not found in container group '{}'.", g.name),
    )
}

/// `POST .../start`: 202 with an async operation.
pub fn start(shared: &Arc<Shared>, g: &GroupRef) -> Result<Response, ArmError> {
    let existing = group(shared, g)?;
    lifecycle::deploy(shared, &g.key(), Deploy::Start);
    let op = shared.operations.begin(OperationKind::Start, g, existing.generation + 1);
    let url = async_operation_url(shared, g, &existing.location, &op);
    Ok(with_async_operation(StatusCode::ACCEPTED.into_response(), &url))
}

/// `POST .../stop`: 204.
pub fn stop(shared: &Arc<Shared>, g: &GroupRef) -> Result<Response, ArmError> {
    group(shared, g)?;
    lifecycle::stop(shared, &g.key());
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST .../restart`: restarts every container in place (restart counts go up); 204.
pub fn restart(shared: &Arc<Shared>, g: &GroupRef) -> Result<Response, ArmError> {
    let existing = group(shared, g)?;
    lifecycle::deploy(shared, &g.key(), Deploy::Restart);
    let op = shared.operations.begin(OperationKind::Restart, g, existing.generation + 1);
    let url = async_operation_url(shared, g, &existing.location, &op);
    Ok(with_async_operation(StatusCode::NO_CONTENT.into_response(), &url))
}

/// `GET .../containers/{c}/logs?tail=N&timestamps=true`.
pub fn list_logs(
    shared: &Shared,
    g: &GroupRef,
    container: &str,
    query: &HashMap<String, String>,
) -> Result<Response, ArmError> {
    let existing = group(shared, g)?;
    let status = existing.container(container).ok_or_else(|| container_not_found(container, g))?;
    let tail = match query.get("tail") {
        None => None,
        Some(t) => Some(t.parse::<usize>().map_err(|_| {
            ArmError::bad_request(
                "InvalidParameter",
                format!("The value '{t}' of query parameter 'tail' is invalid."),
            )
        })?),
    };
    let timestamps = query.get("timestamps").is_some_and(|t| t.eq_ignore_ascii_case("true"));
    Ok(Json(json!({ "content": status.logs.content(tail, timestamps) })).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExecRequest {
    command: Option<String>,
    terminal_size: Option<TerminalSize>,
}

#[derive(Debug, Deserialize)]
struct TerminalSize {
    rows: Option<u16>,
    cols: Option<u16>,
}

fn running_container(shared: &Shared, g: &GroupRef, container: &str) -> Result<(), ArmError> {
    let existing = group(shared, g)?;
    let status = existing.container(container).ok_or_else(|| container_not_found(container, g))?;
    if status.current.state != "Running" {
        return Err(ArmError::new(
            StatusCode::CONFLICT,
            "ContainerNotRunning",
            format!("The container '{container}' of container group '{}' is not running.", g.name),
        ));
    }
    Ok(())
}

fn session_response(shared: &Shared, g: &GroupRef, container: &str, kind: SessionKind) -> Response {
    let (id, password) = shared.sessions.open(g.key(), container, kind);
    let base = shared.base_url().replacen("http", "ws", 1);
    Json(json!({ "webSocketUri": format!("{base}/_aci/ws/{id}"), "password": password })).into_response()
}

/// `POST .../containers/{c}/exec` with `{"command", "terminalSize": {"rows", "cols"}}`.
pub fn exec(shared: &Shared, g: &GroupRef, container: &str, body: &[u8]) -> Result<Response, ArmError> {
    let request: ExecRequest = serde_json::from_slice(body).map_err(|e| {
        ArmError::bad_request("InvalidRequestContent", format!("The request content was invalid: '{e}'."))
    })?;
    let command = request.command.filter(|c| !c.is_empty()).ok_or_else(|| {
        ArmError::bad_request("InvalidExecCommand", "The exec request must name a command.")
    })?;
    running_container(shared, g, container)?;
    let size = request.terminal_size;
    let rows = size.as_ref().and_then(|s| s.rows).unwrap_or(24);
    let cols = size.as_ref().and_then(|s| s.cols).unwrap_or(80);
    Ok(session_response(shared, g, container, SessionKind::Exec { command, rows, cols }))
}

/// `POST .../containers/{c}/attach`.
pub fn attach(shared: &Shared, g: &GroupRef, container: &str) -> Result<Response, ArmError> {
    running_container(shared, g, container)?;
    Ok(session_response(shared, g, container, SessionKind::Attach))
}
