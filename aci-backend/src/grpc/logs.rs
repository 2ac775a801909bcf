//! GetContainerLogs: the pod and container are looked up in the caller's scope, then the
//! `streams::logs` machinery reads ACI's logs API (tail, since, limit, timestamps, follow).

use std::sync::Arc;

use tonic::Status;
use vk_proto::v1;

use super::status_map::to_status;
use crate::pods::{CallScope, PodService, PodsError};
use crate::streams::logs::{AciLogs, LogStream, LogsConfig, logs as open_logs};

/// The group name of a pod whose spec has `container`, or the status explaining why not.
pub(crate) async fn locate(
    pods: &PodService,
    scope: &CallScope,
    uid: &str,
    container: &str,
) -> Result<(String, v1::PodState), Status> {
    let state = pods.get(scope, uid).await.map_err(to_status)?;
    let known = state
        .pod
        .as_ref()
        .and_then(|p| p.spec.as_ref())
        .is_some_and(|s| s.containers.iter().chain(&s.init_containers).any(|c| c.name == container));
    if !known {
        return Err(Status::not_found(format!("pod {uid} has no container {container:?}")));
    }
    let entry = pods
        .engine()
        .find(&scope.cluster_id, &scope.node_name, uid)
        .ok_or_else(|| to_status(PodsError::NotFound(uid.to_string())))?;
    Ok((entry.name, state))
}

/// Opens the log stream; every validation and lookup error comes before the first chunk.
pub async fn logs(
    pods: &PodService,
    scope: &CallScope,
    req: v1::ContainerLogsRequest,
) -> Result<LogStream, Status> {
    let (group, _) = locate(pods, scope, &req.pod_uid, &req.container).await?;
    let source = Arc::new(AciLogs::new(pods.engine().arm().clone(), &group, &req.container));
    open_logs(source, &req, LogsConfig::default()).await.map_err(|e| Status::new(e.code(), e.to_string()))
}
