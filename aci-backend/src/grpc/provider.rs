//! The `vk.provider.v1.Provider` service on ACI.

use std::sync::Arc;
use std::time::Duration;

use tonic::{Request, Response, Status, Streaming};
use vk_proto::v1;
use vk_proto::v1::provider_server::Provider;

use super::exec::{ExecStream, open};
use super::logs::logs;
use super::node_info::NodeFacts;
use super::scope::call_scope;
use super::status_map::to_status;
use super::watch::{WatchStream, watch};
use crate::pods::PodService;
use crate::stats::{StatsCollector, StatsSettings};
use crate::streams::logs::LogStream;
use crate::streams::terminal::WsConnector;
use crate::translate::GroupOs;

/// The service.
#[derive(Debug)]
pub struct AciProvider {
    pods: PodService,
    os: GroupOs,
    node: NodeFacts,
    connector: WsConnector,
    stats: Arc<StatsCollector>,
}

impl AciProvider {
    /// A provider over `pods` for a node of `os`; `connector` opens ACI's terminal websockets;
    /// pod stats come from Azure Monitor as `stats` says.
    pub fn new(pods: PodService, os: GroupOs, connector: WsConnector, stats: StatsSettings) -> Self {
        let stats = StatsCollector::new(pods.engine().clone(), stats);
        AciProvider { pods, os, node: NodeFacts::default(), connector, stats }
    }

    /// The pod operations.
    pub fn pods(&self) -> &PodService {
        &self.pods
    }
}

fn pod_of<T>(pod: Option<T>) -> Result<T, Status> {
    pod.ok_or_else(|| Status::invalid_argument("pod is required"))
}

#[tonic::async_trait]
impl Provider for AciProvider {
    async fn create_pod(
        &self,
        request: Request<v1::CreatePodRequest>,
    ) -> Result<Response<v1::CreatePodResponse>, Status> {
        let scope = call_scope(&request)?;
        let pod = pod_of(request.into_inner().pod)?;
        let (state, already_existed) = self.pods.create(&scope, &pod).await.map_err(to_status)?;
        Ok(Response::new(v1::CreatePodResponse { state: Some(state), already_existed }))
    }

    async fn update_pod(
        &self,
        request: Request<v1::UpdatePodRequest>,
    ) -> Result<Response<v1::UpdatePodResponse>, Status> {
        let scope = call_scope(&request)?;
        let pod = pod_of(request.into_inner().pod)?;
        let (state, recreated) = self.pods.update(&scope, &pod).await.map_err(to_status)?;
        Ok(Response::new(v1::UpdatePodResponse { state: Some(state), recreated }))
    }

    async fn delete_pod(
        &self,
        request: Request<v1::DeletePodRequest>,
    ) -> Result<Response<v1::DeletePodResponse>, Status> {
        let scope = call_scope(&request)?;
        let uid = request.into_inner().uid;
        let (found, gone) = self.pods.delete(&scope, &uid).await.map_err(to_status)?;
        Ok(Response::new(v1::DeletePodResponse { found, gone }))
    }

    async fn get_pod(
        &self,
        request: Request<v1::GetPodRequest>,
    ) -> Result<Response<v1::GetPodResponse>, Status> {
        let scope = call_scope(&request)?;
        let state = self.pods.get(&scope, &request.into_inner().uid).await.map_err(to_status)?;
        Ok(Response::new(v1::GetPodResponse { state: Some(state) }))
    }

    async fn list_pods(
        &self,
        request: Request<v1::ListPodsRequest>,
    ) -> Result<Response<v1::ListPodsResponse>, Status> {
        let scope = call_scope(&request)?;
        let req = request.into_inner();
        let (pods, next_page_token) = self.pods.list(&scope, req.page_size as usize, &req.page_token);
        Ok(Response::new(v1::ListPodsResponse { pods, next_page_token }))
    }

    type WatchPodsStream = WatchStream;

    async fn watch_pods(
        &self,
        request: Request<v1::WatchPodsRequest>,
    ) -> Result<Response<WatchStream>, Status> {
        let scope = call_scope(&request)?;
        let every = match request.into_inner().bookmark_interval_seconds {
            0 => 30,
            n => n.max(1),
        };
        Ok(Response::new(watch(self.pods.engine(), scope, Duration::from_secs(u64::from(every)))))
    }

    type GetContainerLogsStream = LogStream;

    async fn get_container_logs(
        &self,
        request: Request<v1::ContainerLogsRequest>,
    ) -> Result<Response<LogStream>, Status> {
        let scope = call_scope(&request)?;
        Ok(Response::new(logs(&self.pods, &scope, request.into_inner()).await?))
    }

    type ExecStream = ExecStream;

    async fn exec(
        &self,
        request: Request<Streaming<v1::ExecRequest>>,
    ) -> Result<Response<ExecStream>, Status> {
        let scope = call_scope(&request)?;
        let stream = open(&self.pods, &scope, &self.connector, self.os, request.into_inner(), false).await?;
        Ok(Response::new(stream))
    }

    type AttachStream = ExecStream;

    async fn attach(
        &self,
        request: Request<Streaming<v1::ExecRequest>>,
    ) -> Result<Response<ExecStream>, Status> {
        let scope = call_scope(&request)?;
        let stream = open(&self.pods, &scope, &self.connector, self.os, request.into_inner(), true).await?;
        Ok(Response::new(stream))
    }

    async fn get_node_info(
        &self,
        request: Request<v1::GetNodeInfoRequest>,
    ) -> Result<Response<v1::NodeInfo>, Status> {
        call_scope(&request)?;
        let mut info = self.node.get(self.pods.engine().arm(), self.os).await;
        if let Some(capabilities) = info.capabilities.as_mut() {
            capabilities.stats = self.stats.enabled();
        }
        Ok(Response::new(info))
    }

    async fn get_stats_summary(
        &self,
        request: Request<v1::GetStatsSummaryRequest>,
    ) -> Result<Response<v1::StatsSummary>, Status> {
        let scope = call_scope(&request)?;
        Ok(Response::new(self.stats.summary(&scope.cluster_id, &scope.node_name).await))
    }
}
