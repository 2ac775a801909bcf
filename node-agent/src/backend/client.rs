//! Calls to the backend with the scope attached, a deadline, and metrics.

use std::future::Future;
use std::time::Duration;

use tonic::codec::Streaming;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use vk_proto::v1::provider_client::ProviderClient;
use vk_proto::v1::{
    CreatePodRequest, CreatePodResponse, DeletePodRequest, DeletePodResponse, GetNodeInfoRequest,
    ListPodsRequest, NodeInfo, Pod, PodState, UpdatePodRequest, UpdatePodResponse, WatchPodsRequest,
    WatchPodsResponse,
};

use super::connect::CallInterceptor;
use crate::metrics::Metrics;

/// The generated client with the scope interceptor.
pub type RawClient = ProviderClient<InterceptedService<Channel, CallInterceptor>>;

/// A failed backend call.
#[derive(Debug, thiserror::Error)]
#[error("{method} failed: {} ({:?})", status.message(), status.code())]
pub struct BackendError {
    /// The rpc.
    pub method: &'static str,
    /// The gRPC status.
    pub status: tonic::Status,
}

impl BackendError {
    /// The backend's hint of when to retry (`retry-after-ms`), if it gave one.
    pub fn retry_after(&self) -> Option<Duration> {
        let value = self.status.metadata().get("retry-after-ms")?.to_str().ok()?;
        value.trim().parse::<u64>().ok().map(Duration::from_millis)
    }

    /// The gRPC code.
    pub fn code(&self) -> tonic::Code {
        self.status.code()
    }

    /// True when the backend said a request rate limit (not a quota) refused the call
    /// (`limit: rate` on RESOURCE_EXHAUSTED).
    pub fn is_rate_limit(&self) -> bool {
        self.status.code() == tonic::Code::ResourceExhausted
            && self.status.metadata().get("limit").and_then(|v| v.to_str().ok()) == Some("rate")
    }
}

/// The provider backend. Cheap to clone (clones share the channel).
#[derive(Clone)]
pub struct Backend {
    client: RawClient,
    metrics: Metrics,
    timeout: Duration,
}

impl Backend {
    /// A backend over `channel`, adding `interceptor`'s metadata to every call.
    pub fn new(channel: Channel, interceptor: CallInterceptor, metrics: Metrics) -> Self {
        let client =
            ProviderClient::with_interceptor(channel, interceptor).max_decoding_message_size(64 << 20);
        Self { client, metrics, timeout: Duration::from_secs(30) }
    }

    /// The same backend with another deadline for unary calls.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The generated client, for streaming calls other modules make (logs, exec).
    pub fn raw(&self) -> RawClient {
        self.client.clone()
    }

    async fn call<T, Fut>(
        &self,
        method: &'static str,
        call: impl FnOnce(RawClient, Duration) -> Fut,
    ) -> Result<T, BackendError>
    where
        Fut: Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    {
        let started = tokio::time::Instant::now();
        let outcome = match tokio::time::timeout(self.timeout, call(self.client.clone(), self.timeout)).await
        {
            Ok(result) => result.map(tonic::Response::into_inner),
            Err(_) => Err(tonic::Status::deadline_exceeded(format!("no answer within {:?}", self.timeout))),
        };
        let code = outcome.as_ref().err().map(tonic::Status::code);
        self.metrics.observe_backend_call(method, started.elapsed(), code);
        outcome.map_err(|status| BackendError { method, status })
    }

    fn request<T>(message: T, timeout: Duration) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        request.set_timeout(timeout);
        request
    }

    /// GetNodeInfo.
    pub async fn get_node_info(&self) -> Result<NodeInfo, BackendError> {
        self.call("GetNodeInfo", |mut c, t| async move {
            c.get_node_info(Self::request(GetNodeInfoRequest {}, t)).await
        })
        .await
    }

    /// CreatePod.
    pub async fn create_pod(&self, pod: Pod) -> Result<CreatePodResponse, BackendError> {
        let message = CreatePodRequest { pod: Some(pod) };
        self.call("CreatePod", |mut c, t| async move { c.create_pod(Self::request(message, t)).await }).await
    }

    /// UpdatePod.
    pub async fn update_pod(&self, pod: Pod) -> Result<UpdatePodResponse, BackendError> {
        let message = UpdatePodRequest { pod: Some(pod) };
        self.call("UpdatePod", |mut c, t| async move { c.update_pod(Self::request(message, t)).await }).await
    }

    /// DeletePod.
    pub async fn delete_pod(
        &self,
        uid: &str,
        grace_period_seconds: Option<i64>,
    ) -> Result<DeletePodResponse, BackendError> {
        let message = DeletePodRequest { uid: uid.to_owned(), grace_period_seconds };
        self.call("DeletePod", |mut c, t| async move { c.delete_pod(Self::request(message, t)).await }).await
    }

    /// Every pod of the scope (all pages of ListPods).
    pub async fn list_pods(&self) -> Result<Vec<PodState>, BackendError> {
        let mut pods = Vec::new();
        let mut page_token = String::new();
        loop {
            let message = ListPodsRequest { page_size: 500, page_token: page_token.clone() };
            let page = self
                .call("ListPods", |mut c, t| async move { c.list_pods(Self::request(message, t)).await })
                .await?;
            pods.extend(page.pods);
            if page.next_page_token.is_empty() {
                return Ok(pods);
            }
            page_token = page.next_page_token;
        }
    }

    /// Opens WatchPods (no deadline: the stream lives until cancelled).
    pub async fn watch_pods(
        &self,
        bookmark_interval_seconds: u32,
    ) -> Result<Streaming<WatchPodsResponse>, BackendError> {
        let started = tokio::time::Instant::now();
        let mut client = self.client.clone();
        let outcome = tokio::time::timeout(
            self.timeout,
            client.watch_pods(WatchPodsRequest { bookmark_interval_seconds }),
        )
        .await
        .unwrap_or_else(|_| Err(tonic::Status::deadline_exceeded("WatchPods did not open in time")))
        .map(tonic::Response::into_inner);
        self.metrics.observe_backend_call(
            "WatchPods",
            started.elapsed(),
            outcome.as_ref().err().map(tonic::Status::code),
        );
        outcome.map_err(|status| BackendError { method: "WatchPods", status })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_read_from_metadata() {
        let mut status = tonic::Status::resource_exhausted("quota");
        status.metadata_mut().insert("retry-after-ms", "1500".parse().expect("ascii"));
        let error = BackendError { method: "CreatePod", status };
        assert_eq!(error.retry_after(), Some(Duration::from_millis(1500)));
        assert_eq!(error.code(), tonic::Code::ResourceExhausted);
        assert!(error.to_string().contains("CreatePod failed: quota"));
        assert!(!error.is_rate_limit(), "no `limit` metadata: a quota");
    }

    #[test]
    fn a_rate_limit_is_told_from_a_quota_by_its_metadata() {
        let with_limit = |code: tonic::Code, limit: &'static str| {
            let mut status = tonic::Status::new(code, "refused");
            status.metadata_mut().insert("limit", tonic::metadata::MetadataValue::from_static(limit));
            BackendError { method: "CreatePod", status }
        };
        assert!(with_limit(tonic::Code::ResourceExhausted, "rate").is_rate_limit());
        assert!(!with_limit(tonic::Code::ResourceExhausted, "quota").is_rate_limit());
        assert!(!with_limit(tonic::Code::Unavailable, "rate").is_rate_limit(), "only RESOURCE_EXHAUSTED");
    }
}
