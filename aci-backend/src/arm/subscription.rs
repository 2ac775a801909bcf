//! Subscription-level reads: location usages and capabilities, provider registration.

use http::Method;
use serde::Deserialize;

use super::client::ArmClient;
use super::error::ArmError;
use super::request::ArmRequest;
use crate::model::API_VERSION;

/// The api-version of the resource providers API.
pub const PROVIDERS_API_VERSION: &str = "2021-04-01";

/// One quota usage of a location.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    /// Unit, for example `Count`.
    #[serde(default)]
    pub unit: String,
    /// Current use.
    #[serde(default)]
    pub current_value: i64,
    /// Limit.
    #[serde(default)]
    pub limit: i64,
    /// Name.
    #[serde(default)]
    pub name: UsageName,
}

/// Name of a usage.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageName {
    /// Machine name, for example `ContainerGroups` or `StandardCores`.
    #[serde(default)]
    pub value: String,
}

/// Maxima of one OS / SKU combination in a location.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Capability {
    /// `Linux` or `Windows`.
    #[serde(default)]
    pub os_type: String,
    /// `Public`, `Private`...
    #[serde(default)]
    pub ip_address_type: String,
    /// GPU SKU, or empty.
    #[serde(default)]
    pub gpu: String,
    /// The maxima.
    #[serde(default)]
    pub capabilities: CapabilityLimits,
}

/// Per-group maxima.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CapabilityLimits {
    /// Memory in GB.
    #[serde(default, rename = "maxMemoryInGB")]
    pub max_memory_in_gb: f64,
    /// CPU cores.
    #[serde(default)]
    pub max_cpu: f64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page<T> {
    #[serde(default = "Vec::new")]
    value: Vec<T>,
    #[serde(default)]
    next_link: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Registration {
    #[serde(default)]
    registration_state: String,
}

impl ArmClient {
    fn location_path(&self, what: &str) -> String {
        format!(
            "/subscriptions/{}/providers/Microsoft.ContainerInstance/locations/{}/{what}",
            self.target.subscription_id, self.target.location
        )
    }

    async fn pages<T: serde::de::DeserializeOwned>(
        &self,
        op: &'static str,
        first: reqwest::Url,
    ) -> Result<Vec<T>, ArmError> {
        let mut out = Vec::new();
        let mut next = Some(first);
        while let Some(url) = next.take() {
            let page: Page<T> = self.send_json(ArmRequest::new(op, Method::GET, url)).await?;
            out.extend(page.value);
            if let Some(link) = page.next_link.filter(|l| !l.is_empty()) {
                next =
                    Some(link.parse().map_err(|e| ArmError::Decode {
                        operation: op,
                        message: format!("nextLink: {e}"),
                    })?);
            }
        }
        Ok(out)
    }

    /// Quota usages of the region.
    pub async fn usages(&self) -> Result<Vec<Usage>, ArmError> {
        self.pages("location_usages", self.url(&self.location_path("usages"), API_VERSION, &[])).await
    }

    /// Per-group maxima of the region.
    pub async fn capabilities(&self) -> Result<Vec<Capability>, ArmError> {
        self.pages("location_capabilities", self.url(&self.location_path("capabilities"), API_VERSION, &[]))
            .await
    }

    /// The registration state of `Microsoft.ContainerInstance` (`Registered`, `NotRegistered`, ...).
    pub async fn provider_registration(&self) -> Result<String, ArmError> {
        let path =
            format!("/subscriptions/{}/providers/Microsoft.ContainerInstance", self.target.subscription_id);
        let url = self.url(&path, PROVIDERS_API_VERSION, &[]);
        let r: Registration =
            self.send_json(ArmRequest::new("provider_registration", Method::GET, url)).await?;
        Ok(r.registration_state)
    }
}
