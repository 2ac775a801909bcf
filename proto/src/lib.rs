//! The provider gRPC API (`vk.provider.v1`) between node-agent and provider backends.
//!
//! The contract lives in the `.proto` files under `proto/vk/provider/v1/`; their comments are
//! the specification. This crate holds the generated tonic/prost code plus the few helpers
//! every party needs: scope metadata, endpoint addresses, and the standard health and
//! reflection services.

pub mod endpoint;
pub mod scope;
pub mod standard_services;
pub mod tls;

/// Generated code for package `vk.provider.v1`.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod v1 {
    tonic::include_proto!("vk.provider.v1");

    /// Encoded `FileDescriptorSet` of the API, for gRPC server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("vk_provider_v1_descriptor");
}

pub use endpoint::Endpoint;
pub use scope::Scope;

/// Fully qualified name of the provider service, as used by health checks and reflection.
pub const PROVIDER_SERVICE_NAME: &str = "vk.provider.v1.Provider";
