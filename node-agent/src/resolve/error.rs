//! Why a pod could not be resolved, in the kubelet's words where it has them.

use super::source::SourceError;

/// The kind of a referenced object, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ObjectKind {
    /// A ConfigMap.
    ConfigMap,
    /// A Secret.
    Secret,
    /// A ServiceAccount (token requests).
    ServiceAccount,
}

impl ObjectKind {
    /// The lower-case resource name the API uses in "not found" messages.
    pub fn resource(self) -> &'static str {
        match self {
            Self::ConfigMap => "configmap",
            Self::Secret => "secret",
            Self::ServiceAccount => "serviceaccount",
        }
    }

    /// The kind name.
    pub fn kind(self) -> &'static str {
        match self {
            Self::ConfigMap => "ConfigMap",
            Self::Secret => "Secret",
            Self::ServiceAccount => "ServiceAccount",
        }
    }
}

/// A resolution failure. `context` names where in the pod the reference is (for example
/// `container "app" env "DB_PASSWORD"` or `volume "config"`).
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// A non-optional object does not exist (the kubelet's `CreateContainerConfigError`).
    #[error("{context}: {} \"{name}\" not found", kind.resource())]
    MissingObject {
        /// Where the reference is.
        context: String,
        /// What kind of object.
        kind: ObjectKind,
        /// Its name (in the pod's namespace).
        name: String,
    },
    /// A non-optional key is absent from an existing object.
    #[error("{context}: couldn't find key {key} in {} {namespace}/{name}", kind.kind())]
    MissingKey {
        /// Where the reference is.
        context: String,
        /// What kind of object.
        kind: ObjectKind,
        /// The namespace.
        namespace: String,
        /// The object name.
        name: String,
        /// The missing key.
        key: String,
    },
    /// Reading an object failed (API unreachable, forbidden, ...); retrying may help.
    #[error("{context}: {source}")]
    Fetch {
        /// Where the reference is.
        context: String,
        /// The cause.
        source: SourceError,
    },
    /// The pod asks for something that can never be resolved (an unknown named port, a
    /// malformed quantity, an unsupported field path). Retrying is pointless.
    #[error("{context}: {reason}")]
    Invalid {
        /// Where in the pod.
        context: String,
        /// What is wrong.
        reason: String,
    },
}

impl ResolveError {
    /// True when retrying the same pod cannot succeed.
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::Invalid { .. })
    }

    /// The CamelCase reason the kubelet would show for this failure.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Invalid { .. } => "ProviderFailed",
            _ => "CreateContainerConfigError",
        }
    }

    pub(crate) fn invalid(context: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid { context: context.into(), reason: reason.into() }
    }
}

/// A problem that does not stop the pod but deserves a Warning Event (as the kubelet
/// records skipped env keys or missing pull secrets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveWarning {
    /// CamelCase reason.
    pub reason: String,
    /// What happened.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_like_the_kubelets() {
        let missing = ResolveError::MissingObject {
            context: "container \"app\" env \"A\"".into(),
            kind: ObjectKind::ConfigMap,
            name: "settings".into(),
        };
        assert_eq!(missing.to_string(), "container \"app\" env \"A\": configmap \"settings\" not found");
        let key = ResolveError::MissingKey {
            context: "volume \"v\"".into(),
            kind: ObjectKind::Secret,
            namespace: "ns".into(),
            name: "s".into(),
            key: "k".into(),
        };
        assert_eq!(key.to_string(), "volume \"v\": couldn't find key k in Secret ns/s");
        assert!(!key.is_permanent());
        assert!(ResolveError::invalid("x", "y").is_permanent());
    }
}
