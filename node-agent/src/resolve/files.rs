//! File volumes: `configMap`, `secret`, `downwardAPI` and `projected` turned into files with
//! `items`, paths and modes applied as the kubelet's volume plugins apply them.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{DownwardAPIVolumeFile, KeyToPath, Pod, ProjectedVolumeSource};
use vk_proto::v1::File;

use super::env::find_container;
use super::error::{ObjectKind, ResolveError};
use super::fetch::Fetcher;
use super::field_path::pod_field;
use super::node_facts::NodeFacts;
use super::resource_field::container_resource;
use super::source::{ObjectSource, TokenRequestParams};

/// The mode files get when neither `defaultMode` nor the item's `mode` is set (0644).
pub const DEFAULT_MODE: i32 = 0o644;
/// Lifetime of a projected token when the pod does not say (one hour).
pub const DEFAULT_TOKEN_SECONDS: i64 = 3600;

/// Files of one volume and what is sensitive about them.
#[derive(Default)]
pub struct FileSet {
    /// The files in order.
    pub files: Vec<File>,
    /// True when any file came from a Secret or is a token.
    pub secret: bool,
    /// Indices into `files` of service account tokens (fresh on every resolution, so the
    /// spec hash leaves their contents out).
    pub tokens: Vec<usize>,
}

fn check_path(path: &str, context: &str) -> Result<String, ResolveError> {
    let bad = path.is_empty() || path.starts_with('/') || path.split('/').any(|part| part == "..");
    if bad {
        return Err(ResolveError::invalid(context, format!("path {path:?} must be relative without '..'")));
    }
    Ok(path.to_owned())
}

/// Files from keyed data (a ConfigMap's or Secret's entries).
fn keyed_files(
    entries: &BTreeMap<String, Vec<u8>>,
    items: Option<&[KeyToPath]>,
    default_mode: i32,
    optional: bool,
    missing_key: impl Fn(&str) -> ResolveError,
    context: &str,
) -> Result<Vec<File>, ResolveError> {
    match items.filter(|items| !items.is_empty()) {
        None => entries
            .iter()
            .map(|(key, content)| {
                Ok(File {
                    path: check_path(key, context)?,
                    content: content.clone(),
                    mode: Some(default_mode),
                })
            })
            .collect(),
        Some(items) => {
            let mut files = Vec::with_capacity(items.len());
            for item in items {
                match entries.get(&item.key) {
                    Some(content) => files.push(File {
                        path: check_path(&item.path, context)?,
                        content: content.clone(),
                        mode: Some(item.mode.unwrap_or(default_mode)),
                    }),
                    None if optional => {}
                    None => return Err(missing_key(&item.key)),
                }
            }
            Ok(files)
        }
    }
}

/// The files of ConfigMap `name` (data and binaryData).
pub async fn config_map_files<S: ObjectSource>(
    fetch: &mut Fetcher<'_, S>,
    name: &str,
    items: Option<&[KeyToPath]>,
    default_mode: i32,
    optional: bool,
    context: &str,
) -> Result<Vec<File>, ResolveError> {
    let Some(map) = fetch.config_map(name, optional, context).await? else { return Ok(Vec::new()) };
    let mut entries: BTreeMap<String, Vec<u8>> =
        map.data.iter().map(|(k, v)| (k.clone(), v.clone().into_bytes())).collect();
    entries.extend(map.binary_data.iter().map(|(k, v)| (k.clone(), v.clone())));
    let missing = |key: &str| fetch.missing_key(context, ObjectKind::ConfigMap, name, key);
    keyed_files(&entries, items, default_mode, optional, missing, context)
}

/// The files of Secret `name`.
pub async fn secret_files<S: ObjectSource>(
    fetch: &mut Fetcher<'_, S>,
    name: &str,
    items: Option<&[KeyToPath]>,
    default_mode: i32,
    optional: bool,
    context: &str,
) -> Result<Vec<File>, ResolveError> {
    let Some(secret) = fetch.secret(name, optional, context).await? else { return Ok(Vec::new()) };
    let entries: BTreeMap<String, Vec<u8>> =
        secret.data.iter().map(|(k, v)| (k.clone(), v.expose().clone())).collect();
    let missing = |key: &str| fetch.missing_key(context, ObjectKind::Secret, name, key);
    keyed_files(&entries, items, default_mode, optional, missing, context)
}

/// Downward API files.
pub fn downward_files(
    pod: &Pod,
    facts: &NodeFacts,
    items: &[DownwardAPIVolumeFile],
    default_mode: i32,
    context: &str,
) -> Result<Vec<File>, ResolveError> {
    let mut files = Vec::with_capacity(items.len());
    for item in items {
        let value = if let Some(field) = &item.field_ref {
            pod_field(pod, facts, &field.field_path).map_err(|r| ResolveError::invalid(context, r))?
        } else if let Some(selector) = &item.resource_field_ref {
            let name = selector.container_name.as_deref().unwrap_or_default();
            let container = find_container(pod, name)
                .ok_or_else(|| ResolveError::invalid(context, format!("no container named {name:?}")))?;
            container_resource(container, selector, facts).map_err(|r| ResolveError::invalid(context, r))?
        } else {
            return Err(ResolveError::invalid(
                context,
                format!("item {:?} has no fieldRef or resourceFieldRef", item.path),
            ));
        };
        files.push(File {
            path: check_path(&item.path, context)?,
            content: value.into_bytes(),
            mode: Some(item.mode.unwrap_or(default_mode)),
        });
    }
    Ok(files)
}

/// A projected volume: all its sources merged in order.
pub async fn projected_files<S: ObjectSource>(
    fetch: &mut Fetcher<'_, S>,
    pod: &Pod,
    facts: &NodeFacts,
    source: &ProjectedVolumeSource,
    context: &str,
) -> Result<FileSet, ResolveError> {
    let mode = source.default_mode.unwrap_or(DEFAULT_MODE);
    let mut set = FileSet::default();
    for (index, projection) in source.sources.iter().flatten().enumerate() {
        let context = format!("{context} sources[{index}]");
        if let Some(cm) = &projection.config_map {
            let optional = cm.optional.unwrap_or(false);
            set.files.extend(
                config_map_files(fetch, &cm.name, cm.items.as_deref(), mode, optional, &context).await?,
            );
        } else if let Some(secret) = &projection.secret {
            let optional = secret.optional.unwrap_or(false);
            let files =
                secret_files(fetch, &secret.name, secret.items.as_deref(), mode, optional, &context).await?;
            set.secret |= !files.is_empty();
            set.files.extend(files);
        } else if let Some(downward) = &projection.downward_api {
            set.files.extend(downward_files(
                pod,
                facts,
                downward.items.as_deref().unwrap_or_default(),
                mode,
                &context,
            )?);
        } else if let Some(token) = &projection.service_account_token {
            let params = TokenRequestParams {
                audiences: token.audience.iter().filter(|a| !a.is_empty()).cloned().collect(),
                expiration_seconds: token.expiration_seconds.unwrap_or(DEFAULT_TOKEN_SECONDS),
                pod_name: pod.metadata.name.clone().unwrap_or_default(),
                pod_uid: pod.metadata.uid.clone().unwrap_or_default(),
            };
            let account = pod
                .spec
                .as_ref()
                .and_then(|s| s.service_account_name.as_deref())
                .filter(|n| !n.is_empty())
                .unwrap_or("default");
            let value = fetch.token(account, &params, &context).await?;
            set.secret = true;
            set.tokens.push(set.files.len());
            set.files.push(File {
                path: check_path(&token.path, &context)?,
                content: value.into_inner().into_bytes(),
                mode: Some(mode),
            });
        } else {
            return Err(ResolveError::invalid(context, "this projection source is not supported"));
        }
    }
    Ok(set)
}
