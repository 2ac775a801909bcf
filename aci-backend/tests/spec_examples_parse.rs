//! The official response examples parse into this crate's model and read as pod status.

use aci_backend::model::{ContainerGroup, ContainerGroupListResult};
use aci_backend::status::pod_status;
use serde_json::Value;

fn example(name: &str) -> Value {
    let path =
        format!("{}/../../shared/azure-aci-spec/2025-09-01/examples/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("the examples are in the shared folder");
    let value: Value = serde_json::from_str(&text).expect("examples are JSON");
    value["responses"]["200"]["body"].clone()
}

#[test]
fn the_get_example_parses_and_reads_as_a_pod_with_its_ip() {
    let group: ContainerGroup =
        serde_json::from_value(example("ContainerGroupsGet_Succeeded.json")).expect("parses");
    assert_eq!(group.name.as_deref(), Some("demo1"));
    assert_eq!(group.properties.containers[0].properties.resources.requests.memory_in_gb, 1.5);
    assert_eq!(pod_status(&group, None).pod_ip, "10.0.0.1");
}

#[test]
fn the_list_example_parses_with_its_groups() {
    let list: ContainerGroupListResult =
        serde_json::from_value(example("ContainerGroupsListByResourceGroup.json")).expect("parses");
    assert!(!list.value.is_empty());
    assert!(list.value.iter().all(|g| g.properties.instance_view.is_none()), "lists carry no instance view");
}
