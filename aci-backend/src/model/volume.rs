//! Volumes.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// `#/definitions/Volume`: a name and exactly one source.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Volume {
    /// Volume name.
    pub name: String,
    /// Azure Files share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure_file: Option<AzureFileVolume>,
    /// Empty directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub empty_dir: Option<EmptyDirVolume>,
    /// Files given inline (file name to base64 contents).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<SecretVolume>,
    /// Git repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_repo: Option<GitRepoVolume>,
}

/// `#/definitions/AzureFileVolume`. Debug hides the key.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AzureFileVolume {
    /// Share name.
    pub share_name: String,
    /// Read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    /// Storage account.
    pub storage_account_name: String,
    /// Storage account key (secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_account_key: Option<String>,
}

impl fmt::Debug for AzureFileVolume {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AzureFileVolume")
            .field("share_name", &self.share_name)
            .field("read_only", &self.read_only)
            .field("storage_account_name", &self.storage_account_name)
            .field("storage_account_key", &self.storage_account_key.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// `#/definitions/EmptyDirVolume`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EmptyDirVolume {}

/// `#/definitions/SecretVolume`: file name to base64 contents. Debug shows names only.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretVolume(pub BTreeMap<String, String>);

impl fmt::Debug for SecretVolume {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// `#/definitions/GitRepoVolume`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GitRepoVolume {
    /// Target directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<String>,
    /// Repository URL.
    pub repository: String,
    /// Commit hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
}
