//! A pod's volumes with their contents resolved. Kinds whose data cannot be carried in the
//! request (hostPath, persistentVolumeClaim, nfs, csi ...) are passed by kind only.

use k8s_openapi::api::core::v1::{Pod, Volume as KubeVolume};
use vk_proto::v1::volume::Source;
use vk_proto::v1::{AzureFileVolume, EmptyDirVolume, FilesVolume, GitRepoVolume, UnsupportedVolume, Volume};

use super::error::ResolveError;
use super::fetch::Fetcher;
use super::files::{DEFAULT_MODE, FileSet, config_map_files, downward_files, projected_files, secret_files};
use super::node_facts::NodeFacts;
use super::quantity::whole_units;
use super::source::ObjectSource;

const AZURE_ACCOUNT_NAME_KEY: &str = "azurestorageaccountname";
const AZURE_ACCOUNT_KEY_KEY: &str = "azurestorageaccountkey";

/// One resolved volume, and the indices of token files in it (for the spec hash).
pub struct ResolvedVolume {
    /// The volume for the backend.
    pub volume: Volume,
    /// Indices of service account token files within a files volume.
    pub tokens: Vec<usize>,
}

/// Resolves one volume of `pod`.
pub async fn resolve_volume<S: ObjectSource>(
    fetch: &mut Fetcher<'_, S>,
    pod: &Pod,
    facts: &NodeFacts,
    volume: &KubeVolume,
) -> Result<ResolvedVolume, ResolveError> {
    let context = format!("volume {:?}", volume.name);
    let files = |kind: &str, set: FileSet| ResolvedVolume {
        volume: Volume {
            name: volume.name.clone(),
            source: Some(Source::Files(FilesVolume {
                kind: kind.to_owned(),
                files: set.files,
                secret: set.secret,
            })),
        },
        tokens: set.tokens,
    };
    if let Some(cm) = &volume.config_map {
        let mode = cm.default_mode.unwrap_or(DEFAULT_MODE);
        let optional = cm.optional.unwrap_or(false);
        let found = config_map_files(fetch, &cm.name, cm.items.as_deref(), mode, optional, &context).await?;
        return Ok(files("configMap", FileSet { files: found, ..FileSet::default() }));
    }
    if let Some(secret) = &volume.secret {
        let mode = secret.default_mode.unwrap_or(DEFAULT_MODE);
        let optional = secret.optional.unwrap_or(false);
        let name = secret.secret_name.as_deref().unwrap_or_default();
        let found = secret_files(fetch, name, secret.items.as_deref(), mode, optional, &context).await?;
        return Ok(files("secret", FileSet { files: found, secret: true, tokens: Vec::new() }));
    }
    if let Some(downward) = &volume.downward_api {
        let mode = downward.default_mode.unwrap_or(DEFAULT_MODE);
        let found =
            downward_files(pod, facts, downward.items.as_deref().unwrap_or_default(), mode, &context)?;
        return Ok(files("downwardAPI", FileSet { files: found, ..FileSet::default() }));
    }
    if let Some(projected) = &volume.projected {
        return Ok(files("projected", projected_files(fetch, pod, facts, projected, &context).await?));
    }
    let source = if let Some(empty) = &volume.empty_dir {
        let size_limit_bytes = match &empty.size_limit {
            Some(q) => Some(whole_units(&q.0).map_err(|e| ResolveError::invalid(&context, e.to_string()))?),
            None => None,
        };
        Source::EmptyDir(EmptyDirVolume {
            medium: empty.medium.clone().unwrap_or_default(),
            size_limit_bytes,
        })
    } else if let Some(azure) = &volume.azure_file {
        let name_context = format!("{context} azureFile");
        let account = fetch
            .secret_key(&azure.secret_name, AZURE_ACCOUNT_NAME_KEY, false, &name_context)
            .await?
            .unwrap_or_default();
        let key = fetch
            .secret_key(&azure.secret_name, AZURE_ACCOUNT_KEY_KEY, false, &name_context)
            .await?
            .unwrap_or_default();
        Source::AzureFile(AzureFileVolume {
            share_name: azure.share_name.clone(),
            storage_account_name: String::from_utf8_lossy(account.expose()).into_owned(),
            storage_account_key: String::from_utf8_lossy(key.expose()).into_owned(),
            read_only: azure.read_only.unwrap_or(false),
        })
    } else if let Some(git) = &volume.git_repo {
        Source::GitRepo(GitRepoVolume {
            repository: git.repository.clone(),
            directory: git.directory.clone().unwrap_or_default(),
            revision: git.revision.clone().unwrap_or_default(),
        })
    } else {
        Source::Unsupported(unsupported(volume))
    };
    Ok(ResolvedVolume {
        volume: Volume { name: volume.name.clone(), source: Some(source) },
        tokens: Vec::new(),
    })
}

/// The kind (JSON field name) of a volume this agent cannot resolve, with a detail.
fn unsupported(volume: &KubeVolume) -> UnsupportedVolume {
    let detail = if let Some(host) = &volume.host_path {
        host.path.clone()
    } else if let Some(claim) = &volume.persistent_volume_claim {
        format!("claim {}", claim.claim_name)
    } else if let Some(nfs) = &volume.nfs {
        format!("{}:{}", nfs.server, nfs.path)
    } else {
        String::new()
    };
    let kind = serde_json::to_value(volume)
        .ok()
        .and_then(|value| value.as_object().and_then(|o| o.keys().find(|k| *k != "name").cloned()))
        .unwrap_or_else(|| "unknown".to_owned());
    UnsupportedVolume { kind, detail }
}
