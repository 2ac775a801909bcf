//! The virtual Node: its object, Lease, readiness and status reporting.

mod builder;
mod controller;
mod events;
mod lease;
mod readiness;
mod status_policy;

pub use builder::{KUBELET_COMPAT_VERSION, NodeConfig, build_node, kubelet_version, node_status};
pub use controller::{NodeController, NodeError, NodeIntervals};
pub use lease::{LEASE_NAMESPACE, LeaseError};
pub use readiness::{BackendView, Readiness, readiness};
