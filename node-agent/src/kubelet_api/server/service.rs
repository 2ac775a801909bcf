//! Request handling: authenticate, authorize, route.

use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use http::{HeaderValue, Request, Response, StatusCode, header};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use k8s_openapi::api::core::v1::Pod;
use vk_proto::v1::GetStatsSummaryRequest;
use vk_proto::v1::provider_client::ProviderClient;

use super::auth::{Gate, User};
use super::logs::LogOptions;
use super::provider::{ProviderChannel, http_status};
use super::route::{Attributes, PodContainer, Route};
use super::{stats, upgrade};
use crate::kubelet_api::remotecommand::SessionKind;
use crate::kubelet_api::remotecommand::over_spdy::SpdySessionConfig;

/// Error type of response bodies.
pub type BodyError = Box<dyn std::error::Error + Send + Sync>;
/// Response body of every route.
pub type ResponseBody = BoxBody<Bytes, BodyError>;

/// What the kubelet API needs to know about pods from the rest of node-agent.
pub trait PodDirectory: Send + Sync + 'static {
    /// The pods bound to this node.
    fn pods(&self) -> Vec<Pod>;
}

/// A reflector store of the node's pods (a watch on `spec.nodeName`) is a directory.
impl PodDirectory for kube::runtime::reflector::Store<Pod> {
    fn pods(&self) -> Vec<Pod> {
        self.state().iter().map(|pod| Pod::clone(pod)).collect()
    }
}

/// The kubelet API of one node.
pub struct KubeletApi<T> {
    /// The node's name (authorization attributes, stats).
    pub node_name: String,
    /// Authentication and authorization.
    pub gate: Gate,
    /// The node's pods.
    pub pods: Arc<dyn PodDirectory>,
    /// The provider backend.
    pub provider: ProviderClient<T>,
    /// Exec and attach over SPDY.
    pub spdy: SpdySessionConfig,
}

/// A plain-text response.
pub fn text(status: StatusCode, message: impl Into<String>) -> Response<ResponseBody> {
    let mut body = message.into();
    if !body.ends_with('\n') {
        body.push('\n');
    }
    let mut response = Response::new(full(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

/// A whole body.
pub fn full(bytes: Bytes) -> ResponseBody {
    Full::new(bytes).map_err(|never| match never {}).boxed()
}

/// A request that cannot be served: the status and the text to answer with.
pub(super) struct Failure {
    status: StatusCode,
    message: String,
}

impl Failure {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, message: message.into() }
    }

    fn response(self) -> Response<ResponseBody> {
        text(self.status, self.message)
    }
}

/// A failure as a `metav1.Status`. Clients decode a refused upgrade's body as a Status
/// (leniently: plain text with `: ` in it reads as YAML and loses its message), so this is
/// the answer whose message reaches the user.
pub fn failure_status(status: StatusCode, message: &str) -> Response<ResponseBody> {
    let body = serde_json::json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "code": status.as_u16(),
    });
    let mut response = json(serde_json::to_vec(&body).unwrap_or_default());
    *response.status_mut() = status;
    response
}

fn json(bytes: Vec<u8>) -> Response<ResponseBody> {
    let mut response = Response::new(full(Bytes::from(bytes)));
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

impl<T: ProviderChannel> KubeletApi<T> {
    /// Handles one request; `certificate_user` is the verified client certificate's user.
    pub async fn handle(
        self: Arc<Self>,
        request: Request<Incoming>,
        certificate_user: Option<User>,
    ) -> Response<ResponseBody> {
        let path = request.uri().path().to_owned();
        let attributes = Attributes::for_request(request.method(), &path, &self.node_name);
        if let Err(refusal) = self.gate.admit(request.headers(), certificate_user.as_ref(), &attributes).await
        {
            return text(refusal.status, refusal.message);
        }
        match Route::parse(&path) {
            Route::Healthz => text(StatusCode::OK, "ok"),
            Route::Pods => self.list_pods(),
            Route::PortForward => failure_status(
                StatusCode::NOT_IMPLEMENTED,
                "port forwarding is not supported: the provider cannot forward ports to its pods",
            ),
            Route::ContainerLogs(target) => {
                self.container_logs(&target, request.uri().query().unwrap_or("")).await
            }
            Route::Exec(target) => self.stream(request, &target, SessionKind::Exec),
            Route::Attach(target) => self.stream(request, &target, SessionKind::Attach),
            Route::StatsSummary => match self.stats().await {
                Ok(summary) => json(stats::summary_json(&summary, &self.node_name)),
                Err(failure) => failure.response(),
            },
            Route::MetricsResource => match self.stats().await {
                Ok(summary) => {
                    let mut response = text(StatusCode::OK, stats::resource_metrics(&summary));
                    response
                        .headers_mut()
                        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4"));
                    response
                }
                Err(failure) => failure.response(),
            },
            Route::NotFound => text(StatusCode::NOT_FOUND, "404 page not found"),
        }
    }

    fn list_pods(&self) -> Response<ResponseBody> {
        let list = serde_json::json!({
            "kind": "PodList",
            "apiVersion": "v1",
            "metadata": {},
            "items": self.pods.pods(),
        });
        json(serde_json::to_vec(&list).unwrap_or_default())
    }

    /// The pod's UID after checking that the pod (and container) exist on this node.
    pub(super) fn resolve(&self, target: &PodContainer) -> Result<String, Failure> {
        let pods = self.pods.pods();
        let pod = pods.iter().find(|pod| {
            pod.metadata.namespace.as_deref() == Some(target.namespace.as_str())
                && pod.metadata.name.as_deref() == Some(target.pod.as_str())
        });
        let Some(pod) = pod else {
            return Err(Failure::new(
                StatusCode::NOT_FOUND,
                format!("pod {}/{} not found", target.namespace, target.pod),
            ));
        };
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        if target.uid.as_ref().is_some_and(|wanted| *wanted != uid) {
            return Err(Failure::new(
                StatusCode::NOT_FOUND,
                format!("pod {}/{} has another UID", target.namespace, target.pod),
            ));
        }
        let spec = pod.spec.as_ref();
        let known = spec.is_some_and(|spec| {
            spec.containers.iter().any(|c| c.name == target.container)
                || spec.init_containers.iter().flatten().any(|c| c.name == target.container)
        });
        if !known {
            return Err(Failure::new(
                StatusCode::NOT_FOUND,
                format!(
                    "container {} is not valid for pod {}/{}",
                    target.container, target.namespace, target.pod
                ),
            ));
        }
        Ok(uid)
    }

    async fn container_logs(&self, target: &PodContainer, query: &str) -> Response<ResponseBody> {
        let options = match LogOptions::from_query(query) {
            Ok(options) => options,
            Err(err) => return text(StatusCode::BAD_REQUEST, err.to_string()),
        };
        let uid = match self.resolve(target) {
            Ok(uid) => uid,
            Err(failure) => return failure.response(),
        };
        let mut provider = self.provider.clone();
        let chunks = match provider.get_container_logs(options.request(&uid, &target.container)).await {
            Ok(response) => response.into_inner(),
            Err(status) => return text(http_status(status.code()), status.message().to_owned()),
        };
        let frames = chunks.map(|chunk| match chunk {
            Ok(chunk) => Ok(Frame::data(Bytes::from(chunk.data))),
            Err(status) => Err(BodyError::from(status.message().to_owned())),
        });
        let mut response = Response::new(BodyExt::boxed(StreamBody::new(frames)));
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        response
    }

    fn stream(
        &self,
        request: Request<Incoming>,
        target: &PodContainer,
        kind: SessionKind,
    ) -> Response<ResponseBody> {
        match self.resolve(target) {
            Ok(uid) => upgrade::exec_or_attach(
                request,
                &uid,
                &target.container,
                kind,
                self.provider.clone(),
                self.spdy.clone(),
            ),
            Err(failure) => failure.response(),
        }
    }

    async fn stats(&self) -> Result<vk_proto::v1::StatsSummary, Failure> {
        let mut provider = self.provider.clone();
        match provider.get_stats_summary(GetStatsSummaryRequest {}).await {
            Ok(response) => Ok(response.into_inner()),
            Err(status) => Err(Failure::new(http_status(status.code()), status.message())),
        }
    }
}
