//! `resourceFieldRef`: a container's requests and limits as the kubelet exposes them
//! (limits default to the node's allocatable; values divided by `divisor`, rounded up).

use k8s_openapi::api::core::v1::{Container, ResourceFieldSelector};

use super::node_facts::NodeFacts;
use super::quantity::{Quantity, QuantityError, cpu_millis, whole_units};

/// The value `selector` names for `container`, as a decimal string.
pub fn container_resource(
    container: &Container,
    selector: &ResourceFieldSelector,
    facts: &NodeFacts,
) -> Result<String, String> {
    let resources = container.resources.as_ref();
    let (section, resource) = selector
        .resource
        .split_once('.')
        .ok_or_else(|| format!("resource {:?} is not supported", selector.resource))?;
    let list = match section {
        "limits" => resources.and_then(|r| r.limits.as_ref()),
        "requests" => resources.and_then(|r| r.requests.as_ref()),
        _ => return Err(format!("resource {:?} is not supported", selector.resource)),
    };
    let declared = list.and_then(|list| list.get(resource)).map(|q| q.0.as_str());
    let divisor_text = selector.divisor.as_ref().map(|d| d.0.as_str()).unwrap_or("1");
    let problem = |e: QuantityError| e.to_string();
    let value = match resource {
        "cpu" => {
            let millis = match declared {
                Some(text) => cpu_millis(text).map_err(problem)?,
                None if section == "limits" => facts.allocatable_cpu_millis,
                None => 0,
            };
            divide_up(millis, cpu_millis(divisor_text).map_err(problem)?)
        }
        "memory" | "ephemeral-storage" => {
            let bytes = match declared {
                Some(text) => whole_units(text).map_err(problem)?,
                None if section == "limits" && resource == "memory" => facts.allocatable_memory_bytes,
                None if section == "limits" => facts.allocatable_ephemeral_storage_bytes,
                None => 0,
            };
            divide_up(bytes, whole_units(divisor_text).map_err(problem)?)
        }
        name if name.starts_with("hugepages-") => {
            let bytes = match declared {
                Some(text) => Quantity::parse(text).and_then(|q| q.ceil_scaled(0, text)).map_err(problem)?,
                None => 0,
            };
            divide_up(bytes, whole_units(divisor_text).map_err(problem)?)
        }
        _ => return Err(format!("resource {:?} is not supported", selector.resource)),
    };
    value.map(|v| v.to_string()).ok_or_else(|| format!("divisor {divisor_text:?} must be positive"))
}

fn divide_up(value: i64, divisor: i64) -> Option<i64> {
    if divisor <= 0 {
        return None;
    }
    Some(value.div_euclid(divisor) + i64::from(value.rem_euclid(divisor) != 0))
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::ResourceRequirements;
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity as Q;

    use super::*;

    fn facts() -> NodeFacts {
        NodeFacts {
            node_name: "vk".into(),
            host_ip: "10.0.0.1".into(),
            os: vk_proto::v1::OsType::Linux,
            allocatable_cpu_millis: 8000,
            allocatable_memory_bytes: 16 << 30,
            allocatable_ephemeral_storage_bytes: 50 << 30,
        }
    }

    fn container() -> Container {
        Container {
            name: "app".into(),
            resources: Some(ResourceRequirements {
                requests: Some(
                    [("cpu".to_owned(), Q("250m".into())), ("memory".into(), Q("64Mi".into()))].into(),
                ),
                limits: Some([("memory".to_owned(), Q("128Mi".into()))].into()),
                ..ResourceRequirements::default()
            }),
            ..Container::default()
        }
    }

    fn read(resource: &str, divisor: Option<&str>) -> Result<String, String> {
        let selector = ResourceFieldSelector {
            resource: resource.into(),
            divisor: divisor.map(|d| Q(d.into())),
            container_name: None,
        };
        container_resource(&container(), &selector, &facts())
    }

    #[test]
    fn cpu_is_in_cores_rounded_up_unless_a_divisor_says_otherwise() {
        assert_eq!(read("requests.cpu", None).as_deref(), Ok("1"));
        assert_eq!(read("requests.cpu", Some("1m")).as_deref(), Ok("250"));
    }

    #[test]
    fn memory_is_in_bytes_or_divisor_units() {
        assert_eq!(read("limits.memory", None).as_deref(), Ok("134217728"));
        assert_eq!(read("limits.memory", Some("1Mi")).as_deref(), Ok("128"));
        assert_eq!(read("requests.memory", Some("1Gi")).as_deref(), Ok("1"));
    }

    #[test]
    fn missing_limits_default_to_node_allocatable() {
        assert_eq!(read("limits.cpu", Some("1m")).as_deref(), Ok("8000"));
        assert_eq!(read("limits.ephemeral-storage", Some("1Gi")).as_deref(), Ok("50"));
    }

    #[test]
    fn unknown_resources_and_zero_divisors_are_refused() {
        assert!(read("limits.gpu", None).is_err());
        assert!(read("requests.cpu", Some("0")).is_err());
    }
}
