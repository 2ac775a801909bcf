//! Exec and Attach: the first frame is checked, the pod and container are looked up in the
//! caller's scope (the container must be running), then `streams::exec` / `streams::attach`
//! drive ACI's terminal websocket.

use std::pin::Pin;

use futures::{Stream, StreamExt as _};
use tonic::{Status, Streaming};
use vk_proto::v1;
use vk_proto::v1::container_state::State;

use super::logs::locate;
use crate::pods::{CallScope, PodService};
use crate::streams::exec::{TargetOs, exec};
use crate::streams::terminal::{AciTerminals, WsConnector};
use crate::translate::GroupOs;

/// The stream type of Exec and Attach.
pub type ExecStream = Pin<Box<dyn Stream<Item = Result<v1::ExecResponse, Status>> + Send>>;

fn running(state: &v1::PodState, container: &str) -> bool {
    state.status.as_ref().is_some_and(|s| {
        s.container_statuses.iter().chain(&s.init_container_statuses).any(|c| {
            c.name == container
                && matches!(c.state.as_ref().and_then(|s| s.state.as_ref()), Some(State::Running(_)))
        })
    })
}

/// Opens an exec (`attach = false`) or attach session.
pub async fn open(
    pods: &PodService,
    scope: &CallScope,
    connector: &WsConnector,
    os: GroupOs,
    mut requests: Streaming<v1::ExecRequest>,
    attach: bool,
) -> Result<ExecStream, Status> {
    let first = requests.message().await?.and_then(|r| r.frame);
    let Some(v1::exec_request::Frame::Start(start)) = first else {
        return Err(Status::invalid_argument("the first frame must be `start`"));
    };
    let (group, state) = locate(pods, scope, &start.pod_uid, &start.container).await?;
    if !running(&state, &start.container) {
        return Err(Status::failed_precondition(format!("container {:?} is not running", start.container)));
    }
    let opener = AciTerminals::new(pods.engine().arm().clone(), connector.clone(), &group, &start.container);
    // Frames after `start`; a broken client stream simply ends the input.
    let rest = Box::pin(
        requests
            .take_while(|r| futures::future::ready(r.is_ok()))
            .filter_map(|r| futures::future::ready(r.ok())),
    );
    let session = if attach {
        crate::streams::attach::attach(&opener, start, rest).await
    } else {
        let os = match os {
            GroupOs::Linux => TargetOs::Linux,
            GroupOs::Windows => TargetOs::Windows,
        };
        exec(&opener, os, start, rest).await
    }
    .map_err(|e| Status::new(e.code(), e.to_string()))?;
    Ok(Box::pin(session.map(Ok)))
}
