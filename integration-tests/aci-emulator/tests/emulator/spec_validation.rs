//! Validation follows the spec itself: every `required` field of the group's definitions is required, and
//! every enum accepts exactly the spec's values.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::arm_client::Arm;

const SPEC: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/azure-aci-spec/2025-09-01/containerInstance.json");

fn spec() -> Value {
    serde_json::from_str(&std::fs::read_to_string(SPEC).expect("the spec is readable"))
        .expect("the spec is JSON")
}

/// A group using every definition the table below points into.
fn full_body() -> Value {
    json!({
        "location": "westus",
        "properties": {
            "osType": "Linux",
            "restartPolicy": "OnFailure",
            "sku": "Standard",
            "priority": "Regular",
            "containers": [{
                "name": "app",
                "properties": {
                    "image": "nginx",
                    "command": ["nginx"],
                    "ports": [{ "port": 80, "protocol": "TCP" }],
                    "environmentVariables": [{ "name": "A", "value": "1" }],
                    "resources": { "requests": { "cpu": 1, "memoryInGB": 1 }, "limits": { "cpu": 2, "memoryInGB": 2 } },
                    "volumeMounts": [{ "name": "files", "mountPath": "/files" }, { "name": "repo", "mountPath": "/repo" }]
                }
            }],
            "volumes": [
                { "name": "files", "azureFile": { "shareName": "s", "storageAccountName": "a", "storageAccountKey": "k" } },
                { "name": "repo", "gitRepo": { "repository": "https://example.invalid/r.git" } }
            ],
            "imageRegistryCredentials": [{ "server": "r.azurecr.io", "username": "u", "password": "p" }],
            "ipAddress": { "type": "Private", "ports": [{ "port": 80, "protocol": "TCP" }] },
            "subnetIds": [{ "id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/n" }],
            "dnsConfig": { "nameServers": ["10.0.0.10"] }
        }
    })
}

/// Where an instance of each definition sits in `full_body`.
const INSTANCES: &[(&str, &str)] = &[
    ("Container", "/properties/containers/0"),
    ("ResourceRequirements", "/properties/containers/0/properties/resources"),
    ("ResourceRequests", "/properties/containers/0/properties/resources/requests"),
    ("ContainerPort", "/properties/containers/0/properties/ports/0"),
    ("EnvironmentVariable", "/properties/containers/0/properties/environmentVariables/0"),
    ("VolumeMount", "/properties/containers/0/properties/volumeMounts/0"),
    ("Volume", "/properties/volumes/0"),
    ("AzureFileVolume", "/properties/volumes/0/azureFile"),
    ("GitRepoVolume", "/properties/volumes/1/gitRepo"),
    ("ImageRegistryCredential", "/properties/imageRegistryCredentials/0"),
    ("IpAddress", "/properties/ipAddress"),
    ("Port", "/properties/ipAddress/ports/0"),
    ("ContainerGroupSubnetId", "/properties/subnetIds/0"),
    ("DnsConfiguration", "/properties/dnsConfig"),
];

#[tokio::test]
async fn every_required_field_of_the_spec_is_required() {
    let spec = spec();
    let definitions = &spec["definitions"];
    let arm = Arm::fast().await;
    assert_eq!(
        arm.put_group("rg", "full", full_body()).await.status,
        StatusCode::CREATED,
        "the full body is valid"
    );
    let mut cases: Vec<(String, String)> = INSTANCES
        .iter()
        .flat_map(|(definition, at)| {
            let required = definitions[*definition]["required"].as_array().cloned().unwrap_or_default();
            assert!(!required.is_empty(), "{definition} has required fields in the spec");
            required
                .into_iter()
                .filter_map(|r| r.as_str().map(|r| (at.to_string(), r.to_owned())))
                .collect::<Vec<_>>()
        })
        .collect();
    let group_props = &definitions["ContainerGroupProperties"]["properties"]["properties"]["required"];
    cases.extend(
        group_props
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r.as_str())
            .map(|r| ("/properties".to_owned(), r.to_owned())),
    );
    for (i, (at, field)) in cases.iter().enumerate() {
        let mut body = full_body();
        let removed = body.pointer_mut(at).and_then(Value::as_object_mut).and_then(|o| o.remove(field));
        assert!(removed.is_some(), "the full body has {at}/{field}");
        let reply = arm.put_group("rg", &format!("missing-{i}"), body).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "without {at}/{field}: {}", reply.body);
    }
}

#[tokio::test]
async fn every_enum_accepts_exactly_the_spec_values() {
    let spec = spec();
    let d = &spec["definitions"];
    let group = &d["ContainerGroupProperties"]["properties"]["properties"]["properties"];
    let enums = [
        ("/properties/restartPolicy", &group["restartPolicy"]["enum"]),
        ("/properties/osType", &group["osType"]["enum"]),
        ("/properties/priority", &group["priority"]["enum"]),
        ("/properties/sku", &d["ContainerGroupSku"]["enum"]),
        ("/properties/ipAddress/type", &d["IpAddress"]["properties"]["type"]["enum"]),
        ("/properties/ipAddress/ports/0/protocol", &d["Port"]["properties"]["protocol"]["enum"]),
        (
            "/properties/containers/0/properties/ports/0/protocol",
            &d["ContainerPort"]["properties"]["protocol"]["enum"],
        ),
    ];
    let arm = Arm::fast().await;
    let mut n = 0;
    for (at, values) in enums {
        let values = values.as_array().cloned().unwrap_or_default();
        assert!(!values.is_empty(), "{at} has an enum in the spec");
        for value in values.into_iter().chain([json!("Bogus")]) {
            let mut body = full_body();
            *body.pointer_mut(at).expect("the field exists") = value.clone();
            n += 1;
            let reply = arm.put_group("rg", &format!("enum-{n}"), body).await;
            let expected = if value == "Bogus" { StatusCode::BAD_REQUEST } else { StatusCode::CREATED };
            assert_eq!(reply.status, expected, "{at} = {value}: {}", reply.body);
        }
    }
}
