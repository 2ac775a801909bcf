//! PUT body validation: JSON shape against the spec (through the typed model) and ACI's limits.

use std::collections::BTreeSet;

use serde_json::Value;

use super::model::{GroupRequest, IpAddressType, OsType};
use crate::arm::ArmError;
use crate::images::{ImageBehaviour, behaviour};

/// Limits of one container group.
#[derive(Clone, Copy, Debug)]
pub struct GroupLimits {
    pub max_cpu: f64,
    pub max_memory_gb: f64,
}

pub const MAX_CONTAINERS: usize = 60;
pub const MAX_VOLUMES: usize = 20;
pub const MAX_PORTS_PER_IP: usize = 5;

/// A resource name ACI accepts: 1-63 of `[a-z0-9-]`, not starting or ending with `-`.
pub fn valid_name(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// Parses and validates a PUT body; the first problem is the error, every problem is in its details.
pub fn validate(group_name: &str, body: &Value, limits: GroupLimits) -> Result<GroupRequest, ArmError> {
    let request: GroupRequest = serde_json::from_value(body.clone()).map_err(|e| {
        ArmError::bad_request(
            "InvalidRequestContent",
            format!("The request content was invalid and could not be deserialized: '{e}'."),
        )
    })?;
    let mut problems: Vec<(String, String)> = Vec::new();
    let mut fail = |code: &str, message: String| problems.push((code.to_owned(), message));

    if !valid_name(group_name) {
        fail(
            "InvalidContainerGroupName",
            format!(
                "The container group name '{group_name}' is invalid. A container group name must contain no more \
                 than 63 characters and must match the regex '[a-z0-9]([-a-z0-9]*[a-z0-9])?'."
            ),
        );
    }
    if request.location.trim().is_empty() {
        fail("LocationRequired", "The location property is required for this definition.".to_owned());
    }
    let props = &request.properties;
    if props.os_type.is_none() {
        fail("OsTypeRequired", "The 'osType' of container group is required.".to_owned());
    }
    if props.containers.is_empty() {
        fail("NoContainersInContainerGroup", "A container group must contain at least one container.".into());
    }
    if props.containers.len() > MAX_CONTAINERS {
        fail(
            "ContainerGroupContainerCountLimitExceeded",
            format!("A container group can have at most {MAX_CONTAINERS} containers."),
        );
    }
    if props.volumes.len() > MAX_VOLUMES {
        fail(
            "VolumeCountLimitExceeded",
            format!("A container group can have at most {MAX_VOLUMES} volumes."),
        );
    }
    if request.os_type() == OsType::Windows && !props.init_containers.is_empty() {
        fail(
            "InitContainersNotSupported",
            "Init containers are not supported for Windows container groups.".into(),
        );
    }

    let mut names = BTreeSet::new();
    let init_names = props.init_containers.iter().map(|c| (&c.name, c.properties.image.as_deref()));
    let names_images = props.containers.iter().map(|c| (&c.name, c.properties.image.as_deref()));
    for (name, image) in names_images.chain(init_names) {
        if !valid_name(name) {
            fail(
                "InvalidContainerName",
                format!(
                    "The container name '{name}' is invalid: use 1-63 of lower case letters, digits and '-'."
                ),
            );
        }
        if !names.insert(name.as_str()) {
            fail("DuplicateContainerName", format!("The container name '{name}' is used more than once."));
        }
        match image {
            None | Some("") => {
                fail("ContainerImageRequired", format!("The image of container '{name}' is required."))
            }
            Some(image) if behaviour(image) == ImageBehaviour::Inaccessible => fail(
                "InaccessibleImage",
                format!(
                    "The image '{image}' in container group '{group_name}' is not accessible. Please check the image \
                     and registry credential."
                ),
            ),
            Some(_) => {}
        }
    }

    let volume_names: BTreeSet<&str> = props.volumes.iter().map(|v| v.name.as_str()).collect();
    if volume_names.len() != props.volumes.len() {
        fail("DuplicateVolumeName", "Volume names must be unique in a container group.".into());
    }
    for volume in &props.volumes {
        let kinds = [
            volume.azure_file.is_some(),
            volume.empty_dir.is_some(),
            volume.secret.is_some(),
            volume.git_repo.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            fail(
                "InvalidVolume",
                format!(
                    "The volume '{}' must have exactly one of azureFile, emptyDir, secret, gitRepo.",
                    volume.name
                ),
            );
        }
    }

    let (mut cpu, mut memory) = (0.0, 0.0);
    let mut container_ports = BTreeSet::new();
    for container in &props.containers {
        let name = &container.name;
        let p = &container.properties;
        match &p.resources {
            None => fail(
                "ResourceRequestsRequired",
                format!("The container '{name}' must specify resource requests."),
            ),
            Some(resources) => {
                let r = &resources.requests;
                if r.cpu <= 0.0 || r.memory_in_gb <= 0.0 {
                    fail(
                        "InvalidResourceRequests",
                        format!("The resource requests of container '{name}' must be positive."),
                    );
                }
                if let Some(limit) = &resources.limits
                    && (limit.cpu.is_some_and(|c| c < r.cpu)
                        || limit.memory_in_gb.is_some_and(|m| m < r.memory_in_gb))
                {
                    fail(
                        "InvalidResourceLimits",
                        format!(
                            "The resource limits of container '{name}' must not be lower than its requests."
                        ),
                    );
                }
                cpu += r.cpu;
                memory += r.memory_in_gb;
            }
        }
        for port in &p.ports {
            if !(1..=65535).contains(&port.port) {
                fail(
                    "InvalidContainerPort",
                    format!("The port '{}' of container '{name}' is invalid.", port.port),
                );
            }
            container_ports.insert(port.port);
        }
        let mut env_names = BTreeSet::new();
        for env in &p.environment_variables {
            if env.name.is_empty() || !env_names.insert(env.name.as_str()) {
                fail(
                    "InvalidEnvironmentVariable",
                    format!(
                        "The environment variable '{}' of container '{name}' is empty or repeated.",
                        env.name
                    ),
                );
            }
        }
        let mounts = p.volume_mounts.iter();
        for mount in mounts {
            if !volume_names.contains(mount.name.as_str()) {
                fail(
                    "VolumeMountNotFound",
                    format!(
                        "The volume mount '{}' of container '{name}' names no volume of the group.",
                        mount.name
                    ),
                );
            }
        }
    }
    for init in &props.init_containers {
        for mount in &init.properties.volume_mounts {
            if !volume_names.contains(mount.name.as_str()) {
                fail(
                    "VolumeMountNotFound",
                    format!(
                        "The volume mount '{}' of init container '{}' names no volume.",
                        mount.name, init.name
                    ),
                );
            }
        }
    }
    if cpu > limits.max_cpu || memory > limits.max_memory_gb {
        fail(
            "ResourceRequestsExceedLimit",
            format!(
                "The requested resource (cpu {cpu}, memory {memory} GB) of the container group exceeds the limit \
                 (cpu {}, memory {} GB) of a container group in this region.",
                limits.max_cpu, limits.max_memory_gb
            ),
        );
    }

    if let Some(ip) = &props.ip_address {
        if ip.ports.is_empty() || ip.ports.len() > MAX_PORTS_PER_IP {
            fail(
                "InvalidIpAddressPorts",
                format!("An IP address must have between 1 and {MAX_PORTS_PER_IP} ports."),
            );
        }
        for port in &ip.ports {
            if !container_ports.contains(&port.port) {
                fail(
                    "InvalidIpAddressPorts",
                    format!(
                        "The IP address port '{}' is not exposed by any container of the group.",
                        port.port
                    ),
                );
            }
        }
        if ip.dns_name_label.is_some() && ip.kind == IpAddressType::Private {
            fail("DnsNameLabelNotSupported", "A DNS name label requires a public IP address.".into());
        }
    }

    match problems.first() {
        None => Ok(request),
        Some((code, message)) => {
            let mut error = ArmError::bad_request(code, message.clone());
            error.details = problems;
            Err(error)
        }
    }
}
