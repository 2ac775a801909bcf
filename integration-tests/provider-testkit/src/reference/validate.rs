//! Which pods the reference backend refuses, with every problem named by its field.

use std::collections::HashSet;

use vk_proto::v1::volume::Source;
use vk_proto::v1::{Container, Pod};

/// Every reason `pod` can never run here; empty when it can.
pub fn problems(pod: &Pod) -> Vec<String> {
    let mut problems = Vec::new();
    match &pod.meta {
        None => problems.push("meta: required".to_owned()),
        Some(meta) => {
            for (field, value) in [("uid", &meta.uid), ("namespace", &meta.namespace), ("name", &meta.name)] {
                if value.is_empty() {
                    problems.push(format!("meta.{field}: required"));
                }
            }
        }
    }
    let Some(spec) = &pod.spec else {
        problems.push("spec: required".to_owned());
        return problems;
    };
    if spec.containers.is_empty() {
        problems.push("spec.containers: at least one container is required".to_owned());
    }
    for (flag, name) in
        [(spec.host_network, "hostNetwork"), (spec.host_pid, "hostPID"), (spec.host_ipc, "hostIPC")]
    {
        if flag {
            problems.push(format!("spec.{name}: the reference backend has no host to share"));
        }
    }
    for feature in &spec.other_features {
        problems.push(format!("spec.{feature}: not supported by the reference backend"));
    }
    let mut volumes = HashSet::new();
    for (i, volume) in spec.volumes.iter().enumerate() {
        if !volumes.insert(volume.name.as_str()) {
            problems.push(format!("spec.volumes[{i}].name: duplicate volume name `{}`", volume.name));
        }
        match &volume.source {
            None => problems.push(format!("spec.volumes[{i}]: no volume source")),
            Some(Source::Unsupported(unsupported)) => problems.push(format!(
                "spec.volumes[{i}].{}: {} volumes are not supported by the reference backend ({})",
                unsupported.kind, unsupported.kind, unsupported.detail
            )),
            Some(_) => {}
        }
    }
    let mut names = HashSet::new();
    let all = spec
        .init_containers
        .iter()
        .map(|c| ("initContainers", c))
        .chain(spec.containers.iter().map(|c| ("containers", c)));
    let mut index = (0usize, 0usize);
    for (list, container) in all {
        let i = if list == "initContainers" { &mut index.0 } else { &mut index.1 };
        container_problems(&format!("spec.{list}[{i}]"), container, &volumes, &mut names, &mut problems);
        *i += 1;
    }
    problems
}

fn container_problems<'a>(
    path: &str,
    container: &'a Container,
    volumes: &HashSet<&str>,
    names: &mut HashSet<&'a str>,
    problems: &mut Vec<String>,
) {
    if container.name.is_empty() {
        problems.push(format!("{path}.name: required"));
    } else if !names.insert(container.name.as_str()) {
        problems.push(format!("{path}.name: duplicate container name `{}`", container.name));
    }
    if container.image.is_empty() {
        problems.push(format!("{path}.image: required"));
    }
    for (j, mount) in container.volume_mounts.iter().enumerate() {
        if !volumes.contains(mount.name.as_str()) {
            problems.push(format!("{path}.volumeMounts[{j}].name: no volume named `{}`", mount.name));
        }
    }
    for feature in &container.other_features {
        problems.push(format!("{feature}: not supported by the reference backend"));
    }
}

#[cfg(test)]
mod tests {
    use vk_proto::v1::{PodMeta, PodSpec, UnsupportedVolume, Volume};

    use super::*;

    #[test]
    fn every_problem_is_listed_with_its_field() {
        let pod = Pod {
            meta: Some(PodMeta {
                uid: "u".into(),
                namespace: "ns".into(),
                name: "p".into(),
                ..Default::default()
            }),
            spec: Some(PodSpec {
                host_network: true,
                containers: vec![Container { name: "app".into(), ..Default::default() }],
                volumes: vec![Volume {
                    name: "data".into(),
                    source: Some(Source::Unsupported(UnsupportedVolume {
                        kind: "hostPath".into(),
                        detail: "/var/data".into(),
                    })),
                }],
                ..Default::default()
            }),
            spec_hash: String::new(),
        };
        let found = problems(&pod);
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[0].starts_with("spec.hostNetwork:"));
        assert!(found[1].starts_with("spec.volumes[0].hostPath:"));
        assert!(found[2].starts_with("spec.containers[0].image:"));
    }

    #[test]
    fn a_minimal_pod_has_no_problems() {
        let pod = Pod {
            meta: Some(PodMeta {
                uid: "u".into(),
                namespace: "ns".into(),
                name: "p".into(),
                ..Default::default()
            }),
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: "app".into(),
                    image: "busybox".into(),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            spec_hash: String::new(),
        };
        assert!(problems(&pod).is_empty());
    }
}
