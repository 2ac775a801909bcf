//! Where resolution reads the objects a pod references: targeted namespaced reads, never
//! cluster-wide Secret informers. [`KubeSource`](super::kube_source::KubeSource) reads the
//! Kubernetes API; unit tests use an in-memory source.

use std::collections::BTreeMap;
use std::future::Future;

use k8s_openapi::api::core::v1::{ConfigMap, Service};

use super::sensitive::Sensitive;

/// Why an object could not be read (other than "it does not exist", which is `Ok(None)`).
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The Kubernetes API call failed.
    #[error("{operation} failed: {source}")]
    Api {
        /// The call, for example `GET configmap ns/name`.
        operation: String,
        /// The cause.
        source: Box<kube::Error>,
    },
    /// The source is not available for another reason (in-memory sources, tests).
    #[error("{0}")]
    Unavailable(String),
}

/// A Secret's type and data, with every value wrapped so it cannot be logged.
#[derive(Debug, Clone, Default)]
pub struct SecretObject {
    /// `type` of the Secret, for example `kubernetes.io/dockerconfigjson`.
    pub type_: String,
    /// The decoded data.
    pub data: BTreeMap<String, Sensitive<Vec<u8>>>,
}

/// What a projected service account token is requested for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequestParams {
    /// Audiences; empty means the API server's default.
    pub audiences: Vec<String>,
    /// Requested lifetime.
    pub expiration_seconds: i64,
    /// The pod the token is bound to.
    pub pod_name: String,
    /// UID of that pod.
    pub pod_uid: String,
}

/// Reads objects for resolution.
pub trait ObjectSource: Send + Sync {
    /// The ConfigMap `namespace/name`, `None` when it does not exist.
    fn config_map(
        &self,
        namespace: &str,
        name: &str,
    ) -> impl Future<Output = Result<Option<ConfigMap>, SourceError>> + Send;

    /// The Secret `namespace/name`, `None` when it does not exist.
    fn secret(
        &self,
        namespace: &str,
        name: &str,
    ) -> impl Future<Output = Result<Option<SecretObject>, SourceError>> + Send;

    /// The Service `namespace/name`, `None` when it does not exist.
    fn service(
        &self,
        namespace: &str,
        name: &str,
    ) -> impl Future<Output = Result<Option<Service>, SourceError>> + Send;

    /// All Services of `namespace` (for service link variables).
    fn services(&self, namespace: &str) -> impl Future<Output = Result<Vec<Service>, SourceError>> + Send;

    /// A token for service account `namespace/name` from the TokenRequest API, `None` when
    /// the service account does not exist.
    fn service_account_token(
        &self,
        namespace: &str,
        service_account: &str,
        params: &TokenRequestParams,
    ) -> impl Future<Output = Result<Option<Sensitive<String>>, SourceError>> + Send;
}
