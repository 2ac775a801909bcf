//! One Kubernetes container to one ACI container (or init container): command line,
//! environment, ports, probes, mounts and security settings.

use vk_proto::v1;

use super::config::GroupOs;
use super::probes::probe;
use super::problems::Findings;
use super::resources::{self, Sized};
use super::volumes::VolumePlan;
use crate::model::{
    Container, ContainerPort, ContainerProperties, EnvironmentVariable, InitContainer,
    InitContainerProperties, SecurityContext, SecurityContextCapabilities,
};

/// What a container's translation needs from the pod.
pub(crate) struct PodContext<'a> {
    pub os: GroupOs,
    pub confidential: bool,
    pub pod_security: Option<&'a v1::PodSecurityContext>,
    pub volumes: &'a VolumePlan,
}

/// ACI's command is the whole command line: Kubernetes `command` followed by `args`.
fn command_line(c: &v1::Container, path: &str, findings: &mut Findings) -> Vec<String> {
    if c.command.is_empty() && !c.args.is_empty() {
        findings.refuse(
            format!("{path}.args"),
            "ACI replaces the image's entrypoint and arguments together, so arguments need the entrypoint in \
             `command` as well",
        );
    }
    c.command.iter().chain(c.args.iter()).cloned().collect()
}

/// Secret-sourced values go in `secureValue`, which ARM never returns or logs.
fn environment(c: &v1::Container) -> Vec<EnvironmentVariable> {
    c.env
        .iter()
        .map(|e| EnvironmentVariable {
            name: e.name.clone(),
            value: (!e.secret).then(|| e.value.clone()),
            secure_value: e.secret.then(|| e.value.clone()),
        })
        .collect()
}

fn ports(c: &v1::Container, path: &str, findings: &mut Findings) -> Vec<ContainerPort> {
    let mut out: Vec<ContainerPort> = Vec::new();
    for (i, p) in c.ports.iter().enumerate() {
        let path = format!("{path}.ports[{i}]");
        let protocol = match v1::Protocol::try_from(p.protocol).unwrap_or(v1::Protocol::Unspecified) {
            v1::Protocol::Unspecified | v1::Protocol::Tcp => "TCP",
            v1::Protocol::Udp => "UDP",
            v1::Protocol::Sctp => {
                findings.refuse(format!("{path}.protocol"), "ACI exposes only TCP and UDP ports");
                continue;
            }
        };
        if !(1..=65535).contains(&p.container_port) {
            findings.refuse(format!("{path}.containerPort"), "a port is between 1 and 65535");
            continue;
        }
        if p.host_port != 0 && p.host_port != p.container_port {
            findings.refuse(
                format!("{path}.hostPort"),
                "ACI has no host to map ports on; the group's IP exposes containerPort itself",
            );
        }
        let port = ContainerPort { protocol: Some(protocol.to_string()), port: p.container_port };
        if !out.contains(&port) {
            out.push(port);
        }
    }
    out
}

fn security(
    c: &v1::Container,
    ctx: &PodContext<'_>,
    path: &str,
    findings: &mut Findings,
) -> Option<SecurityContext> {
    let none = v1::SecurityContext::default();
    let sc = c.security_context.as_ref().unwrap_or(&none);
    let pod = ctx.pod_security;
    let run_as_user = sc.run_as_user.or(pod.and_then(|p| p.run_as_user));
    let run_as_group = sc.run_as_group.or(pod.and_then(|p| p.run_as_group));
    let run_as_non_root = sc.run_as_non_root.or(pod.and_then(|p| p.run_as_non_root));
    let path = format!("{path}.securityContext");
    if sc.read_only_root_filesystem == Some(true) {
        findings.refuse(
            format!("{path}.readOnlyRootFilesystem"),
            "ACI cannot make the root filesystem read-only",
        );
    }
    if sc.privileged == Some(true) && !ctx.confidential {
        findings.refuse(
            format!("{path}.privileged"),
            "ACI runs privileged containers only in the Confidential SKU (annotation aci.vk.io/sku: Confidential)",
        );
    }
    if run_as_non_root == Some(true) && run_as_user.is_none_or(|u| u == 0) {
        findings.refuse(
            format!("{path}.runAsNonRoot"),
            "ACI cannot check the image's user; set runAsUser to a non-zero user id as well",
        );
    }
    let seccomp = if sc.seccomp_profile_type.is_empty() {
        pod.map(|p| p.seccomp_profile_type.as_str()).unwrap_or("")
    } else {
        sc.seccomp_profile_type.as_str()
    };
    if !matches!(seccomp, "" | "RuntimeDefault") {
        findings.refuse(format!("{path}.seccompProfile"), "ACI applies only its default seccomp profile");
    }
    let mut id = |value: Option<i64>, field: &str| {
        value.and_then(|v| match i32::try_from(v) {
            Ok(v) => Some(v),
            Err(_) => {
                findings.refuse(format!("{path}.{field}"), "ACI takes ids up to 2147483647");
                None
            }
        })
    };
    let out = SecurityContext {
        privileged: sc.privileged,
        allow_privilege_escalation: sc.allow_privilege_escalation,
        capabilities: (!sc.capabilities_add.is_empty() || !sc.capabilities_drop.is_empty()).then(|| {
            SecurityContextCapabilities {
                add: sc.capabilities_add.clone(),
                drop: sc.capabilities_drop.clone(),
            }
        }),
        run_as_user: id(run_as_user, "runAsUser"),
        run_as_group: id(run_as_group, "runAsGroup"),
    };
    if out == SecurityContext::default() {
        return None;
    }
    if ctx.os == GroupOs::Windows {
        findings.refuse(path, "ACI applies security settings only to Linux containers");
        return None;
    }
    Some(out)
}

/// Problems every container kind shares.
fn common_checks(c: &v1::Container, path: &str, findings: &mut Findings) {
    if c.image.is_empty() {
        findings.refuse(format!("{path}.image"), "an image is required");
    }
    if !c.working_dir.is_empty() {
        findings.refuse(
            format!("{path}.workingDir"),
            "ACI has no working directory setting; set it in the image",
        );
    }
    for feature in &c.other_features {
        findings.refuse(spec_path(feature), "not supported on ACI");
    }
    if c.has_lifecycle_hooks {
        findings.warn(format!("{path}.lifecycle"), "ACI does not run postStart or preStop hooks");
    }
}

/// Paths the agent names relative to the pod spec get the `spec.` prefix.
pub(crate) fn spec_path(feature: &str) -> String {
    if feature.starts_with("spec.") { feature.to_string() } else { format!("spec.{feature}") }
}

/// An app container.
pub(crate) fn container(
    c: &v1::Container,
    sized: &Sized,
    ctx: &PodContext<'_>,
    path: &str,
    findings: &mut Findings,
) -> Container {
    common_checks(c, path, findings);
    if c.startup_probe.is_some() {
        findings.refuse(format!("{path}.startupProbe"), "ACI has no startup probes; use initialDelaySeconds");
    }
    let liveness =
        c.liveness_probe.as_ref().and_then(|p| probe(p, &format!("{path}.livenessProbe"), findings));
    let readiness =
        c.readiness_probe.as_ref().and_then(|p| probe(p, &format!("{path}.readinessProbe"), findings));
    Container {
        name: c.name.clone(),
        properties: ContainerProperties {
            image: c.image.clone(),
            command: command_line(c, path, findings),
            ports: ports(c, path, findings),
            environment_variables: environment(c),
            instance_view: None,
            resources: resources::to_arm(sized),
            volume_mounts: ctx.volumes.mounts(&c.volume_mounts, path, findings),
            liveness_probe: liveness,
            readiness_probe: readiness,
            security_context: security(c, ctx, path, findings),
        },
    }
}

/// An init container: ACI gives it no ports, probes or resources of its own (it runs within
/// the group's), so declared ports are ignored and probes cannot occur (Kubernetes forbids them).
pub(crate) fn init_container(
    c: &v1::Container,
    ctx: &PodContext<'_>,
    path: &str,
    findings: &mut Findings,
) -> InitContainer {
    common_checks(c, path, findings);
    InitContainer {
        name: c.name.clone(),
        properties: InitContainerProperties {
            image: c.image.clone(),
            command: command_line(c, path, findings),
            environment_variables: environment(c),
            instance_view: None,
            volume_mounts: ctx.volumes.mounts(&c.volume_mounts, path, findings),
            security_context: security(c, ctx, path, findings),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(plan: &VolumePlan) -> PodContext<'_> {
        PodContext { os: GroupOs::Linux, confidential: false, pod_security: None, volumes: plan }
    }

    fn app(command: &[&str], args: &[&str]) -> v1::Container {
        v1::Container {
            name: "app".into(),
            image: "nginx".into(),
            command: command.iter().map(|s| s.to_string()).collect(),
            args: args.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn command_and_args_are_concatenated() {
        let plan = VolumePlan::default();
        let mut findings = Findings::default();
        let c =
            container(&app(&["sh", "-c"], &["echo hi"]), &Sized::default(), &ctx(&plan), "c", &mut findings);
        assert_eq!(c.properties.command, vec!["sh", "-c", "echo hi"]);
    }

    #[test]
    fn args_without_a_command_are_refused() {
        let plan = VolumePlan::default();
        let mut findings = Findings::default();
        container(
            &app(&[], &["--flag"]),
            &Sized::default(),
            &ctx(&plan),
            "spec.containers[0]",
            &mut findings,
        );
        assert_eq!(findings.finish().expect_err("args alone").problems[0].path, "spec.containers[0].args");
    }

    #[test]
    fn a_secret_env_var_is_a_secure_value_and_never_a_value() {
        let plan = VolumePlan::default();
        let mut findings = Findings::default();
        let mut c = app(&[], &[]);
        c.env = vec![
            v1::EnvVar { name: "PLAIN".into(), value: "p".into(), secret: false },
            v1::EnvVar { name: "TOKEN".into(), value: "s3cr3t".into(), secret: true },
        ];
        let out = container(&c, &Sized::default(), &ctx(&plan), "c", &mut findings);
        let env = &out.properties.environment_variables;
        assert_eq!((env[0].value.as_deref(), env[0].secure_value.as_deref()), (Some("p"), None));
        assert_eq!((env[1].value.as_deref(), env[1].secure_value.as_deref()), (None, Some("s3cr3t")));
        assert!(!format!("{env:?}").contains("s3cr3t"), "debug output must hide secure values");
    }

    #[test]
    fn sctp_host_ports_and_privileged_are_all_refused() {
        let plan = VolumePlan::default();
        let mut findings = Findings::default();
        let mut c = app(&[], &[]);
        c.ports = vec![
            v1::ContainerPort { name: String::new(), container_port: 80, protocol: 3, host_port: 0 },
            v1::ContainerPort { name: String::new(), container_port: 81, protocol: 1, host_port: 8081 },
        ];
        c.security_context = Some(v1::SecurityContext { privileged: Some(true), ..Default::default() });
        container(&c, &Sized::default(), &ctx(&plan), "spec.containers[0]", &mut findings);
        let paths: Vec<_> =
            findings.finish().expect_err("three problems").problems.into_iter().map(|p| p.path).collect();
        assert_eq!(
            paths,
            vec![
                "spec.containers[0].ports[0].protocol",
                "spec.containers[0].ports[1].hostPort",
                "spec.containers[0].securityContext.privileged"
            ]
        );
    }

    #[test]
    fn pod_run_as_user_applies_to_containers() {
        let plan = VolumePlan::default();
        let mut findings = Findings::default();
        let pod = v1::PodSecurityContext {
            run_as_user: Some(1000),
            run_as_non_root: Some(true),
            ..Default::default()
        };
        let context = PodContext { pod_security: Some(&pod), ..ctx(&plan) };
        let out = container(&app(&[], &[]), &Sized::default(), &context, "c", &mut findings);
        assert_eq!(out.properties.security_context.and_then(|s| s.run_as_user), Some(1000));
        assert!(findings.finish().is_ok());
    }
}
