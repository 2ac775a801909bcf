//! Resolution of whole pods against an in-memory object source, one test per source kind.

mod env_sources;
mod volume_sources;

use std::collections::BTreeMap;
use std::sync::Mutex;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Container, Pod, PodSpec, Service};
use kube::api::ObjectMeta;
use vk_proto::v1::OsType;

use super::sensitive::Sensitive;
use super::source::{ObjectSource, SecretObject, SourceError, TokenRequestParams};
use super::{NodeFacts, Resolution, ResolveError, resolve_pod};

/// Objects by (namespace, name), plus a record of token requests.
#[derive(Default)]
pub struct MemorySource {
    config_maps: BTreeMap<(String, String), ConfigMap>,
    secrets: BTreeMap<(String, String), SecretObject>,
    services: BTreeMap<(String, String), Service>,
    service_accounts: Vec<(String, String)>,
    pub token_requests: Mutex<Vec<(String, TokenRequestParams)>>,
}

impl MemorySource {
    pub fn config_map(mut self, namespace: &str, name: &str, data: &[(&str, &str)]) -> Self {
        let map = ConfigMap {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some(namespace.into()),
                ..ObjectMeta::default()
            },
            data: Some(data.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()),
            binary_data: Some([("blob".to_owned(), ByteString(vec![0, 1, 2]))].into()),
            ..ConfigMap::default()
        };
        self.config_maps.insert((namespace.into(), name.into()), map);
        self
    }

    pub fn secret(mut self, namespace: &str, name: &str, type_: &str, data: &[(&str, &str)]) -> Self {
        let secret = SecretObject {
            type_: type_.into(),
            data: data
                .iter()
                .map(|(k, v)| ((*k).to_owned(), Sensitive::new(v.as_bytes().to_vec())))
                .collect(),
        };
        self.secrets.insert((namespace.into(), name.into()), secret);
        self
    }

    pub fn service(mut self, namespace: &str, service: Service) -> Self {
        let name = service.metadata.name.clone().unwrap_or_default();
        self.services.insert((namespace.into(), name), service);
        self
    }

    pub fn service_account(mut self, namespace: &str, name: &str) -> Self {
        self.service_accounts.push((namespace.into(), name.into()));
        self
    }
}

fn key(namespace: &str, name: &str) -> (String, String) {
    (namespace.to_owned(), name.to_owned())
}

impl ObjectSource for MemorySource {
    async fn config_map(&self, namespace: &str, name: &str) -> Result<Option<ConfigMap>, SourceError> {
        Ok(self.config_maps.get(&key(namespace, name)).cloned())
    }

    async fn secret(&self, namespace: &str, name: &str) -> Result<Option<SecretObject>, SourceError> {
        Ok(self.secrets.get(&key(namespace, name)).cloned())
    }

    async fn service(&self, namespace: &str, name: &str) -> Result<Option<Service>, SourceError> {
        Ok(self.services.get(&key(namespace, name)).cloned())
    }

    async fn services(&self, namespace: &str) -> Result<Vec<Service>, SourceError> {
        Ok(self.services.iter().filter(|((ns, _), _)| ns == namespace).map(|(_, s)| s.clone()).collect())
    }

    async fn service_account_token(
        &self,
        namespace: &str,
        service_account: &str,
        params: &TokenRequestParams,
    ) -> Result<Option<Sensitive<String>>, SourceError> {
        if !self.service_accounts.contains(&key(namespace, service_account)) {
            return Ok(None);
        }
        let mut requests =
            self.token_requests.lock().map_err(|_| SourceError::Unavailable("poisoned".into()))?;
        requests.push((service_account.to_owned(), params.clone()));
        Ok(Some(Sensitive::new(format!("token-{}-{}", service_account, requests.len()))))
    }
}

pub fn facts() -> NodeFacts {
    NodeFacts {
        node_name: "vk-node".into(),
        host_ip: "10.240.0.4".into(),
        os: OsType::Linux,
        allocatable_cpu_millis: 4000,
        allocatable_memory_bytes: 16 << 30,
        allocatable_ephemeral_storage_bytes: 0,
    }
}

/// A pod in namespace `shop` with one container `app`, links disabled unless changed.
pub fn pod(container: Container, spec: impl FnOnce(&mut PodSpec)) -> Pod {
    let mut pod_spec = PodSpec {
        containers: vec![Container { name: "app".into(), image: Some("busybox".into()), ..container }],
        node_name: Some("vk-node".into()),
        enable_service_links: Some(false),
        ..PodSpec::default()
    };
    spec(&mut pod_spec);
    Pod {
        metadata: ObjectMeta {
            name: Some("web-1".into()),
            namespace: Some("shop".into()),
            uid: Some("uid-1".into()),
            labels: Some([("app".to_owned(), "web".to_owned())].into()),
            ..ObjectMeta::default()
        },
        spec: Some(pod_spec),
        status: None,
    }
}

pub async fn resolve(source: &MemorySource, pod: &Pod) -> Result<Resolution, ResolveError> {
    resolve_pod(source, pod, &facts()).await
}

/// The env of the first container as (name, value, secret).
pub fn env_of(resolution: &Resolution) -> Vec<(String, String, bool)> {
    let spec = resolution.pod.as_proto().spec.as_ref().expect("resolved pods have a spec");
    spec.containers[0].env.iter().map(|e| (e.name.clone(), e.value.clone(), e.secret)).collect()
}
