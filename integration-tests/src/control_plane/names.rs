//! Names that keep tests sharing one control plane apart.

use std::sync::atomic::{AtomicU64, Ordering};

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, ResourceExt};

use super::error::Error;
use super::instance::ControlPlane;

/// The longest DNS-1123 label.
const MAX_LABEL: usize = 63;

/// A DNS-1123 label unique within this test process: `<prefix>-<pid>-<n>`. The prefix is
/// lowercased, stripped of other characters and shortened to fit.
pub fn unique_name(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let suffix = format!("-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
    let clean: String = prefix
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(MAX_LABEL - suffix.len())
        .collect();
    let clean = clean.trim_matches('-');
    let clean = if clean.is_empty() { "t" } else { clean };
    format!("{clean}{suffix}")
}

impl ControlPlane {
    /// Creates a namespace named [`unique_name`]`(prefix)` and waits until pods can be
    /// created in it (its default ServiceAccount has a token). Returns the name.
    pub async fn create_namespace(&self, prefix: &str) -> Result<String, Error> {
        let name = unique_name(prefix);
        let namespaces: Api<Namespace> = Api::all(self.client()?);
        let namespace = Namespace {
            metadata: ObjectMeta { name: Some(name.clone()), ..ObjectMeta::default() },
            ..Namespace::default()
        };
        let created = namespaces
            .create(&PostParams::default(), &namespace)
            .await
            .map_err(|source| Error::CreateNamespace { name: name.clone(), source })?;
        self.wait_for_default_service_account(&created.name_any()).await?;
        Ok(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_names_differ_and_keep_the_prefix() {
        let first = unique_name("vk-node");
        let second = unique_name("vk-node");
        assert_ne!(first, second);
        assert!(first.starts_with("vk-node-"), "{first}");
    }

    #[test]
    fn unique_names_are_dns_labels_whatever_the_prefix() {
        for prefix in ["Upper_Case.Dots", "", "---", &"x".repeat(100)] {
            let name = unique_name(prefix);
            assert!(name.len() <= MAX_LABEL, "{name}");
            assert!(name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'), "{name}");
            assert!(name.starts_with(|c: char| c.is_ascii_alphanumeric()), "{name}");
        }
    }
}
