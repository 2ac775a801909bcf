//! The ARM resource shapes of `Microsoft.ContainerInstance` (api-version 2025-09-01) that this
//! backend sends and reads, modelled on the definitions of the official spec. Only the fields
//! the backend uses are present; unknown response fields are ignored.

mod container;
mod container_group;
mod instance_view;
mod volume;

pub use container::{
    Container, ContainerExec, ContainerHttpGet, ContainerPort, ContainerProbe, ContainerProperties,
    EnvironmentVariable, HttpHeader, InitContainer, InitContainerProperties, ResourceLimits,
    ResourceRequests, ResourceRequirements, SecurityContext, SecurityContextCapabilities, VolumeMount,
};
pub use container_group::{
    ConfidentialComputeProperties, ContainerGroup, ContainerGroupIdentity, ContainerGroupListResult,
    ContainerGroupProperties, ContainerGroupSubnetId, DnsConfiguration, ImageRegistryCredential, IpAddress,
    Port, UserAssignedIdentity,
};
pub use instance_view::{ContainerInstanceView, ContainerState, Event, GroupInstanceView};
pub use volume::{AzureFileVolume, EmptyDirVolume, GitRepoVolume, SecretVolume, Volume};

/// The api-version every call uses.
pub const API_VERSION: &str = "2025-09-01";
