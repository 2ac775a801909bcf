//! The whole pod: metadata, pod-level settings, containers with their environment,
//! volumes and pull secrets, then the spec hash.

use k8s_openapi::api::core::v1::Pod as KubePod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use vk_proto::v1::{
    DnsConfig, DnsOption, DnsPolicy, HostAlias, OsType, Pod, PodMeta, PodSecurityContext, PodSpec,
    RestartPolicy,
};

use super::container::container;
use super::env::container_env;
use super::error::{ResolveError, ResolveWarning};
use super::fetch::Fetcher;
use super::hash::spec_hash;
use super::node_facts::NodeFacts;
use super::pull_secrets::registry_credentials;
use super::resolved::{Resolution, ResolvedPod};
use super::service_links::service_env;
use super::source::ObjectSource;
use super::volumes::resolve_volume;

/// Converts a Kubernetes time to a protobuf timestamp.
pub fn timestamp(time: &Time) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: time.0.as_second(), nanos: time.0.subsec_nanosecond() }
}

/// Resolves every reference of `pod` and builds the request for the backend.
pub async fn resolve_pod<S: ObjectSource>(
    source: &S,
    pod: &KubePod,
    facts: &NodeFacts,
) -> Result<Resolution, ResolveError> {
    let meta = &pod.metadata;
    let required = |value: &Option<String>, field: &str| {
        value
            .clone()
            .filter(|v| !v.is_empty())
            .ok_or_else(|| ResolveError::invalid("pod", format!("{field} is empty")))
    };
    let namespace = required(&meta.namespace, "metadata.namespace")?;
    let uid = required(&meta.uid, "metadata.uid")?;
    let name = required(&meta.name, "metadata.name")?;
    let spec = pod.spec.as_ref().ok_or_else(|| ResolveError::invalid("pod", "spec is missing"))?;

    let mut fetch = Fetcher::new(source, &namespace);
    let mut warnings: Vec<ResolveWarning> = Vec::new();
    let services = service_env(&mut fetch, spec.enable_service_links.unwrap_or(true)).await?;

    let mut init_containers = Vec::new();
    for (index, kube) in spec.init_containers.iter().flatten().enumerate() {
        let env = container_env(&mut fetch, pod, kube, facts, &services, &mut warnings).await?;
        init_containers.push(container(kube, env, &format!("spec.initContainers[{index}]"), Vec::new())?);
    }
    let mut containers = Vec::new();
    for (index, kube) in spec.containers.iter().enumerate() {
        let env = container_env(&mut fetch, pod, kube, facts, &services, &mut warnings).await?;
        containers.push(container(kube, env, &format!("spec.containers[{index}]"), Vec::new())?);
    }
    let mut volumes = Vec::new();
    let mut tokens = Vec::new();
    for (index, kube) in spec.volumes.iter().flatten().enumerate() {
        let resolved = resolve_volume(&mut fetch, pod, facts, kube).await?;
        tokens.extend(resolved.tokens.into_iter().map(|file| (index, file)));
        volumes.push(resolved.volume);
    }
    let image_registry_credentials = registry_credentials(
        &mut fetch,
        spec.image_pull_secrets.as_deref().unwrap_or_default(),
        &mut warnings,
    )
    .await?;

    let security = spec.security_context.as_ref();
    let mut proto = Pod {
        meta: Some(PodMeta {
            uid,
            namespace,
            name,
            labels: meta.labels.clone().unwrap_or_default().into_iter().collect(),
            annotations: meta.annotations.clone().unwrap_or_default().into_iter().collect(),
            creation_timestamp: meta.creation_timestamp.as_ref().map(timestamp),
            owners: meta
                .owner_references
                .iter()
                .flatten()
                .map(|o| format!("{}/{}", o.kind, o.name))
                .collect(),
        }),
        spec: Some(PodSpec {
            os: os(spec.os.as_ref().map(|o| o.name.as_str()), facts.os) as i32,
            init_containers,
            containers,
            volumes,
            restart_policy: restart_policy(spec.restart_policy.as_deref()) as i32,
            image_registry_credentials,
            dns_policy: dns_policy(spec.dns_policy.as_deref()) as i32,
            dns_config: spec.dns_config.as_ref().map(|d| DnsConfig {
                nameservers: d.nameservers.clone().unwrap_or_default(),
                searches: d.searches.clone().unwrap_or_default(),
                options: d
                    .options
                    .iter()
                    .flatten()
                    .map(|o| DnsOption { name: o.name.clone().unwrap_or_default(), value: o.value.clone() })
                    .collect(),
            }),
            hostname: spec.hostname.clone().unwrap_or_default(),
            subdomain: spec.subdomain.clone().unwrap_or_default(),
            termination_grace_period_seconds: spec.termination_grace_period_seconds,
            active_deadline_seconds: spec.active_deadline_seconds,
            service_account_name: spec.service_account_name.clone().unwrap_or_default(),
            host_network: spec.host_network.unwrap_or(false),
            host_pid: spec.host_pid.unwrap_or(false),
            host_ipc: spec.host_ipc.unwrap_or(false),
            share_process_namespace: spec.share_process_namespace.unwrap_or(false),
            security_context: security.map(|s| PodSecurityContext {
                run_as_user: s.run_as_user,
                run_as_group: s.run_as_group,
                run_as_non_root: s.run_as_non_root,
                fs_group: s.fs_group,
                supplemental_groups: s.supplemental_groups.clone().unwrap_or_default(),
                sysctls: s.sysctls.iter().flatten().map(|s| (s.name.clone(), s.value.clone())).collect(),
                seccomp_profile_type: s.seccomp_profile.as_ref().map(|p| p.type_.clone()).unwrap_or_default(),
            }),
            host_aliases: spec
                .host_aliases
                .iter()
                .flatten()
                .map(|a| HostAlias { ip: a.ip.clone(), hostnames: a.hostnames.clone().unwrap_or_default() })
                .collect(),
            priority_class_name: spec.priority_class_name.clone().unwrap_or_default(),
            runtime_class_name: spec.runtime_class_name.clone().unwrap_or_default(),
            other_features: other_features(spec),
        }),
        spec_hash: String::new(),
    };
    proto.spec_hash = spec_hash(&proto, &tokens);
    Ok(Resolution { pod: ResolvedPod::new(proto), warnings })
}

fn other_features(spec: &k8s_openapi::api::core::v1::PodSpec) -> Vec<String> {
    let mut features = Vec::new();
    let present = [
        ("spec.ephemeralContainers", spec.ephemeral_containers.as_ref().is_some_and(|c| !c.is_empty())),
        ("spec.readinessGates", spec.readiness_gates.as_ref().is_some_and(|g| !g.is_empty())),
        ("spec.resourceClaims", spec.resource_claims.as_ref().is_some_and(|c| !c.is_empty())),
        ("spec.hostUsers", spec.host_users == Some(false)),
        ("spec.resources", spec.resources.is_some()),
    ];
    for (path, is_present) in present {
        if is_present {
            features.push(path.to_owned());
        }
    }
    features
}

fn os(name: Option<&str>, node_os: OsType) -> OsType {
    match name {
        Some("linux") => OsType::Linux,
        Some("windows") => OsType::Windows,
        _ => node_os,
    }
}

fn restart_policy(name: Option<&str>) -> RestartPolicy {
    match name {
        Some("OnFailure") => RestartPolicy::OnFailure,
        Some("Never") => RestartPolicy::Never,
        Some("Always") => RestartPolicy::Always,
        _ => RestartPolicy::Unspecified,
    }
}

fn dns_policy(name: Option<&str>) -> DnsPolicy {
    match name {
        Some("ClusterFirst") => DnsPolicy::ClusterFirst,
        Some("ClusterFirstWithHostNet") => DnsPolicy::ClusterFirstWithHostNet,
        Some("Default") => DnsPolicy::Default,
        Some("None") => DnsPolicy::None,
        _ => DnsPolicy::Unspecified,
    }
}
