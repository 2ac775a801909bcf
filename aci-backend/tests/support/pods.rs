//! The smallest pod the provider API takes: one container, in namespace `default`.

use vk_proto::v1;

/// Pod `uid` named `name` with one container `main` running `image`; its spec hash is
/// `hash-<uid>`.
pub fn minimal(uid: &str, name: &str, image: &str) -> v1::Pod {
    v1::Pod {
        meta: Some(v1::PodMeta {
            uid: uid.into(),
            namespace: "default".into(),
            name: name.into(),
            ..Default::default()
        }),
        spec: Some(v1::PodSpec {
            containers: vec![v1::Container {
                name: "main".into(),
                image: image.into(),
                ..Default::default()
            }],
            ..Default::default()
        }),
        spec_hash: format!("hash-{uid}"),
    }
}

/// `pod` with its first container asking for `cpu_millis` and `memory_bytes`.
pub fn requesting(mut pod: v1::Pod, cpu_millis: i64, memory_bytes: i64) -> v1::Pod {
    if let Some(container) = pod.spec.as_mut().and_then(|s| s.containers.first_mut()) {
        container.resources = Some(v1::ResourceRequirements {
            requests: Some(v1::ResourceList {
                cpu_millis: Some(cpu_millis),
                memory_bytes: Some(memory_bytes),
                ..Default::default()
            }),
            limits: None,
        });
    }
    pod
}
