//! Remote callers and the clusters each may act for, from a JSON file:
//!
//! ```json
//! { "callers": [
//!   { "name": "cluster-a", "certificateSha256": "<hex of the client certificate's DER>", "clusters": ["<uid>"] },
//!   { "name": "ci", "tokenSha256": "<hex of the bearer token>", "clusters": ["<uid>", "<uid>"] }
//! ] }
//! ```
//!
//! Certificates and tokens are matched by SHA-256, so the file holds no secret.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use sha2::{Digest, Sha256};

/// Why the callers file is unusable.
#[derive(Debug, thiserror::Error)]
pub enum CallersError {
    /// It cannot be read.
    #[error("reading the callers file {path}: {message}")]
    Read {
        /// File.
        path: String,
        /// Detail.
        message: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    name: String,
    #[serde(default)]
    certificate_sha256: Option<String>,
    #[serde(default)]
    token_sha256: Option<String>,
    clusters: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct File {
    callers: Vec<Entry>,
}

/// One known caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Name for logs.
    pub name: String,
    /// Cluster ids it may act for.
    pub clusters: Arc<HashSet<String>>,
    certificate: Option<String>,
    token: Option<String>,
}

/// All known callers.
#[derive(Debug, Clone, Default)]
pub struct Callers {
    callers: Vec<Caller>,
}

fn digest(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Callers {
    /// Parses the file's JSON.
    pub fn parse(text: &str, path: &str) -> Result<Callers, CallersError> {
        let file: File = serde_json::from_str(text)
            .map_err(|e| CallersError::Read { path: path.into(), message: e.to_string() })?;
        let callers = file
            .callers
            .into_iter()
            .map(|e| Caller {
                name: e.name,
                clusters: Arc::new(e.clusters.into_iter().collect()),
                certificate: e.certificate_sha256.map(|h| h.to_ascii_lowercase()),
                token: e.token_sha256.map(|h| h.to_ascii_lowercase()),
            })
            .collect();
        Ok(Callers { callers })
    }

    /// Reads the file.
    pub fn load(path: &Path) -> Result<Callers, CallersError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| CallersError::Read { path: shown.clone(), message: e.to_string() })?;
        Callers::parse(&text, &shown)
    }

    /// The caller presenting this client certificate (DER).
    pub fn by_certificate(&self, der: &[u8]) -> Option<&Caller> {
        let hash = digest(der);
        self.callers.iter().find(|c| c.certificate.as_deref() == Some(hash.as_str()))
    }

    /// The caller presenting this bearer token.
    pub fn by_token(&self, token: &str) -> Option<&Caller> {
        let hash = digest(token.as_bytes());
        self.callers.iter().find(|c| c.token.as_deref() == Some(hash.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_certificates_are_matched_by_their_hash() {
        let text = format!(
            r#"{{"callers":[{{"name":"a","tokenSha256":"{}","clusters":["c1"]}},{{"name":"b","certificateSha256":"{}","clusters":["c2"]}}]}}"#,
            digest(b"secret-token"),
            digest(b"der-bytes")
        );
        let callers = Callers::parse(&text, "test").expect("valid file");
        assert_eq!(callers.by_token("secret-token").map(|c| c.name.as_str()), Some("a"));
        assert!(callers.by_token("other").is_none());
        let b = callers.by_certificate(b"der-bytes").expect("known certificate");
        assert!(b.clusters.contains("c2"));
    }
}
