//! One container's fields for the backend: ports, resources as numbers, probes with named
//! ports resolved and defaults applied, mounts, security settings. The environment comes
//! from [`super::env`]; command, args and `subPathExpr` are expanded with it here.

use k8s_openapi::api::core::v1::{Container as KubeContainer, Probe as KubeProbe};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as KubeQuantity;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use vk_proto::v1::probe::Handler;
use vk_proto::v1::{
    Container, ContainerPort, EnvVar, ExecAction, GrpcAction, HttpGetAction, HttpHeader, Probe, Protocol,
    PullPolicy, ResourceList, ResourceRequirements, SecurityContext, TcpSocketAction, VolumeMount,
};

use super::error::ResolveError;
use super::expand::expand;
use super::quantity::{cpu_millis, whole_units};

/// Builds the backend's container from `container` and its final `env`.
pub fn container(
    container: &KubeContainer,
    env: Vec<EnvVar>,
    path: &str,
    other_features: Vec<String>,
) -> Result<Container, ResolveError> {
    let context = format!("container {:?}", container.name);
    let lookup = |name: &str| env.iter().find(|e| e.name == name).map(|e| e.value.as_str());
    let expand_all = |list: &Option<Vec<String>>| {
        list.iter().flatten().map(|item| expand(item, lookup)).collect::<Vec<_>>()
    };
    let command = expand_all(&container.command);
    let args = expand_all(&container.args);
    let ports: Vec<ContainerPort> = container
        .ports
        .iter()
        .flatten()
        .map(|p| ContainerPort {
            name: p.name.clone().unwrap_or_default(),
            container_port: p.container_port,
            protocol: protocol(p.protocol.as_deref()) as i32,
            host_port: p.host_port.unwrap_or(0),
        })
        .collect();
    let probe = |probe: &Option<KubeProbe>, which: &str| {
        probe.as_ref().map(|p| convert_probe(p, &ports, &format!("{context} {which}"))).transpose()
    };
    let volume_mounts = container
        .volume_mounts
        .iter()
        .flatten()
        .map(|m| VolumeMount {
            name: m.name.clone(),
            mount_path: m.mount_path.clone(),
            read_only: m.read_only.unwrap_or(false),
            sub_path: match m.sub_path_expr.as_deref().filter(|e| !e.is_empty()) {
                Some(expression) => expand(expression, lookup),
                None => m.sub_path.clone().unwrap_or_default(),
            },
        })
        .collect();
    let mut features = other_features;
    if container.volume_devices.as_ref().is_some_and(|d| !d.is_empty()) {
        features.push(format!("{path}.volumeDevices"));
    }
    if container.restart_policy.is_some() {
        features.push(format!("{path}.restartPolicy"));
    }
    let resources = container.resources.as_ref();
    Ok(Container {
        name: container.name.clone(),
        image: container.image.clone().unwrap_or_default(),
        command,
        args,
        working_dir: container.working_dir.clone().unwrap_or_default(),
        liveness_probe: probe(&container.liveness_probe, "livenessProbe")?,
        readiness_probe: probe(&container.readiness_probe, "readinessProbe")?,
        startup_probe: probe(&container.startup_probe, "startupProbe")?,
        resources: Some(ResourceRequirements {
            requests: resource_list(resources.and_then(|r| r.requests.as_ref()), &context)?,
            limits: resource_list(resources.and_then(|r| r.limits.as_ref()), &context)?,
        }),
        env,
        ports,
        volume_mounts,
        stdin: container.stdin.unwrap_or(false),
        stdin_once: container.stdin_once.unwrap_or(false),
        tty: container.tty.unwrap_or(false),
        image_pull_policy: pull_policy(container.image_pull_policy.as_deref()) as i32,
        security_context: container.security_context.as_ref().map(|s| SecurityContext {
            privileged: s.privileged,
            allow_privilege_escalation: s.allow_privilege_escalation,
            run_as_user: s.run_as_user,
            run_as_group: s.run_as_group,
            run_as_non_root: s.run_as_non_root,
            read_only_root_filesystem: s.read_only_root_filesystem,
            capabilities_add: s.capabilities.as_ref().and_then(|c| c.add.clone()).unwrap_or_default(),
            capabilities_drop: s.capabilities.as_ref().and_then(|c| c.drop.clone()).unwrap_or_default(),
            seccomp_profile_type: s.seccomp_profile.as_ref().map(|p| p.type_.clone()).unwrap_or_default(),
        }),
        has_lifecycle_hooks: container
            .lifecycle
            .as_ref()
            .is_some_and(|l| l.post_start.is_some() || l.pre_stop.is_some()),
        other_features: features,
    })
}

/// Normalized quantities of a Kubernetes resource list.
pub fn resource_list(
    list: Option<&std::collections::BTreeMap<String, KubeQuantity>>,
    context: &str,
) -> Result<Option<ResourceList>, ResolveError> {
    let Some(list) = list else { return Ok(None) };
    let mut out = ResourceList::default();
    for (name, quantity) in list {
        let invalid = |e: super::quantity::QuantityError| {
            ResolveError::invalid(context, format!("resource {name}: {e}"))
        };
        match name.as_str() {
            "cpu" => out.cpu_millis = Some(cpu_millis(&quantity.0).map_err(invalid)?),
            "memory" => out.memory_bytes = Some(whole_units(&quantity.0).map_err(invalid)?),
            "ephemeral-storage" => {
                out.ephemeral_storage_bytes = Some(whole_units(&quantity.0).map_err(invalid)?)
            }
            other => {
                out.extended.insert(other.to_owned(), whole_units(&quantity.0).map_err(invalid)?);
            }
        }
    }
    Ok(Some(out))
}

fn protocol(name: Option<&str>) -> Protocol {
    match name {
        Some("UDP") => Protocol::Udp,
        Some("SCTP") => Protocol::Sctp,
        _ => Protocol::Tcp,
    }
}

fn pull_policy(name: Option<&str>) -> PullPolicy {
    match name {
        Some("Always") => PullPolicy::Always,
        Some("IfNotPresent") => PullPolicy::IfNotPresent,
        Some("Never") => PullPolicy::Never,
        _ => PullPolicy::Unspecified,
    }
}

fn port_number(port: &IntOrString, ports: &[ContainerPort], context: &str) -> Result<i32, ResolveError> {
    match port {
        IntOrString::Int(number) => Ok(*number),
        IntOrString::String(name) => match name.parse::<i32>() {
            Ok(number) => Ok(number),
            Err(_) => ports.iter().find(|p| p.name == *name).map(|p| p.container_port).ok_or_else(|| {
                ResolveError::invalid(context, format!("port name {name:?} is not declared by the container"))
            }),
        },
    }
}

fn convert_probe(probe: &KubeProbe, ports: &[ContainerPort], context: &str) -> Result<Probe, ResolveError> {
    let handler = if let Some(exec) = &probe.exec {
        Handler::Exec(ExecAction { command: exec.command.clone().unwrap_or_default() })
    } else if let Some(http) = &probe.http_get {
        Handler::HttpGet(HttpGetAction {
            path: http.path.clone().unwrap_or_default(),
            port: port_number(&http.port, ports, context)?,
            scheme: http.scheme.clone().unwrap_or_else(|| "HTTP".to_owned()),
            host: http.host.clone().unwrap_or_default(),
            http_headers: http
                .http_headers
                .iter()
                .flatten()
                .map(|h| HttpHeader { name: h.name.clone(), value: h.value.clone() })
                .collect(),
        })
    } else if let Some(tcp) = &probe.tcp_socket {
        Handler::TcpSocket(TcpSocketAction {
            port: port_number(&tcp.port, ports, context)?,
            host: tcp.host.clone().unwrap_or_default(),
        })
    } else if let Some(grpc) = &probe.grpc {
        Handler::Grpc(GrpcAction { port: grpc.port, service: grpc.service.clone().unwrap_or_default() })
    } else {
        return Err(ResolveError::invalid(context, "the probe has no handler"));
    };
    Ok(Probe {
        handler: Some(handler),
        initial_delay_seconds: probe.initial_delay_seconds.unwrap_or(0),
        period_seconds: probe.period_seconds.unwrap_or(10),
        timeout_seconds: probe.timeout_seconds.unwrap_or(1),
        success_threshold: probe.success_threshold.unwrap_or(1),
        failure_threshold: probe.failure_threshold.unwrap_or(3),
    })
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{
        ContainerPort as KubePort, HTTPGetAction, TCPSocketAction, VolumeMount as KubeMount,
    };

    use super::*;

    fn web() -> KubeContainer {
        KubeContainer {
            name: "web".into(),
            image: Some("nginx".into()),
            command: Some(vec!["run".into(), "--greeting=$(GREETING)".into(), "$$(GREETING)".into()]),
            ports: Some(vec![KubePort {
                name: Some("http".into()),
                container_port: 8080,
                ..KubePort::default()
            }]),
            liveness_probe: Some(KubeProbe {
                http_get: Some(HTTPGetAction {
                    port: IntOrString::String("http".into()),
                    ..HTTPGetAction::default()
                }),
                ..KubeProbe::default()
            }),
            readiness_probe: Some(KubeProbe {
                tcp_socket: Some(TCPSocketAction { port: IntOrString::Int(9000), host: None }),
                period_seconds: Some(5),
                ..KubeProbe::default()
            }),
            volume_mounts: Some(vec![KubeMount {
                name: "data".into(),
                mount_path: "/data".into(),
                sub_path_expr: Some("logs/$(GREETING)".into()),
                ..KubeMount::default()
            }]),
            ..KubeContainer::default()
        }
    }

    fn env() -> Vec<EnvVar> {
        vec![EnvVar { name: "GREETING".into(), value: "hi".into(), secret: false }]
    }

    #[test]
    fn named_probe_ports_become_numbers_and_defaults_are_applied() {
        let built = container(&web(), env(), "spec.containers[0]", Vec::new()).expect("resolvable");
        let liveness = built.liveness_probe.expect("liveness probe");
        assert!(
            matches!(liveness.handler, Some(Handler::HttpGet(ref h)) if h.port == 8080 && h.scheme == "HTTP")
        );
        assert_eq!(
            (liveness.period_seconds, liveness.timeout_seconds, liveness.failure_threshold),
            (10, 1, 3)
        );
        let readiness = built.readiness_probe.expect("readiness probe");
        assert!(matches!(readiness.handler, Some(Handler::TcpSocket(ref t)) if t.port == 9000));
        assert_eq!(readiness.period_seconds, 5);
    }

    #[test]
    fn an_undeclared_port_name_is_a_permanent_error() {
        let mut broken = web();
        broken.ports = None;
        let error =
            container(&broken, env(), "spec.containers[0]", Vec::new()).expect_err("unknown port name");
        assert!(error.is_permanent());
        assert!(error.to_string().contains("\"http\""), "{error}");
    }

    #[test]
    fn command_and_sub_path_expr_are_expanded_with_the_environment() {
        let built = container(&web(), env(), "spec.containers[0]", Vec::new()).expect("resolvable");
        assert_eq!(built.command, ["run", "--greeting=hi", "$(GREETING)"]);
        assert_eq!(built.volume_mounts[0].sub_path, "logs/hi");
    }

    #[test]
    fn resources_are_normalized_numbers() {
        let list: std::collections::BTreeMap<String, KubeQuantity> = [
            ("cpu".to_owned(), KubeQuantity("1500m".into())),
            ("memory".into(), KubeQuantity("1Gi".into())),
            ("nvidia.com/gpu".into(), KubeQuantity("1".into())),
        ]
        .into();
        let normalized = resource_list(Some(&list), "c").expect("valid").expect("present");
        assert_eq!(normalized.cpu_millis, Some(1500));
        assert_eq!(normalized.memory_bytes, Some(1 << 30));
        assert_eq!(normalized.extended.get("nvidia.com/gpu"), Some(&1));
        let bad: std::collections::BTreeMap<String, KubeQuantity> =
            [("cpu".to_owned(), KubeQuantity("x".into()))].into();
        assert!(resource_list(Some(&bad), "c").is_err());
    }
}
