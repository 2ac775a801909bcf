//! Turns a Kubernetes pod manifest into the provider API's resolved `Pod`, the simple way:
//! only literal values. Anything that needs the Kubernetes API to resolve (valueFrom,
//! envFrom, imagePullSecrets, named probe ports) is refused with every problem listed;
//! volume kinds other than emptyDir and gitRepo are passed as `unsupported` for the backend
//! to judge.

use k8s_openapi::api::core::v1 as k8s;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use sha2::Digest;
use vk_proto::v1::{self as pb, volume::Source};

use super::quantity;

/// Why a manifest could not be turned into a pod.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// The YAML is not a pod manifest.
    #[error("parsing the pod manifest failed: {0}")]
    Parse(#[from] serde_yaml::Error),
    /// The manifest needs things vkctl cannot resolve.
    #[error("resolving the pod failed: {}", .0.join("; "))]
    Unresolvable(Vec<String>),
}

fn enum_value<T: Copy>(
    value: Option<&str>,
    table: &[(&str, T)],
    default: T,
    path: &str,
    problems: &mut Vec<String>,
) -> T {
    match value {
        None => default,
        Some(text) => table.iter().find(|(name, _)| *name == text).map(|(_, v)| *v).unwrap_or_else(|| {
            problems.push(format!("{path}: unknown value `{text}`"));
            default
        }),
    }
}

fn port(port: &IntOrString, path: &str, problems: &mut Vec<String>) -> i32 {
    match port {
        IntOrString::Int(number) => *number,
        IntOrString::String(name) => name.parse().unwrap_or_else(|_| {
            problems.push(format!("{path}: named port `{name}` is not resolved by vkctl; use a number"));
            0
        }),
    }
}

fn resource_list(
    list: Option<
        &std::collections::BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>,
    >,
    path: &str,
    problems: &mut Vec<String>,
) -> Option<pb::ResourceList> {
    let list = list?;
    let mut out = pb::ResourceList::default();
    for (name, value) in list {
        let parsed = match name.as_str() {
            "cpu" => quantity::cpu_millis(&value.0).map(|v| out.cpu_millis = Some(v)),
            "memory" => quantity::amount(&value.0).map(|v| out.memory_bytes = Some(v)),
            "ephemeral-storage" => quantity::amount(&value.0).map(|v| out.ephemeral_storage_bytes = Some(v)),
            other => quantity::amount(&value.0).map(|v| {
                out.extended.insert(other.to_owned(), v);
            }),
        };
        if let Err(error) = parsed {
            problems.push(format!("{path}.{name}: {error}"));
        }
    }
    Some(out)
}

fn probe(probe: Option<&k8s::Probe>, path: &str, problems: &mut Vec<String>) -> Option<pb::Probe> {
    let probe = probe?;
    let handler = if let Some(exec) = &probe.exec {
        Some(pb::probe::Handler::Exec(pb::ExecAction { command: exec.command.clone().unwrap_or_default() }))
    } else if let Some(http) = &probe.http_get {
        Some(pb::probe::Handler::HttpGet(pb::HttpGetAction {
            path: http.path.clone().unwrap_or_else(|| "/".into()),
            port: port(&http.port, &format!("{path}.httpGet.port"), problems),
            scheme: http.scheme.clone().unwrap_or_else(|| "HTTP".into()),
            host: http.host.clone().unwrap_or_default(),
            http_headers: http
                .http_headers
                .iter()
                .flatten()
                .map(|h| pb::HttpHeader { name: h.name.clone(), value: h.value.clone() })
                .collect(),
        }))
    } else if let Some(tcp) = &probe.tcp_socket {
        Some(pb::probe::Handler::TcpSocket(pb::TcpSocketAction {
            port: port(&tcp.port, &format!("{path}.tcpSocket.port"), problems),
            host: tcp.host.clone().unwrap_or_default(),
        }))
    } else {
        probe.grpc.as_ref().map(|grpc| {
            pb::probe::Handler::Grpc(pb::GrpcAction {
                port: grpc.port,
                service: grpc.service.clone().unwrap_or_default(),
            })
        })
    };
    Some(pb::Probe {
        handler,
        initial_delay_seconds: probe.initial_delay_seconds.unwrap_or(0),
        period_seconds: probe.period_seconds.unwrap_or(10),
        timeout_seconds: probe.timeout_seconds.unwrap_or(1),
        success_threshold: probe.success_threshold.unwrap_or(1),
        failure_threshold: probe.failure_threshold.unwrap_or(3),
    })
}

fn container(c: &k8s::Container, path: &str, problems: &mut Vec<String>) -> pb::Container {
    let mut env = Vec::new();
    for (i, var) in c.env.iter().flatten().enumerate() {
        if var.value_from.is_some() {
            problems.push(format!(
                "{path}.env[{i}].valueFrom: vkctl only resolves literal values (variable {})",
                var.name
            ));
        }
        env.retain(|e: &pb::EnvVar| e.name != var.name);
        env.push(pb::EnvVar {
            name: var.name.clone(),
            value: var.value.clone().unwrap_or_default(),
            secret: false,
        });
    }
    if c.env_from.as_ref().is_some_and(|e| !e.is_empty()) {
        problems.push(format!("{path}.envFrom: vkctl only resolves literal values"));
    }
    let protocols = [("TCP", pb::Protocol::Tcp), ("UDP", pb::Protocol::Udp), ("SCTP", pb::Protocol::Sctp)];
    let ports = c
        .ports
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, p)| pb::ContainerPort {
            name: p.name.clone().unwrap_or_default(),
            container_port: p.container_port,
            protocol: enum_value(
                p.protocol.as_deref(),
                &protocols,
                pb::Protocol::Tcp,
                &format!("{path}.ports[{i}].protocol"),
                problems,
            ) as i32,
            host_port: p.host_port.unwrap_or(0),
        })
        .collect();
    let pull = [
        ("Always", pb::PullPolicy::Always),
        ("IfNotPresent", pb::PullPolicy::IfNotPresent),
        ("Never", pb::PullPolicy::Never),
    ];
    let resources = c.resources.as_ref().map(|r| pb::ResourceRequirements {
        requests: resource_list(r.requests.as_ref(), &format!("{path}.resources.requests"), problems),
        limits: resource_list(r.limits.as_ref(), &format!("{path}.resources.limits"), problems),
    });
    let security_context = c.security_context.as_ref().map(|s| pb::SecurityContext {
        privileged: s.privileged,
        allow_privilege_escalation: s.allow_privilege_escalation,
        run_as_user: s.run_as_user,
        run_as_group: s.run_as_group,
        run_as_non_root: s.run_as_non_root,
        read_only_root_filesystem: s.read_only_root_filesystem,
        capabilities_add: s.capabilities.as_ref().and_then(|c| c.add.clone()).unwrap_or_default(),
        capabilities_drop: s.capabilities.as_ref().and_then(|c| c.drop.clone()).unwrap_or_default(),
        seccomp_profile_type: s.seccomp_profile.as_ref().map(|p| p.type_.clone()).unwrap_or_default(),
    });
    pb::Container {
        name: c.name.clone(),
        image: c.image.clone().unwrap_or_default(),
        command: c.command.clone().unwrap_or_default(),
        args: c.args.clone().unwrap_or_default(),
        working_dir: c.working_dir.clone().unwrap_or_default(),
        env,
        ports,
        resources,
        volume_mounts: c
            .volume_mounts
            .iter()
            .flatten()
            .map(|m| pb::VolumeMount {
                name: m.name.clone(),
                mount_path: m.mount_path.clone(),
                read_only: m.read_only.unwrap_or(false),
                sub_path: m.sub_path.clone().unwrap_or_default(),
            })
            .collect(),
        liveness_probe: probe(c.liveness_probe.as_ref(), &format!("{path}.livenessProbe"), problems),
        readiness_probe: probe(c.readiness_probe.as_ref(), &format!("{path}.readinessProbe"), problems),
        startup_probe: probe(c.startup_probe.as_ref(), &format!("{path}.startupProbe"), problems),
        stdin: c.stdin.unwrap_or(false),
        stdin_once: c.stdin_once.unwrap_or(false),
        tty: c.tty.unwrap_or(false),
        image_pull_policy: enum_value(
            c.image_pull_policy.as_deref(),
            &pull,
            pb::PullPolicy::Unspecified,
            &format!("{path}.imagePullPolicy"),
            problems,
        ) as i32,
        security_context,
        has_lifecycle_hooks: c.lifecycle.is_some(),
        other_features: Vec::new(),
    }
}

fn volume(v: &k8s::Volume, path: &str, problems: &mut Vec<String>) -> pb::Volume {
    let source = if let Some(empty) = &v.empty_dir {
        let size_limit_bytes = empty.size_limit.as_ref().and_then(|q| {
            quantity::amount(&q.0).map_err(|e| problems.push(format!("{path}.emptyDir.sizeLimit: {e}"))).ok()
        });
        Source::EmptyDir(pb::EmptyDirVolume {
            medium: empty.medium.clone().unwrap_or_default(),
            size_limit_bytes,
        })
    } else if let Some(git) = &v.git_repo {
        Source::GitRepo(pb::GitRepoVolume {
            repository: git.repository.clone(),
            directory: git.directory.clone().unwrap_or_default(),
            revision: git.revision.clone().unwrap_or_default(),
        })
    } else {
        let json = serde_json::to_value(v).unwrap_or_default();
        let kind = json
            .as_object()
            .and_then(|o| o.keys().find(|k| *k != "name").cloned())
            .unwrap_or_else(|| "unknown".into());
        Source::Unsupported(pb::UnsupportedVolume {
            detail: format!("vkctl does not resolve {kind} volumes"),
            kind,
        })
    };
    pb::Volume { name: v.name.clone(), source: Some(source) }
}

/// The resolved pod of a YAML manifest. `uid` replaces a missing `metadata.uid`.
pub fn pod_from_yaml(yaml: &str, uid: &str) -> Result<pb::Pod, ResolveError> {
    let manifest: k8s::Pod = serde_yaml::from_str(yaml)?;
    let mut problems = Vec::new();
    let metadata = manifest.metadata;
    let name = metadata.name.clone().unwrap_or_default();
    if name.is_empty() {
        problems.push("metadata.name: required".to_owned());
    }
    let meta = pb::PodMeta {
        uid: metadata.uid.clone().unwrap_or_else(|| uid.to_owned()),
        namespace: metadata.namespace.clone().unwrap_or_else(|| "default".into()),
        name,
        labels: metadata.labels.clone().unwrap_or_default().into_iter().collect(),
        annotations: metadata.annotations.clone().unwrap_or_default().into_iter().collect(),
        creation_timestamp: Some(std::time::SystemTime::now().into()),
        owners: metadata
            .owner_references
            .iter()
            .flatten()
            .map(|o| format!("{}/{}", o.kind, o.name))
            .collect(),
    };
    let spec = manifest.spec.unwrap_or_default();
    if spec.image_pull_secrets.as_ref().is_some_and(|s| !s.is_empty()) {
        problems.push("spec.imagePullSecrets: vkctl cannot read Secrets".to_owned());
    }
    let os = match spec.os.as_ref().map(|o| o.name.as_str()) {
        Some("windows") => pb::OsType::Windows,
        Some("linux") => pb::OsType::Linux,
        _ => pb::OsType::Unspecified,
    };
    let restart = [
        ("Always", pb::RestartPolicy::Always),
        ("OnFailure", pb::RestartPolicy::OnFailure),
        ("Never", pb::RestartPolicy::Never),
    ];
    let dns = [
        ("ClusterFirst", pb::DnsPolicy::ClusterFirst),
        ("ClusterFirstWithHostNet", pb::DnsPolicy::ClusterFirstWithHostNet),
        ("Default", pb::DnsPolicy::Default),
        ("None", pb::DnsPolicy::None),
    ];
    let init_containers = spec
        .init_containers
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, c)| container(c, &format!("spec.initContainers[{i}]"), &mut problems))
        .collect();
    let containers = spec
        .containers
        .iter()
        .enumerate()
        .map(|(i, c)| container(c, &format!("spec.containers[{i}]"), &mut problems))
        .collect();
    let volumes = spec
        .volumes
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, v)| volume(v, &format!("spec.volumes[{i}]"), &mut problems))
        .collect();
    let security_context = spec.security_context.as_ref().map(|s| pb::PodSecurityContext {
        run_as_user: s.run_as_user,
        run_as_group: s.run_as_group,
        run_as_non_root: s.run_as_non_root,
        fs_group: s.fs_group,
        supplemental_groups: s.supplemental_groups.clone().unwrap_or_default(),
        sysctls: s.sysctls.iter().flatten().map(|s| (s.name.clone(), s.value.clone())).collect(),
        seccomp_profile_type: s.seccomp_profile.as_ref().map(|p| p.type_.clone()).unwrap_or_default(),
    });
    let spec = pb::PodSpec {
        os: os as i32,
        init_containers,
        containers,
        volumes,
        restart_policy: enum_value(
            spec.restart_policy.as_deref(),
            &restart,
            pb::RestartPolicy::Always,
            "spec.restartPolicy",
            &mut problems,
        ) as i32,
        image_registry_credentials: Vec::new(),
        dns_policy: enum_value(
            spec.dns_policy.as_deref(),
            &dns,
            pb::DnsPolicy::ClusterFirst,
            "spec.dnsPolicy",
            &mut problems,
        ) as i32,
        dns_config: spec.dns_config.as_ref().map(|d| pb::DnsConfig {
            nameservers: d.nameservers.clone().unwrap_or_default(),
            searches: d.searches.clone().unwrap_or_default(),
            options: d
                .options
                .iter()
                .flatten()
                .map(|o| pb::DnsOption { name: o.name.clone().unwrap_or_default(), value: o.value.clone() })
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
        security_context,
        host_aliases: spec
            .host_aliases
            .iter()
            .flatten()
            .map(|h| pb::HostAlias { ip: h.ip.clone(), hostnames: h.hostnames.clone().unwrap_or_default() })
            .collect(),
        priority_class_name: spec.priority_class_name.clone().unwrap_or_default(),
        runtime_class_name: spec.runtime_class_name.clone().unwrap_or_default(),
        other_features: Vec::new(),
    };
    if !problems.is_empty() {
        return Err(ResolveError::Unresolvable(problems));
    }
    let mut digest = sha2::Sha256::new();
    digest.update(prost::Message::encode_to_vec(&meta));
    digest.update(prost::Message::encode_to_vec(&spec));
    let spec_hash = hex::encode(digest.finalize());
    Ok(pb::Pod { meta: Some(meta), spec: Some(spec), spec_hash })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NGINX: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
  labels: {app: web}
spec:
  restartPolicy: OnFailure
  containers:
  - name: nginx
    image: nginx:1.27
    env:
    - {name: MODE, value: production}
    ports:
    - containerPort: 80
    resources:
      requests: {cpu: 250m, memory: 64Mi}
  volumes:
  - name: cache
    emptyDir: {}
  - name: data
    persistentVolumeClaim: {claimName: data}
"#;

    #[test]
    fn a_manifest_becomes_a_resolved_pod() {
        let pod = pod_from_yaml(NGINX, "uid-1").expect("resolvable");
        let meta = pod.meta.expect("meta");
        assert_eq!(
            (meta.uid.as_str(), meta.namespace.as_str(), meta.name.as_str()),
            ("uid-1", "shop", "web")
        );
        let spec = pod.spec.expect("spec");
        assert_eq!(spec.restart_policy, pb::RestartPolicy::OnFailure as i32);
        let nginx = &spec.containers[0];
        assert_eq!(
            nginx.env,
            vec![pb::EnvVar { name: "MODE".into(), value: "production".into(), secret: false }]
        );
        let requests = nginx.resources.clone().and_then(|r| r.requests).expect("requests");
        assert_eq!((requests.cpu_millis, requests.memory_bytes), (Some(250), Some(64 << 20)));
        assert!(
            matches!(&spec.volumes[1].source, Some(Source::Unsupported(u)) if u.kind == "persistentVolumeClaim")
        );
        assert_eq!(pod.spec_hash.len(), 64);
    }

    #[test]
    fn references_are_refused_with_every_problem() {
        let yaml = NGINX.replace(
            "- {name: MODE, value: production}",
            "- {name: MODE, valueFrom: {configMapKeyRef: {name: c, key: k}}}",
        ) + "  imagePullSecrets: [{name: pull}]\n";
        let Err(ResolveError::Unresolvable(problems)) = pod_from_yaml(&yaml, "u") else {
            panic!("must be refused")
        };
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("spec.imagePullSecrets"));
        assert!(problems[1].starts_with("spec.containers[0].env[0].valueFrom"));
    }
}
