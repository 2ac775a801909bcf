//! The gRPC face of the backend: the provider service, scope checks and status mapping.

mod exec;
mod logs;
mod node_info;
mod provider;
pub mod scope;
mod status_map;
mod watch;

pub use provider::AciProvider;
pub use scope::AllowedClusters;
pub use status_map::to_status;
