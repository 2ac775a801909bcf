//! Reads referenced objects once per resolution and turns absence into the kubelet's errors.

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{ConfigMap, Service};

use super::error::{ObjectKind, ResolveError};
use super::sensitive::Sensitive;
use super::source::{ObjectSource, SecretObject, TokenRequestParams};

/// A ConfigMap's entries: `data` as UTF-8 strings and `binaryData` as bytes.
#[derive(Debug, Default)]
pub struct ConfigMapData {
    /// `data`.
    pub data: std::collections::BTreeMap<String, String>,
    /// `binaryData`.
    pub binary_data: std::collections::BTreeMap<String, Vec<u8>>,
}

/// A memoizing reader over an [`ObjectSource`] for one pod's namespace.
pub struct Fetcher<'a, S> {
    source: &'a S,
    namespace: &'a str,
    config_maps: HashMap<String, Option<Arc<ConfigMapData>>>,
    secrets: HashMap<String, Option<Arc<SecretObject>>>,
}

impl<'a, S: ObjectSource> Fetcher<'a, S> {
    /// A fetcher for objects in `namespace`.
    pub fn new(source: &'a S, namespace: &'a str) -> Self {
        Self { source, namespace, config_maps: HashMap::new(), secrets: HashMap::new() }
    }

    /// The pod's namespace.
    pub fn namespace(&self) -> &str {
        self.namespace
    }

    /// The ConfigMap `name`; `None` only when it is absent and `optional`.
    pub async fn config_map(
        &mut self,
        name: &str,
        optional: bool,
        context: &str,
    ) -> Result<Option<Arc<ConfigMapData>>, ResolveError> {
        if !self.config_maps.contains_key(name) {
            let found = self
                .source
                .config_map(self.namespace, name)
                .await
                .map_err(|source| ResolveError::Fetch { context: context.to_owned(), source })?;
            self.config_maps.insert(name.to_owned(), found.map(|map: ConfigMap| Arc::new(entries(map))));
        }
        match self.config_maps.get(name).cloned().flatten() {
            Some(map) => Ok(Some(map)),
            None if optional => Ok(None),
            None => Err(missing(context, ObjectKind::ConfigMap, name)),
        }
    }

    /// The Secret `name`; `None` only when it is absent and `optional`.
    pub async fn secret(
        &mut self,
        name: &str,
        optional: bool,
        context: &str,
    ) -> Result<Option<Arc<SecretObject>>, ResolveError> {
        if !self.secrets.contains_key(name) {
            let found = self
                .source
                .secret(self.namespace, name)
                .await
                .map_err(|source| ResolveError::Fetch { context: context.to_owned(), source })?;
            self.secrets.insert(name.to_owned(), found.map(Arc::new));
        }
        match self.secrets.get(name).cloned().flatten() {
            Some(secret) => Ok(Some(secret)),
            None if optional => Ok(None),
            None => Err(missing(context, ObjectKind::Secret, name)),
        }
    }

    /// One ConfigMap value (`data` only, as env uses); `None` when optional and absent.
    pub async fn config_map_key(
        &mut self,
        name: &str,
        key: &str,
        optional: bool,
        context: &str,
    ) -> Result<Option<String>, ResolveError> {
        let Some(map) = self.config_map(name, optional, context).await? else { return Ok(None) };
        match map.data.get(key) {
            Some(value) => Ok(Some(value.clone())),
            None if optional => Ok(None),
            None => Err(self.missing_key(context, ObjectKind::ConfigMap, name, key)),
        }
    }

    /// One Secret value; `None` when optional and absent.
    pub async fn secret_key(
        &mut self,
        name: &str,
        key: &str,
        optional: bool,
        context: &str,
    ) -> Result<Option<Sensitive<Vec<u8>>>, ResolveError> {
        let Some(secret) = self.secret(name, optional, context).await? else { return Ok(None) };
        match secret.data.get(key) {
            Some(value) => Ok(Some(value.clone())),
            None if optional => Ok(None),
            None => Err(self.missing_key(context, ObjectKind::Secret, name, key)),
        }
    }

    /// The error for a key absent from an existing object.
    pub fn missing_key(&self, context: &str, kind: ObjectKind, name: &str, key: &str) -> ResolveError {
        ResolveError::MissingKey {
            context: context.to_owned(),
            kind,
            namespace: self.namespace.to_owned(),
            name: name.to_owned(),
            key: key.to_owned(),
        }
    }

    /// A Service in another namespace (the `kubernetes` service in `default`).
    pub async fn service(
        &mut self,
        namespace: &str,
        name: &str,
        context: &str,
    ) -> Result<Option<Service>, ResolveError> {
        self.source
            .service(namespace, name)
            .await
            .map_err(|source| ResolveError::Fetch { context: context.to_owned(), source })
    }

    /// The Services of the pod's namespace.
    pub async fn services(&mut self, context: &str) -> Result<Vec<Service>, ResolveError> {
        self.source
            .services(self.namespace)
            .await
            .map_err(|source| ResolveError::Fetch { context: context.to_owned(), source })
    }

    /// A bound service account token.
    pub async fn token(
        &mut self,
        service_account: &str,
        params: &TokenRequestParams,
        context: &str,
    ) -> Result<Sensitive<String>, ResolveError> {
        self.source
            .service_account_token(self.namespace, service_account, params)
            .await
            .map_err(|source| ResolveError::Fetch { context: context.to_owned(), source })?
            .ok_or_else(|| missing(context, ObjectKind::ServiceAccount, service_account))
    }
}

fn missing(context: &str, kind: ObjectKind, name: &str) -> ResolveError {
    ResolveError::MissingObject { context: context.to_owned(), kind, name: name.to_owned() }
}

fn entries(map: ConfigMap) -> ConfigMapData {
    ConfigMapData {
        data: map.data.unwrap_or_default(),
        binary_data: map.binary_data.unwrap_or_default().into_iter().map(|(k, v)| (k, v.0)).collect(),
    }
}
