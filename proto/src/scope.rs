//! The scope of a call: which cluster and which virtual node it acts for.
//!
//! Carried as request metadata on every `Provider` rpc (see `provider.proto`).

use tonic::metadata::{MetadataMap, MetadataValue};

/// Metadata key carrying the cluster id.
pub const CLUSTER_ID_KEY: &str = "vk-cluster-id";
/// Metadata key carrying the node name.
pub const NODE_NAME_KEY: &str = "vk-node-name";

/// The (cluster id, node name) pair a call acts for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scope {
    /// Cluster id: the UID of the cluster's `kube-system` namespace by default.
    pub cluster_id: String,
    /// Name of the virtual Node object.
    pub node_name: String,
}

/// Why a scope could not be read from or written to metadata.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// A required metadata entry is absent or empty.
    #[error("request metadata `{0}` is required and must not be empty")]
    Missing(&'static str),
    /// A metadata entry is not printable ASCII.
    #[error("request metadata `{0}` must be printable ASCII")]
    NotAscii(&'static str),
}

impl Scope {
    /// A scope from its two parts.
    pub fn new(cluster_id: impl Into<String>, node_name: impl Into<String>) -> Self {
        Self { cluster_id: cluster_id.into(), node_name: node_name.into() }
    }

    /// Reads the scope from request metadata.
    pub fn from_metadata(metadata: &MetadataMap) -> Result<Self, Error> {
        Ok(Self { cluster_id: read(metadata, CLUSTER_ID_KEY)?, node_name: read(metadata, NODE_NAME_KEY)? })
    }

    /// Writes the scope into request metadata, replacing earlier values.
    pub fn insert_into(&self, metadata: &mut MetadataMap) -> Result<(), Error> {
        metadata.insert(CLUSTER_ID_KEY, ascii(&self.cluster_id, CLUSTER_ID_KEY)?);
        metadata.insert(NODE_NAME_KEY, ascii(&self.node_name, NODE_NAME_KEY)?);
        Ok(())
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.cluster_id, self.node_name)
    }
}

impl From<Error> for tonic::Status {
    fn from(error: Error) -> Self {
        tonic::Status::invalid_argument(error.to_string())
    }
}

fn read(metadata: &MetadataMap, key: &'static str) -> Result<String, Error> {
    let value = metadata.get(key).ok_or(Error::Missing(key))?;
    let value = value.to_str().map_err(|_| Error::NotAscii(key))?.trim();
    if value.is_empty() {
        return Err(Error::Missing(key));
    }
    Ok(value.to_owned())
}

fn ascii(value: &str, key: &'static str) -> Result<MetadataValue<tonic::metadata::Ascii>, Error> {
    if value.is_empty() {
        return Err(Error::Missing(key));
    }
    value.parse().map_err(|_| Error::NotAscii(key))
}

/// A tonic interceptor that adds a fixed scope to every outgoing request.
#[derive(Debug, Clone)]
pub struct ScopeInterceptor {
    cluster_id: MetadataValue<tonic::metadata::Ascii>,
    node_name: MetadataValue<tonic::metadata::Ascii>,
}

impl ScopeInterceptor {
    /// An interceptor for `scope`; fails when a part is empty or not ASCII.
    pub fn new(scope: &Scope) -> Result<Self, Error> {
        Ok(Self {
            cluster_id: ascii(&scope.cluster_id, CLUSTER_ID_KEY)?,
            node_name: ascii(&scope.node_name, NODE_NAME_KEY)?,
        })
    }
}

impl tonic::service::Interceptor for ScopeInterceptor {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        let metadata = request.metadata_mut();
        metadata.insert(CLUSTER_ID_KEY, self.cluster_id.clone());
        metadata.insert(NODE_NAME_KEY, self.node_name.clone());
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scope_survives_a_round_trip_through_metadata() {
        let scope = Scope::new("2f1c-uid", "virtual-kubelet-aci-linux-westeurope");
        let mut metadata = MetadataMap::new();
        scope.insert_into(&mut metadata).expect("ascii scope");
        assert_eq!(Scope::from_metadata(&metadata), Ok(scope));
    }

    #[test]
    fn a_missing_node_name_is_named_in_the_error() {
        let mut metadata = MetadataMap::new();
        metadata.insert(CLUSTER_ID_KEY, MetadataValue::from_static("c1"));
        assert_eq!(Scope::from_metadata(&metadata), Err(Error::Missing(NODE_NAME_KEY)));
        let status = tonic::Status::from(Error::Missing(NODE_NAME_KEY));
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert!(status.message().contains("vk-node-name"));
    }

    #[test]
    fn blank_values_count_as_missing() {
        let mut metadata = MetadataMap::new();
        metadata.insert(CLUSTER_ID_KEY, MetadataValue::from_static("  "));
        metadata.insert(NODE_NAME_KEY, MetadataValue::from_static("n"));
        assert_eq!(Scope::from_metadata(&metadata), Err(Error::Missing(CLUSTER_ID_KEY)));
    }

    #[test]
    fn an_empty_scope_cannot_build_an_interceptor() {
        assert_eq!(ScopeInterceptor::new(&Scope::new("", "n")).err(), Some(Error::Missing(CLUSTER_ID_KEY)));
    }
}
