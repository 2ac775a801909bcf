//! Glue to the running agent: serve the kubelet API with the agent's client, backend and
//! bound pods.

use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;

use super::auth::{Gate, KubeReviewer};
use super::serve::{ServeError, ServerSettings, run};
use super::service::{KubeletApi, PodDirectory};
use crate::app::AgentParts;
use crate::pods::BoundPods;

impl PodDirectory for BoundPods {
    fn pods(&self) -> Vec<Pod> {
        self.list()
    }
}

/// Whether callers are authenticated and authorized.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Client certificates or bearer tokens, then SubjectAccessReview (the default). The
    /// agent's service account needs `create` on `tokenreviews` and `subjectaccessreviews`.
    Reviewed,
    /// Everyone may do everything: local development only.
    Unchecked,
}

/// Runs the kubelet API of a running agent until the agent stops.
pub async fn run_for_agent(
    parts: AgentParts,
    settings: ServerSettings,
    access: Access,
) -> Result<(), ServeError> {
    let gate = match access {
        Access::Reviewed => {
            let reviewer = Arc::new(KubeReviewer::new(parts.client.clone()));
            Gate::checked(reviewer.clone(), reviewer)
        }
        Access::Unchecked => {
            tracing::warn!(
                "the kubelet API is open to anyone: authentication and authorization are disabled"
            );
            Gate::Open
        }
    };
    let api = Arc::new(KubeletApi {
        node_name: parts.node.name.clone(),
        gate,
        pods: Arc::new(parts.pods.clone()),
        provider: parts.backend.raw(),
        spdy: Default::default(),
    });
    run(&settings, api, parts.shutdown.clone()).await
}
