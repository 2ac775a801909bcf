//! The `Provider` service of the reference backend.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::Stream;
use tonic::{Request, Response, Status, Streaming};
use vk_proto::Scope;
use vk_proto::v1::provider_server::Provider;
use vk_proto::v1::{self as pb};

use super::Rpc;
use super::lifecycle::{self, initial_status};
use super::logs::{self, LogOptions};
use super::store::{PodRecord, Store};
use super::{exec, node, validate, watch};

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// The reference implementation of `vk.provider.v1.Provider`.
#[derive(Debug, Clone)]
pub struct ProviderService {
    store: Arc<Store>,
}

impl ProviderService {
    /// A service over `store`.
    pub(crate) fn new(store: Arc<Store>) -> Self {
        Self { store }
    }

    /// Authenticates the caller, reads its scope and answers an injected error if one waits.
    fn begin<T>(&self, rpc: Rpc, request: &Request<T>) -> Result<Scope, Status> {
        let scope = Scope::from_metadata(request.metadata())?;
        let tokens = &self.store.config.tokens;
        if !tokens.is_empty() {
            let token = request
                .metadata()
                .get("authorization")
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.strip_prefix("Bearer "))
                .ok_or_else(|| Status::unauthenticated("a bearer token is required"))?;
            let allowed = tokens.get(token).ok_or_else(|| Status::unauthenticated("unknown bearer token"))?;
            if !allowed.iter().any(|id| id == "*" || *id == scope.cluster_id) {
                return Err(Status::permission_denied(format!(
                    "this caller may not act for cluster id {}",
                    scope.cluster_id
                )));
            }
        }
        let mut state = self.store.lock();
        if let Some(position) = state.injected.iter().position(|(of, _, _)| *of == rpc) {
            let (_, code, message) = state.injected.remove(position);
            return Err(Status::new(code, message));
        }
        Ok(scope)
    }

    fn not_found(uid: &str) -> Status {
        Status::not_found(format!("pod {uid} not found in this scope"))
    }

    fn checked_pod(pod: Option<pb::Pod>) -> Result<pb::Pod, Status> {
        let pod = pod.ok_or_else(|| Status::invalid_argument("pod: required"))?;
        let problems = validate::problems(&pod);
        if problems.is_empty() { Ok(pod) } else { Err(Status::invalid_argument(problems.join("; "))) }
    }

    fn start_lifecycle(&self, scope: &Scope, uid: &str) {
        let handle = lifecycle::start(self.store.clone(), scope.clone(), uid.to_owned());
        let mut state = self.store.lock();
        match state.scopes.get_mut(scope).and_then(|pods| pods.get_mut(uid)) {
            Some(record) => record.lifecycle = Some(handle),
            None => handle.abort(),
        }
    }
}

fn uid_of(pod: &pb::Pod) -> String {
    pod.meta.as_ref().map(|m| m.uid.clone()).unwrap_or_default()
}

fn log_options(request: &pb::ContainerLogsRequest) -> Result<LogOptions, Status> {
    let mut problems = Vec::new();
    if request.container.is_empty() {
        problems.push("container: required".to_owned());
    }
    if request.since_seconds.is_some() && request.since_time.is_some() {
        problems.push("since_seconds, since_time: at most one may be set".to_owned());
    }
    for (name, value) in [
        ("tail_lines", request.tail_lines),
        ("since_seconds", request.since_seconds),
        ("limit_bytes", request.limit_bytes),
    ] {
        if value.is_some_and(|v| v < 0) {
            problems.push(format!("{name}: must not be negative"));
        }
    }
    if request.limit_bytes == Some(0) {
        problems.push("limit_bytes: must be positive".to_owned());
    }
    if !problems.is_empty() {
        return Err(Status::invalid_argument(problems.join("; ")));
    }
    let since = match (request.since_seconds, request.since_time) {
        (Some(seconds), _) => Some(Utc::now() - chrono::Duration::seconds(seconds)),
        (None, Some(time)) => DateTime::from_timestamp(time.seconds, u32::try_from(time.nanos).unwrap_or(0)),
        (None, None) => None,
    };
    Ok(LogOptions {
        follow: request.follow,
        tail_lines: request.tail_lines.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
        since,
        timestamps: request.timestamps,
        limit_bytes: request.limit_bytes.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
    })
}

#[tonic::async_trait]
impl Provider for ProviderService {
    async fn create_pod(
        &self,
        request: Request<pb::CreatePodRequest>,
    ) -> Result<Response<pb::CreatePodResponse>, Status> {
        let scope = self.begin(Rpc::CreatePod, &request)?;
        let pod = Self::checked_pod(request.into_inner().pod)?;
        let uid = uid_of(&pod);
        let state = {
            let mut state = self.store.lock();
            state.received.push((scope.clone(), pod.clone()));
            let pods = state.scopes.entry(scope.clone()).or_default();
            if let Some(existing) = pods.get(&uid) {
                let existing = existing.state(&scope);
                return Ok(Response::new(pb::CreatePodResponse {
                    state: Some(existing),
                    already_existed: true,
                }));
            }
            let mut record = PodRecord::new(pod.clone(), initial_status(&pod));
            record.event("Accepted", "The reference backend accepted the pod".into(), false, "");
            let created = record.state(&scope);
            pods.insert(uid.clone(), record);
            self.store.publish(&state, &scope, &uid);
            created
        };
        self.start_lifecycle(&scope, &uid);
        Ok(Response::new(pb::CreatePodResponse { state: Some(state), already_existed: false }))
    }

    async fn update_pod(
        &self,
        request: Request<pb::UpdatePodRequest>,
    ) -> Result<Response<pb::UpdatePodResponse>, Status> {
        let scope = self.begin(Rpc::UpdatePod, &request)?;
        let pod = Self::checked_pod(request.into_inner().pod)?;
        let uid = uid_of(&pod);
        let state = {
            let mut state = self.store.lock();
            state.received.push((scope.clone(), pod.clone()));
            let record = state
                .scopes
                .get_mut(&scope)
                .and_then(|pods| pods.get_mut(&uid))
                .ok_or_else(|| Self::not_found(&uid))?;
            if record.pod.spec_hash == pod.spec_hash {
                let current = record.state(&scope);
                return Ok(Response::new(pb::UpdatePodResponse { state: Some(current), recreated: false }));
            }
            record.stop_everything();
            record.containers.clear();
            record.status = initial_status(&pod);
            record.pod = pod;
            record.event("Recreated", "The pod changed; its containers were recreated".into(), false, "");
            let updated = record.state(&scope);
            self.store.publish(&state, &scope, &uid);
            updated
        };
        self.start_lifecycle(&scope, &uid);
        Ok(Response::new(pb::UpdatePodResponse { state: Some(state), recreated: true }))
    }

    async fn delete_pod(
        &self,
        request: Request<pb::DeletePodRequest>,
    ) -> Result<Response<pb::DeletePodResponse>, Status> {
        let scope = self.begin(Rpc::DeletePod, &request)?;
        let uid = request.into_inner().uid;
        let delay = self.store.config.delete_delay;
        let mut state = self.store.lock();
        let Some(record) = state.scopes.get_mut(&scope).and_then(|pods| pods.get_mut(&uid)) else {
            if self.store.config.faults.non_idempotent_delete {
                return Err(Self::not_found(&uid));
            }
            return Ok(Response::new(pb::DeletePodResponse { found: false, gone: true }));
        };
        if record.deleting {
            return Ok(Response::new(pb::DeletePodResponse { found: true, gone: false }));
        }
        record.deleting = true;
        record.stop_everything();
        record.event("Killing", "Stopping the pod's containers".into(), false, "");
        if delay.is_zero() {
            if let Some(record) = state.scopes.get_mut(&scope).and_then(|pods| pods.remove(&uid)) {
                self.store.publish_removed(&scope, record.removed());
            }
            return Ok(Response::new(pb::DeletePodResponse { found: true, gone: true }));
        }
        self.store.publish(&state, &scope, &uid);
        drop(state);
        let store = self.store.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let mut state = store.lock();
            if let Some(record) = state.scopes.get_mut(&scope).and_then(|pods| pods.remove(&uid)) {
                store.publish_removed(&scope, record.removed());
            }
        });
        Ok(Response::new(pb::DeletePodResponse { found: true, gone: false }))
    }

    async fn get_pod(
        &self,
        request: Request<pb::GetPodRequest>,
    ) -> Result<Response<pb::GetPodResponse>, Status> {
        let scope = self.begin(Rpc::GetPod, &request)?;
        let uid = request.into_inner().uid;
        let state = self.store.lock();
        let record =
            state.scopes.get(&scope).and_then(|pods| pods.get(&uid)).ok_or_else(|| Self::not_found(&uid))?;
        Ok(Response::new(pb::GetPodResponse { state: Some(record.state(&scope)) }))
    }

    async fn list_pods(
        &self,
        request: Request<pb::ListPodsRequest>,
    ) -> Result<Response<pb::ListPodsResponse>, Status> {
        let scope = self.begin(Rpc::ListPods, &request)?;
        let request = request.into_inner();
        let after = match request.page_token.as_str() {
            "" => None,
            token => Some(
                token
                    .strip_prefix("after:")
                    .ok_or_else(|| Status::invalid_argument("page_token: not a token this backend issued"))?
                    .to_owned(),
            ),
        };
        let page_size = match request.page_size {
            0 => 100,
            n => usize::try_from(n.min(500)).unwrap_or(500),
        };
        let state = self.store.lock();
        let mut all: Vec<(String, pb::PodState)> = state
            .scopes
            .iter()
            .filter(|(of, _)| self.store.config.faults.unscoped_list || **of == scope)
            .flat_map(|(of, pods)| pods.iter().map(move |(uid, record)| (uid.clone(), record.state(of))))
            .filter(|(uid, _)| after.as_ref().is_none_or(|after| uid > after))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        let next_page_token =
            if all.len() > page_size { format!("after:{}", all[page_size - 1].0) } else { String::new() };
        let pods = all.into_iter().take(page_size).map(|(_, pod)| pod).collect();
        Ok(Response::new(pb::ListPodsResponse { pods, next_page_token }))
    }

    type WatchPodsStream = BoxStream<pb::WatchPodsResponse>;
    async fn watch_pods(
        &self,
        request: Request<pb::WatchPodsRequest>,
    ) -> Result<Response<Self::WatchPodsStream>, Status> {
        let scope = self.begin(Rpc::WatchPods, &request)?;
        let interval = match request.into_inner().bookmark_interval_seconds {
            0 => self.store.config.default_bookmark_interval,
            seconds => Duration::from_secs(u64::from(seconds)),
        };
        Ok(Response::new(Box::pin(watch::stream(self.store.clone(), scope, interval))))
    }

    type GetContainerLogsStream = BoxStream<pb::ContainerLogsChunk>;
    async fn get_container_logs(
        &self,
        request: Request<pb::ContainerLogsRequest>,
    ) -> Result<Response<Self::GetContainerLogsStream>, Status> {
        let scope = self.begin(Rpc::GetContainerLogs, &request)?;
        let request = request.into_inner();
        let options = log_options(&request)?;
        let buffer = {
            let state = self.store.lock();
            let record = state
                .scopes
                .get(&scope)
                .and_then(|pods| pods.get(&request.pod_uid))
                .ok_or_else(|| Self::not_found(&request.pod_uid))?;
            let spec = record.pod.spec.clone().unwrap_or_default();
            if !spec.containers.iter().chain(&spec.init_containers).any(|c| c.name == request.container) {
                return Err(Status::not_found(format!(
                    "container {} not found in pod {}",
                    request.container, request.pod_uid
                )));
            }
            let runtime = record.containers.get(&request.container);
            if request.previous {
                runtime.and_then(|r| r.previous_logs.clone()).ok_or_else(|| {
                    Status::not_found(format!("container {} has no previous instance", request.container))
                })?
            } else {
                runtime.and_then(|r| r.logs.clone()).ok_or_else(|| {
                    Status::failed_precondition(format!(
                        "container {} is waiting to start",
                        request.container
                    ))
                })?
            }
        };
        Ok(Response::new(Box::pin(logs::stream(buffer, options))))
    }

    type ExecStream = BoxStream<pb::ExecResponse>;
    async fn exec(
        &self,
        request: Request<Streaming<pb::ExecRequest>>,
    ) -> Result<Response<Self::ExecStream>, Status> {
        let scope = self.begin(Rpc::Exec, &request)?;
        let stream = exec::exec(self.store.clone(), scope, request.into_inner()).await?;
        Ok(Response::new(Box::pin(stream)))
    }

    type AttachStream = BoxStream<pb::ExecResponse>;
    async fn attach(
        &self,
        request: Request<Streaming<pb::ExecRequest>>,
    ) -> Result<Response<Self::AttachStream>, Status> {
        let scope = self.begin(Rpc::Attach, &request)?;
        let stream = exec::attach(self.store.clone(), scope, request.into_inner()).await?;
        Ok(Response::new(Box::pin(stream)))
    }

    async fn get_node_info(
        &self,
        request: Request<pb::GetNodeInfoRequest>,
    ) -> Result<Response<pb::NodeInfo>, Status> {
        let scope = self.begin(Rpc::GetNodeInfo, &request)?;
        Ok(Response::new(node::info(&self.store, &scope)))
    }

    async fn get_stats_summary(
        &self,
        request: Request<pb::GetStatsSummaryRequest>,
    ) -> Result<Response<pb::StatsSummary>, Status> {
        let scope = self.begin(Rpc::GetStatsSummary, &request)?;
        Ok(Response::new(node::summary(&self.store, &scope)))
    }
}
