//! The result of resolution, safe to log.

use vk_proto::v1::Pod;

use super::error::ResolveWarning;

/// A fully resolved pod. Its `Debug` names the pod and hash only: the generated protobuf
/// `Debug` would print secret values.
#[derive(Clone, PartialEq)]
pub struct ResolvedPod(Pod);

impl ResolvedPod {
    pub(crate) fn new(pod: Pod) -> Self {
        Self(pod)
    }

    /// The request message for the backend (contains secret values: never log it).
    pub fn as_proto(&self) -> &Pod {
        &self.0
    }

    /// The request message, consuming the wrapper.
    pub fn into_proto(self) -> Pod {
        self.0
    }

    /// The spec hash.
    pub fn spec_hash(&self) -> &str {
        &self.0.spec_hash
    }
}

impl std::fmt::Debug for ResolvedPod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let meta = self.0.meta.as_ref();
        f.debug_struct("ResolvedPod")
            .field("namespace", &meta.map(|m| m.namespace.as_str()))
            .field("name", &meta.map(|m| m.name.as_str()))
            .field("uid", &meta.map(|m| m.uid.as_str()))
            .field("spec_hash", &self.0.spec_hash)
            .finish_non_exhaustive()
    }
}

/// A resolved pod plus the warnings met on the way.
#[derive(Debug)]
pub struct Resolution {
    /// The pod for the backend.
    pub pod: ResolvedPod,
    /// Problems that did not stop resolution (for Warning Events).
    pub warnings: Vec<ResolveWarning>,
}
