//! The ARM client: where the container groups live and how calls are sent and decoded.

use std::sync::Arc;

use serde::de::DeserializeOwned;
use tower::ServiceExt as _;

use super::error::ArmError;
use super::layers::auth::TokenSource;
use super::layers::budget::Budget;
use super::request::{ArmRequest, ArmResponse};
use super::stack::ArmService;
use crate::model::API_VERSION;

/// Where this backend's container groups live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArmTarget {
    /// ARM endpoint, for example `https://management.azure.com`.
    pub endpoint: reqwest::Url,
    /// Subscription id.
    pub subscription_id: String,
    /// Resource group of the container groups.
    pub resource_group: String,
    /// Azure region, for example `westeurope`.
    pub location: String,
}

/// Calls ARM for one subscription and resource group.
#[derive(Clone)]
pub struct ArmClient {
    pub(super) target: ArmTarget,
    service: ArmService,
    tokens: Option<Arc<TokenSource>>,
    pub(super) budget: Option<Arc<Budget>>,
}

impl std::fmt::Debug for ArmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArmClient").field("target", &self.target).finish_non_exhaustive()
    }
}

impl ArmClient {
    /// A client sending through `service` (see [`super::stack::arm_service`]).
    pub fn new(target: ArmTarget, service: ArmService) -> Self {
        ArmClient { target, service, tokens: None, budget: None }
    }

    /// Also lines pods up for ACI's quotas (see [`ArmClient::create_turn`]) in `budget`, the
    /// stack's budget; without it every pod may always try.
    pub fn with_budget(mut self, budget: Arc<Budget>) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Also tells, through [`ArmClient::credential_problem`], when `tokens` (the stack's token
    /// source) can authenticate no call.
    pub fn with_tokens(mut self, tokens: Arc<TokenSource>) -> Self {
        self.tokens = Some(tokens);
        self
    }

    /// Why no ARM call can be authenticated right now (no valid token and the last refresh
    /// failed); `None` while calls can be made.
    pub fn credential_problem(&self) -> Option<String> {
        self.tokens.as_ref().and_then(|tokens| tokens.problem())
    }

    /// Where the client acts.
    pub fn target(&self) -> &ArmTarget {
        &self.target
    }

    /// An absolute URL for `path` (which starts with `/`) with `api-version`.
    pub(super) fn url(&self, path: &str, api_version: &str, query: &[(&str, &str)]) -> reqwest::Url {
        let mut url = self.target.endpoint.clone();
        url.set_path(&format!("{}{path}", self.target.endpoint.path().trim_end_matches('/')));
        {
            let mut pairs = url.query_pairs_mut();
            pairs.clear().append_pair("api-version", api_version);
            for (k, v) in query {
                pairs.append_pair(k, v);
            }
        }
        url
    }

    /// `/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.ContainerInstance/containerGroups/{name}`.
    pub(super) fn group_url(&self, name: &str, suffix: &str, query: &[(&str, &str)]) -> reqwest::Url {
        let t = &self.target;
        let path = format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.ContainerInstance/containerGroups/{}{suffix}",
            t.subscription_id, t.resource_group, name
        );
        self.url(&path, API_VERSION, query)
    }

    /// Sends a request through the stack.
    pub async fn send(&self, req: ArmRequest) -> Result<ArmResponse, ArmError> {
        self.service.clone().oneshot(req).await
    }

    /// Sends and decodes a JSON answer.
    pub(super) async fn send_json<T: DeserializeOwned>(&self, req: ArmRequest) -> Result<T, ArmError> {
        let operation = req.operation;
        let response = self.send(req).await?;
        decode(operation, &response)
    }
}

/// Decodes a JSON body.
pub(super) fn decode<T: DeserializeOwned>(
    operation: &'static str,
    response: &ArmResponse,
) -> Result<T, ArmError> {
    serde_json::from_slice(&response.body).map_err(|e| ArmError::Decode { operation, message: e.to_string() })
}
