//! The example Deployments shipped in `examples/` at the repository root: `aci-helloworld` on
//! the Linux virtual node and `nanoserver-iis` on the Windows one.

/// `examples/aci-helloworld.yaml`.
pub const ACI_HELLOWORLD: &str = include_str!("../../../examples/aci-helloworld.yaml");

/// `examples/nanoserver-iis.yaml`.
pub const NANOSERVER_IIS: &str = include_str!("../../../examples/nanoserver-iis.yaml");

/// Both, as one multi-document manifest.
pub fn all() -> String {
    format!("{ACI_HELLOWORLD}---\n{NANOSERVER_IIS}")
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::apps::v1::Deployment;

    use super::*;

    fn parse(text: &str) -> Deployment {
        serde_yaml::from_str(text).expect("a Deployment")
    }

    #[test]
    fn each_example_selects_the_virtual_node_of_its_os_and_tolerates_its_taint() {
        for (text, name, os, image) in [
            (ACI_HELLOWORLD, "aci-helloworld", "linux", "microsoft/aci-helloworld"),
            (NANOSERVER_IIS, "nanoserver-iis", "windows", "microsoft/iis:nanoserver"),
        ] {
            let deployment = parse(text);
            assert_eq!(deployment.metadata.name.as_deref(), Some(name));
            let pod = deployment.spec.and_then(|s| s.template.spec).expect("a pod template");
            let selector = pod.node_selector.expect("a node selector");
            assert_eq!(selector.get("beta.kubernetes.io/os").map(String::as_str), Some(os));
            assert_eq!(selector.get("kubernetes.io/role").map(String::as_str), Some("agent"));
            assert_eq!(selector.get("type").map(String::as_str), Some("virtual-kubelet"));
            let toleration = &pod.tolerations.expect("tolerations")[0];
            assert_eq!(toleration.key.as_deref(), Some("virtual-kubelet.io/provider"));
            assert_eq!(toleration.operator.as_deref(), Some("Equal"));
            assert_eq!(toleration.value.as_deref(), Some("azure"));
            assert_eq!(toleration.effect.as_deref(), Some("NoSchedule"));
            let container = &pod.containers[0];
            assert_eq!(container.image.as_deref(), Some(image));
            let port = &container.ports.as_ref().expect("ports")[0];
            assert_eq!(port.container_port, 80);
        }
    }
}
