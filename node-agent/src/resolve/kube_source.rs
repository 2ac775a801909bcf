//! [`ObjectSource`] over the Kubernetes API with targeted namespaced calls.

use k8s_openapi::api::authentication::v1::{BoundObjectReference, TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service, ServiceAccount};
use kube::api::{ListParams, PostParams};
use kube::{Api, Client};

use super::sensitive::Sensitive;
use super::source::{ObjectSource, SecretObject, SourceError, TokenRequestParams};

/// Reads referenced objects from the Kubernetes API.
#[derive(Clone)]
pub struct KubeSource {
    client: Client,
}

impl KubeSource {
    /// A source using `client`.
    pub fn new(client: Client) -> Self {
        Self { client }
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
        Api::<Service>::namespaced(self.client.clone(), namespace)
            .get_opt(name)
            .await
            .map_err(api_error(format!("GET service {namespace}/{name}")))
    }

    async fn services(&self, namespace: &str) -> Result<Vec<Service>, SourceError> {
        let list = Api::<Service>::namespaced(self.client.clone(), namespace)
            .list(&ListParams::default())
            .await
            .map_err(api_error(format!("LIST services in {namespace}")))?;
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
