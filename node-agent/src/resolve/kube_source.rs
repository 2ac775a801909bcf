//! [`ObjectSource`] over the Kubernetes API with targeted namespaced calls.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::authentication::v1::{BoundObjectReference, TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service, ServiceAccount};
use kube::api::{ListParams, PostParams};
use kube::{Api, Client};

use super::sensitive::Sensitive;
use super::source::{ObjectSource, SecretObject, SourceError, TokenRequestParams};
use super::ttl_cache::TtlCache;

/// How long Service reads are reused for service link variables.
const SERVICE_TTL: Duration = Duration::from_secs(5);

/// Reads referenced objects from the Kubernetes API. Services (for service links) are
/// reused for a few seconds; everything else is read fresh.
#[derive(Clone)]
pub struct KubeSource {
    client: Client,
    services: Arc<TtlCache<String, Vec<Service>>>,
    service: Arc<TtlCache<(String, String), Option<Service>>>,
}

impl KubeSource {
    /// A source using `client`.
    pub fn new(client: Client) -> Self {
        Self {
            client,
            services: Arc::new(TtlCache::new(SERVICE_TTL)),
            service: Arc::new(TtlCache::new(SERVICE_TTL)),
        }
    }
}

fn api_error(operation: String) -> impl FnOnce(kube::Error) -> SourceError {
    move |source| SourceError::Api { operation, source: Box::new(source) }
}

fn is_not_found(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 404)
}

impl ObjectSource for KubeSource {
    async fn config_map(&self, namespace: &str, name: &str) -> Result<Option<ConfigMap>, SourceError> {
        Api::<ConfigMap>::namespaced(self.client.clone(), namespace)
            .get_opt(name)
            .await
            .map_err(api_error(format!("GET configmap {namespace}/{name}")))
    }

    async fn secret(&self, namespace: &str, name: &str) -> Result<Option<SecretObject>, SourceError> {
        let secret = Api::<Secret>::namespaced(self.client.clone(), namespace)
            .get_opt(name)
            .await
            .map_err(api_error(format!("GET secret {namespace}/{name}")))?;
        Ok(secret.map(|secret| SecretObject {
            type_: secret.type_.unwrap_or_default(),
            data: secret
                .data
                .unwrap_or_default()
                .into_iter()
                .map(|(key, value)| (key, Sensitive::new(value.0)))
                .collect(),
        }))
    }

    async fn service(&self, namespace: &str, name: &str) -> Result<Option<Service>, SourceError> {
        let key = (namespace.to_owned(), name.to_owned());
        if let Some(cached) = self.service.get(&key) {
            return Ok(cached);
        }
        let found = Api::<Service>::namespaced(self.client.clone(), namespace)
            .get_opt(name)
            .await
            .map_err(api_error(format!("GET service {namespace}/{name}")))?;
        self.service.put(key, found.clone());
        Ok(found)
    }

    async fn services(&self, namespace: &str) -> Result<Vec<Service>, SourceError> {
        if let Some(cached) = self.services.get(&namespace.to_owned()) {
            return Ok(cached);
        }
        let list = Api::<Service>::namespaced(self.client.clone(), namespace)
            .list(&ListParams::default())
            .await
            .map_err(api_error(format!("LIST services in {namespace}")))?;
        self.services.put(namespace.to_owned(), list.items.clone());
        Ok(list.items)
    }

    async fn service_account_token(
        &self,
        namespace: &str,
        service_account: &str,
        params: &TokenRequestParams,
    ) -> Result<Option<Sensitive<String>>, SourceError> {
        let request = TokenRequest {
            spec: TokenRequestSpec {
                audiences: params.audiences.clone(),
                expiration_seconds: Some(params.expiration_seconds),
                bound_object_ref: Some(BoundObjectReference {
                    api_version: Some("v1".to_owned()),
                    kind: Some("Pod".to_owned()),
                    name: Some(params.pod_name.clone()),
                    uid: Some(params.pod_uid.clone()),
                }),
            },
            ..TokenRequest::default()
        };
        let api = Api::<ServiceAccount>::namespaced(self.client.clone(), namespace);
        let operation = format!("POST serviceaccounts/{service_account}/token in {namespace}");
        match api
            .create_subresource::<_, TokenRequest>("token", service_account, &PostParams::default(), &request)
            .await
        {
            Ok(response) => {
                let token = response.status.map(|status| status.token).unwrap_or_default();
                if token.is_empty() {
                    return Err(SourceError::Unavailable(format!("{operation} returned no token")));
                }
                Ok(Some(Sensitive::new(token)))
            }
            Err(error) if is_not_found(&error) => Ok(None),
            Err(error) => Err(api_error(operation)(error)),
        }
    }
}
