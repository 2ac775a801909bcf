//! Downward API field paths (`fieldRef`) read from the pod, as the kubelet reads them.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;

use super::node_facts::NodeFacts;

/// The value of `path` for `pod`, or why the path is not supported.
pub fn pod_field(pod: &Pod, facts: &NodeFacts, path: &str) -> Result<String, String> {
    let meta = &pod.metadata;
    let spec = pod.spec.as_ref();
    let status = pod.status.as_ref();
    if let Some((map_name, key)) = subscript(path) {
        let map = match map_name {
            "metadata.labels" => meta.labels.as_ref(),
            "metadata.annotations" => meta.annotations.as_ref(),
            _ => return Err(unsupported(path)),
        };
        return Ok(map.and_then(|map| map.get(key)).cloned().unwrap_or_default());
    }
    let value = match path {
        "metadata.name" => meta.name.clone().unwrap_or_default(),
        "metadata.namespace" => meta.namespace.clone().unwrap_or_default(),
        "metadata.uid" => meta.uid.clone().unwrap_or_default(),
        "metadata.labels" => format_map(meta.labels.as_ref()),
        "metadata.annotations" => format_map(meta.annotations.as_ref()),
        "spec.nodeName" => spec.and_then(|s| s.node_name.clone()).unwrap_or_else(|| facts.node_name.clone()),
        "spec.serviceAccountName" => spec.and_then(|s| s.service_account_name.clone()).unwrap_or_default(),
        "status.hostIP" | "status.hostIPs" => facts.host_ip.clone(),
        "status.podIP" => status.and_then(|s| s.pod_ip.clone()).unwrap_or_default(),
        "status.podIPs" => status
            .and_then(|s| s.pod_ips.as_ref())
            .map(|ips| ips.iter().map(|ip| ip.ip.as_str()).collect::<Vec<_>>().join(","))
            .unwrap_or_default(),
        _ => return Err(unsupported(path)),
    };
    Ok(value)
}

fn unsupported(path: &str) -> String {
    format!("field path {path:?} is not supported")
}

/// Splits `metadata.labels['key']` into (`metadata.labels`, `key`).
fn subscript(path: &str) -> Option<(&str, &str)> {
    let inner = path.strip_suffix("']")?;
    let (map, key) = inner.split_once("['")?;
    Some((map, key))
}

/// All entries as `key="value"` lines sorted by key, values quoted like Go's `%q`.
fn format_map(map: Option<&BTreeMap<String, String>>) -> String {
    map.map(|map| {
        map.iter().map(|(key, value)| format!("{key}={}", go_quote(value))).collect::<Vec<_>>().join("\n")
    })
    .unwrap_or_default()
}

fn go_quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{PodIP, PodSpec, PodStatus};
    use kube::api::ObjectMeta;

    use super::*;

    fn facts() -> NodeFacts {
        NodeFacts {
            node_name: "vk".into(),
            host_ip: "10.1.2.3".into(),
            os: vk_proto::v1::OsType::Linux,
            allocatable_cpu_millis: 4000,
            allocatable_memory_bytes: 1 << 30,
            allocatable_ephemeral_storage_bytes: 0,
        }
    }

    fn pod() -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some("web".into()),
                namespace: Some("shop".into()),
                uid: Some("u-1".into()),
                labels: Some([("app".to_owned(), "web".to_owned()), ("tier".into(), "a\"b".into())].into()),
                ..ObjectMeta::default()
            },
            spec: Some(PodSpec {
                node_name: Some("vk-node".into()),
                service_account_name: Some("robot".into()),
                ..PodSpec::default()
            }),
            status: Some(PodStatus {
                pod_ip: Some("10.0.0.7".into()),
                pod_ips: Some(vec![PodIP { ip: "10.0.0.7".into() }, PodIP { ip: "fd00::7".into() }]),
                ..PodStatus::default()
            }),
        }
    }

    #[test]
    fn metadata_spec_and_status_fields_are_read() {
        let (pod, facts) = (pod(), facts());
        let read = |path: &str| pod_field(&pod, &facts, path).expect("supported path");
        assert_eq!(read("metadata.name"), "web");
        assert_eq!(read("metadata.namespace"), "shop");
        assert_eq!(read("metadata.uid"), "u-1");
        assert_eq!(read("spec.nodeName"), "vk-node");
        assert_eq!(read("spec.serviceAccountName"), "robot");
        assert_eq!(read("status.hostIP"), "10.1.2.3");
        assert_eq!(read("status.podIP"), "10.0.0.7");
        assert_eq!(read("status.podIPs"), "10.0.0.7,fd00::7");
    }

    #[test]
    fn labels_are_read_one_by_one_or_all_sorted_and_quoted() {
        let (pod, facts) = (pod(), facts());
        assert_eq!(pod_field(&pod, &facts, "metadata.labels['app']").as_deref(), Ok("web"));
        assert_eq!(pod_field(&pod, &facts, "metadata.labels['none']").as_deref(), Ok(""));
        assert_eq!(pod_field(&pod, &facts, "metadata.labels").as_deref(), Ok("app=\"web\"\ntier=\"a\\\"b\""));
        assert_eq!(pod_field(&pod, &facts, "metadata.annotations").as_deref(), Ok(""));
    }

    #[test]
    fn unknown_paths_are_refused() {
        assert!(pod_field(&pod(), &facts(), "spec.hostname").is_err());
        assert!(pod_field(&pod(), &facts(), "spec.x['y']").is_err());
    }
}
