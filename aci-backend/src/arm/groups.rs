//! Container group operations: create or update, read, delete, tag patch, list.

use bytes::Bytes;
use http::{Method, StatusCode};

use super::client::{ArmClient, decode};
use super::error::ArmError;
use super::request::{ArmRequest, ArmResponse, Quota};
use crate::model::{API_VERSION, ContainerGroup, ContainerGroupListResult};

/// The long-running-operation URL of an accepted write, if ARM gave one.
pub fn operation_url(response: &ArmResponse) -> Option<reqwest::Url> {
    let header = response
        .headers
        .get("azure-asyncoperation")
        .or_else(|| response.headers.get(http::header::LOCATION))?;
    header.to_str().ok()?.parse().ok()
}

/// What a delete did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deleted {
    /// The group no longer exists.
    Gone,
    /// Deletion runs; follow the URL for its end (when ARM gave one).
    Accepted(Option<reqwest::Url>),
    /// There was no such group.
    NotFound,
}

/// A PUT's answer: the group as ARM reports it and, when provisioning continues, where to follow it.
#[derive(Debug, Clone)]
pub struct Put {
    /// The group.
    pub group: ContainerGroup,
    /// `Azure-AsyncOperation` URL.
    pub operation: Option<reqwest::Url>,
}

fn body(operation: &'static str, value: &impl serde::Serialize) -> Result<Bytes, ArmError> {
    serde_json::to_vec(value)
        .map(Bytes::from)
        .map_err(|e| ArmError::Transport { operation, message: format!("encoding the body: {e}") })
}

impl ArmClient {
    /// Whether group `name` may be created now (with [`ArmClient::put_group`], right after),
    /// or waits in line for ACI's create quota: `QuotaExhausted` with the pods ahead and when
    /// its turn comes. Costs no ARM call.
    pub fn create_turn(&self, name: &str) -> Result<(), ArmError> {
        self.budget.as_ref().map_or(Ok(()), |b| b.turn(Quota::Create, "put_container_group", name))
    }

    /// The same for deleting group `name` (ACI's delete quota).
    pub fn delete_turn(&self, name: &str) -> Result<(), ArmError> {
        self.budget.as_ref().map_or(Ok(()), |b| b.turn(Quota::Delete, "delete_container_group", name))
    }

    /// Creates or replaces a group (spends the ACI create quota).
    pub async fn put_group(&self, name: &str, group: &ContainerGroup) -> Result<Put, ArmError> {
        const OP: &str = "put_container_group";
        let req = ArmRequest::new(OP, Method::PUT, self.group_url(name, "", &[]))
            .with_body(body(OP, group)?)
            .with_quota(Quota::Create);
        let response = self.send(req).await?;
        Ok(Put { group: decode(OP, &response)?, operation: operation_url(&response) })
    }

    /// Reads a group with its instance view; `None` when it does not exist.
    pub async fn get_group(&self, name: &str) -> Result<Option<ContainerGroup>, ArmError> {
        let req = ArmRequest::new("get_container_group", Method::GET, self.group_url(name, "", &[]));
        match self.send_json(req).await {
            Ok(group) => Ok(Some(group)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Deletes a group (spends the ACI delete quota).
    pub async fn delete_group(&self, name: &str) -> Result<Deleted, ArmError> {
        let req = ArmRequest::new("delete_container_group", Method::DELETE, self.group_url(name, "", &[]))
            .with_quota(Quota::Delete);
        match self.send(req).await {
            Ok(r) if r.status == StatusCode::NO_CONTENT => Ok(Deleted::NotFound),
            Ok(r) if r.status == StatusCode::ACCEPTED => Ok(Deleted::Accepted(operation_url(&r))),
            Ok(_) => Ok(Deleted::Gone),
            Err(e) if e.is_not_found() => Ok(Deleted::NotFound),
            Err(e) => Err(e),
        }
    }

    /// Replaces a group's tags without redeploying it.
    pub async fn patch_group_tags(
        &self,
        name: &str,
        tags: &std::collections::BTreeMap<String, String>,
    ) -> Result<ContainerGroup, ArmError> {
        const OP: &str = "patch_container_group";
        let payload = serde_json::json!({ "tags": tags });
        let req =
            ArmRequest::new(OP, Method::PATCH, self.group_url(name, "", &[])).with_body(body(OP, &payload)?);
        self.send_json(req).await
    }

    /// Every group of the resource group (all pages; list entries carry no instance view).
    pub async fn list_groups(&self) -> Result<Vec<ContainerGroup>, ArmError> {
        self.list_groups_map(Some).await
    }

    /// What `keep` makes of each group of the resource group, page by page: only one page of
    /// full models is in memory at a time (a list of thousands of groups is tens of MB).
    pub async fn list_groups_map<T>(
        &self,
        mut keep: impl FnMut(ContainerGroup) -> Option<T>,
    ) -> Result<Vec<T>, ArmError> {
        const OP: &str = "list_container_groups";
        let t = &self.target;
        let path = format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.ContainerInstance/containerGroups",
            t.subscription_id, t.resource_group
        );
        let mut next = Some(self.url(&path, API_VERSION, &[]));
        let mut groups = Vec::new();
        while let Some(url) = next.take() {
            let page: ContainerGroupListResult =
                self.send_json(ArmRequest::new(OP, Method::GET, url)).await?;
            groups.extend(page.value.into_iter().filter_map(&mut keep));
            next = match page.next_link.filter(|l| !l.is_empty()) {
                Some(link) => Some(
                    link.parse()
                        .map_err(|e| ArmError::Decode { operation: OP, message: format!("nextLink: {e}") })?,
                ),
                None => None,
            };
        }
        Ok(groups)
    }
}
