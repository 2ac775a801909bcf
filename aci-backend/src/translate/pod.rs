//! The whole pod to one container group: pod-level checks, then containers, volumes,
//! networking, SKU, priority, identity, credentials and tags.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use vk_proto::v1;

use super::annotations::{self, AciOptions};
use super::config::{GroupOs, TranslateConfig};
use super::containers::{self, PodContext, spec_path};
use super::naming::group_name;
use super::problems::{Findings, Refusal};
use super::{network, resources, tags, volumes};
use crate::model::{
    ConfidentialComputeProperties, ContainerGroup, ContainerGroupIdentity, ContainerGroupProperties,
    ImageRegistryCredential, UserAssignedIdentity,
};

/// A translated pod.
#[derive(Debug, Clone)]
pub struct Translation {
    /// Container group name.
    pub name: String,
    /// The PUT body.
    pub group: ContainerGroup,
    /// Settings ACI ignores, as `path: why` sentences for provider events.
    pub warnings: Vec<String>,
}

fn pod_os(spec: &v1::PodSpec, node_os: GroupOs, findings: &mut Findings) -> GroupOs {
    let wanted = match v1::OsType::try_from(spec.os).unwrap_or(v1::OsType::Unspecified) {
        v1::OsType::Unspecified => node_os,
        v1::OsType::Linux => GroupOs::Linux,
        v1::OsType::Windows => GroupOs::Windows,
    };
    if wanted != node_os {
        findings
            .refuse("spec.os.name", format!("this virtual node runs {} container groups", node_os.as_arm()));
    }
    node_os
}

fn pod_level_checks(spec: &v1::PodSpec, limits_containers: usize, findings: &mut Findings) {
    if spec.containers.is_empty() {
        findings.refuse("spec.containers", "a pod needs at least one container");
    }
    if spec.containers.len() > limits_containers {
        findings.refuse(
            "spec.containers",
            format!("{} containers; ACI allows at most {limits_containers} per group", spec.containers.len()),
        );
    }
    let flags = [
        (spec.host_network, "spec.hostNetwork", "ACI has no host network to share"),
        (spec.host_pid, "spec.hostPID", "ACI has no host process namespace to share"),
        (spec.host_ipc, "spec.hostIPC", "ACI has no host IPC namespace to share"),
        (
            spec.share_process_namespace,
            "spec.shareProcessNamespace",
            "ACI containers cannot share a process namespace",
        ),
        (!spec.host_aliases.is_empty(), "spec.hostAliases", "ACI cannot add entries to /etc/hosts"),
        (
            !spec.runtime_class_name.is_empty(),
            "spec.runtimeClassName",
            "ACI has one runtime; use aci.vk.io/sku for confidential",
        ),
    ];
    for (set, path, why) in flags {
        if set {
            findings.refuse(path, why);
        }
    }
    if let Some(sc) = spec.security_context.as_ref() {
        if !sc.supplemental_groups.is_empty() {
            findings.refuse("spec.securityContext.supplementalGroups", "ACI cannot add supplemental groups");
        }
        if !sc.sysctls.is_empty() {
            findings.refuse("spec.securityContext.sysctls", "ACI cannot set sysctls");
        }
        if sc.fs_group.is_some() {
            findings
                .warn("spec.securityContext.fsGroup", "not applied: ACI does not change volume ownership");
        }
    }
    for feature in &spec.other_features {
        findings.refuse(spec_path(feature), "not supported on ACI");
    }
    if !spec.hostname.is_empty() || !spec.subdomain.is_empty() {
        findings.warn("spec.hostname", "not applied: ACI chooses the container group's host name");
    }
}

fn identity(options: &AciOptions) -> Option<ContainerGroupIdentity> {
    let identity_type = match (options.system_identity, options.user_identities.is_empty()) {
        (false, true) => return None,
        (true, true) => "SystemAssigned",
        (false, false) => "UserAssigned",
        (true, false) => "SystemAssigned, UserAssigned",
    };
    Some(ContainerGroupIdentity {
        identity_type: identity_type.to_string(),
        user_assigned_identities: options
            .user_identities
            .iter()
            .map(|id| (id.clone(), UserAssignedIdentity::default()))
            .collect::<BTreeMap<_, _>>(),
        ..Default::default()
    })
}

fn restart_policy(spec: &v1::PodSpec) -> &'static str {
    match v1::RestartPolicy::try_from(spec.restart_policy).unwrap_or(v1::RestartPolicy::Unspecified) {
        v1::RestartPolicy::Unspecified | v1::RestartPolicy::Always => "Always",
        v1::RestartPolicy::OnFailure => "OnFailure",
        v1::RestartPolicy::Never => "Never",
    }
}

/// Translates a resolved pod into the container group that runs it, or refuses it with every
/// problem found. `accepted_at` is when the backend first accepted the pod (kept across updates).
pub fn translate(
    pod: &v1::Pod,
    config: &TranslateConfig,
    accepted_at: DateTime<Utc>,
) -> Result<Translation, Refusal> {
    let mut findings = Findings::default();
    let empty_meta = v1::PodMeta::default();
    let meta = pod.meta.as_ref().unwrap_or(&empty_meta);
    for (value, path) in
        [(&meta.uid, "metadata.uid"), (&meta.namespace, "metadata.namespace"), (&meta.name, "metadata.name")]
    {
        if value.is_empty() {
            findings.refuse(path, "required");
        }
    }
    let empty_spec = v1::PodSpec::default();
    let spec = pod.spec.as_ref().unwrap_or(&empty_spec);
    let options = annotations::read(&meta.annotations, &mut findings);
    let os = pod_os(spec, config.node_os, &mut findings);
    if os == GroupOs::Windows && (options.confidential || options.spot) {
        findings
            .refuse("metadata.annotations", "ACI offers the Confidential SKU and Spot only for Linux groups");
    }
    if options.confidential && options.spot {
        findings.refuse(
            format!("metadata.annotations[{}]", annotations::PRIORITY),
            "ACI has no confidential Spot groups",
        );
    }
    pod_level_checks(spec, config.limits.max_containers, &mut findings);

    let plan = volumes::plan(&spec.volumes, os, config.limits.max_volumes, &mut findings);
    let ctx = PodContext {
        os,
        confidential: options.confidential,
        pod_security: spec.security_context.as_ref(),
        volumes: &plan,
    };
    let (cpu, memory) = (config.default_cpu_millis, config.default_memory_bytes);
    let path_of = |kind: &str, i: usize| format!("spec.{kind}[{i}]");
    let init_sizes: Vec<_> = spec
        .init_containers
        .iter()
        .enumerate()
        .map(|(i, c)| {
            resources::size(c.resources.as_ref(), cpu, memory, &path_of("initContainers", i), &mut findings)
        })
        .collect();
    let mut sizes: Vec<_> = spec
        .containers
        .iter()
        .enumerate()
        .map(|(i, c)| {
            resources::size(c.resources.as_ref(), cpu, memory, &path_of("containers", i), &mut findings)
        })
        .collect();
    resources::fit_group(
        &mut sizes,
        &init_sizes,
        config.limits.max_cpu_cores,
        config.limits.max_memory_gb,
        &mut findings,
    );
    let init_containers = spec
        .init_containers
        .iter()
        .enumerate()
        .map(|(i, c)| containers::init_container(c, &ctx, &path_of("initContainers", i), &mut findings))
        .collect();
    let app_containers: Vec<_> = spec
        .containers
        .iter()
        .zip(&sizes)
        .enumerate()
        .map(|(i, (c, s))| containers::container(c, s, &ctx, &path_of("containers", i), &mut findings))
        .collect();

    let addressing = network::addressing(&app_containers, &options, &config.subnet_ids, &mut findings);
    let in_vnet = !addressing.subnet_ids.is_empty();
    let dns_config =
        network::dns_config(spec, &meta.namespace, config.cluster_dns.as_ref(), in_vnet, &mut findings);
    let tags = tags::tags(pod, &config.cluster_id, &config.node_name, accepted_at, &mut findings);
    let group = ContainerGroup {
        location: config.location.clone(),
        tags,
        identity: identity(&options),
        properties: ContainerGroupProperties {
            containers: app_containers,
            init_containers,
            image_registry_credentials: spec
                .image_registry_credentials
                .iter()
                .map(|r| ImageRegistryCredential {
                    server: r.server.clone(),
                    username: (!r.username.is_empty()).then(|| r.username.clone()),
                    password: (!r.password.is_empty()).then(|| r.password.clone()),
                })
                .collect(),
            restart_policy: Some(restart_policy(spec).to_string()),
            ip_address: addressing.ip_address,
            os_type: Some(os.as_arm().to_string()),
            volumes: plan.volumes,
            subnet_ids: addressing.subnet_ids,
            dns_config,
            sku: Some(if options.confidential { "Confidential" } else { "Standard" }.to_string()),
            confidential_compute_properties: options
                .cce_policy
                .clone()
                .map(|p| ConfidentialComputeProperties { cce_policy: Some(p) }),
            priority: options.spot.then(|| "Spot".to_string()),
            ..Default::default()
        },
        ..Default::default()
    };
    let warnings = findings.finish()?;
    Ok(Translation {
        name: group_name(&config.cluster_id, &meta.namespace, &meta.name, &meta.uid),
        group,
        warnings,
    })
}
