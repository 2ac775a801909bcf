//! Resolution: a Kubernetes pod becomes a self-contained `vk_proto::v1::Pod`, with every
//! reference (ConfigMaps, Secrets, service account tokens, downward API, service links,
//! pull secrets) replaced by its value, as the kubelet would resolve it.

mod container;
mod env;
mod error;
mod expand;
mod fetch;
mod field_path;
mod files;
mod hash;
mod kube_source;
mod node_facts;
mod pod;
mod pull_secrets;
mod quantity;
mod resolved;
mod resource_field;
mod sensitive;
mod service_links;
mod source;
mod ttl_cache;
mod volumes;

#[cfg(test)]
mod tests;

pub use error::{ObjectKind, ResolveError, ResolveWarning};
pub use kube_source::KubeSource;
pub use node_facts::NodeFacts;
pub use pod::{resolve_pod, timestamp};
pub use quantity::{QuantityError, cpu_millis, whole_units};
pub use resolved::{Resolution, ResolvedPod};
pub use sensitive::Sensitive;
pub use source::{ObjectSource, SecretObject, SourceError, TokenRequestParams};
