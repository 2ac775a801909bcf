//! Pod → container group: the pure translation of a resolved pod into the ARM body of its
//! container group (api-version 2025-09-01), with every unsupported setting refused at once.

mod annotations;
mod config;
mod containers;
mod naming;
mod network;
mod pod;
mod probes;
mod problems;
mod resources;
pub mod stored_pod;
pub mod tags;
mod volumes;

pub use annotations::{
    CCE_POLICY, DNS_NAME_LABEL, IDENTITY, PRIORITY, SKU, SUBNET_IDS, SYSTEM_ASSIGNED_IDENTITY,
};
pub use config::{ClusterDns, GroupLimits, GroupOs, TranslateConfig};
pub use naming::{MAX_GROUP_NAME, group_name};
pub use network::AZURE_DNS;
pub use pod::{Translation, translate};
pub use problems::{Problem, Refusal};
