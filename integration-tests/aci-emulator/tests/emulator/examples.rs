//! Every example of the official spec folder: its request is sent to the emulator and the answer must have
//! the example response's structure (same fields present, same JSON types).

use std::path::{Path, PathBuf};

use aci_emulator::Config;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::arm_client::{Arm, Reply};
use super::structure::differences;

const SPEC_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/azure-aci-spec");

fn example_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    let versions = std::fs::read_dir(SPEC_DIR).expect("the spec folder ../shared/azure-aci-spec exists");
    for version in versions.flatten() {
        if let Ok(examples) = std::fs::read_dir(version.path().join("examples")) {
            files.extend(
                examples.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "json")),
            );
        }
    }
    files.sort();
    files
}

fn read(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("readable example")).expect("JSON example")
}

/// A PUT body made from a response body: read-only fields removed.
fn put_body_from(response: &Value) -> Value {
    let mut body = response.clone();
    if let Some(obj) = body.as_object_mut() {
        for k in ["id", "name", "type"] {
            obj.remove(k);
        }
    }
    if let Some(props) = body.get_mut("properties").and_then(Value::as_object_mut) {
        for k in ["provisioningState", "isCreatedFromStandbyPool", "instanceView"] {
            props.remove(k);
        }
        if let Some(ip) = props.get_mut("ipAddress").and_then(Value::as_object_mut) {
            ip.remove("ip");
            ip.remove("fqdn");
        }
    }
    body
}

fn assert_shape(name: &str, expected: &Value, reply: &Reply) {
    let found = differences(expected, &reply.body, "");
    assert!(
        found.is_empty(),
        "{name}: the answer differs from the example's structure: {found:#?}\n{}",
        reply.body
    );
}

fn param<'a>(example: &'a Value, key: &str) -> &'a str {
    example["parameters"][key].as_str().unwrap_or_else(|| panic!("the example names {key}"))
}

fn group_path(example: &Value) -> String {
    format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.ContainerInstance/containerGroups/{}",
        param(example, "subscriptionId"),
        param(example, "resourceGroupName"),
        param(example, "containerGroupName")
    )
}

/// Creates the example's group from a response body of the same example file (or a given body).
async fn create_from(arm: &Arm, example: &Value, body: Value) -> String {
    let path = group_path(example);
    let reply = arm.call(Method::PUT, &path, Some(put_body_from(&body))).await;
    assert_eq!(reply.status, StatusCode::CREATED, "creating the example group: {}", reply.body);
    for _ in 0..300 {
        let view = arm.call(Method::GET, &path, None).await.body;
        let state = view.pointer("/properties/containers/0/properties/instanceView/currentState/state");
        if state.and_then(Value::as_str) == Some("Running") {
            return path;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the example group never ran");
}

fn plain_group(container: &str) -> Value {
    json!({
        "location": "westus",
        "properties": {
            "osType": "Linux",
            "containers": [{ "name": container, "properties": {
                "image": "nginx", "resources": { "requests": { "cpu": 1, "memoryInGB": 1 } } } }]
        }
    })
}

async fn check_example(path: &Path) {
    let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_owned();
    let example = read(path);
    let responses = &example["responses"];
    let arm = Arm::fast().await;
    match name.as_str() {
        "ContainerGroupsCreateOrUpdate" => {
            let mut body = example["parameters"]["containerGroup"].clone();
            // The example lists `zones` beside the body; its responses show they belong to the group.
            body["zones"] = example["parameters"]["zones"].clone();
            let created = arm.call(Method::PUT, &group_path(&example), Some(body.clone())).await;
            assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
            assert!(created.header("azure-asyncoperation").is_some(), "a create is an async operation");
            assert_shape(&name, &responses["201"]["body"], &created);
            let updated = arm.call(Method::PUT, &group_path(&example), Some(body)).await;
            assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
            assert_shape(&name, &responses["200"]["body"], &updated);
        }
        "ContainerGroupsGet_Succeeded" => {
            let path = create_from(&arm, &example, responses["200"]["body"].clone()).await;
            let reply = arm.call(Method::GET, &path, None).await;
            assert_eq!(reply.status, StatusCode::OK);
            assert_eq!(reply.body["properties"]["provisioningState"], "Succeeded");
            assert_shape(&name, &responses["200"]["body"], &reply);
        }
        "ContainerGroupsList" | "ContainerGroupsListByResourceGroup" => {
            let expected = &responses["200"]["body"];
            let mut source = json!({ "parameters": example["parameters"].clone() });
            source["parameters"]["resourceGroupName"] = json!("demo");
            source["parameters"]["containerGroupName"] = json!("demo1");
            create_from(&arm, &source, expected["value"][0].clone()).await;
            let list_path = if name == "ContainerGroupsList" {
                format!(
                    "/subscriptions/{}/providers/Microsoft.ContainerInstance/containerGroups",
                    param(&example, "subscriptionId")
                )
            } else {
                format!(
                    "/subscriptions/{}/resourceGroups/demo/providers/Microsoft.ContainerInstance/containerGroups",
                    param(&example, "subscriptionId")
                )
            };
            let reply = arm.call(Method::GET, &list_path, None).await;
            assert_eq!(reply.status, StatusCode::OK);
            assert_shape(&name, expected, &reply);
            assert!(
                reply.body["value"][0]["properties"].get("instanceView").is_none(),
                "lists carry no instanceView"
            );
        }
        "ContainerGroupsUpdate" => {
            let path = create_from(&arm, &example, responses["200"]["body"].clone()).await;
            let reply = arm.call(Method::PATCH, &path, Some(example["parameters"]["Resource"].clone())).await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
            assert_shape(&name, &responses["200"]["body"], &reply);
            assert_eq!(reply.body["tags"], example["parameters"]["Resource"]["tags"]);
        }
        "ContainerGroupsDelete" => {
            let path = create_from(&arm, &example, responses["200"]["body"].clone()).await;
            let reply = arm.call(Method::DELETE, &path, None).await;
            assert_eq!(reply.status, StatusCode::OK);
            assert_shape(&name, &responses["200"]["body"], &reply);
            assert_eq!(arm.call(Method::DELETE, &path, None).await.status, StatusCode::NO_CONTENT);
            // With a deletion that takes time, the answer is 202 with an async operation, as in the example.
            let slow = Arm::start(Config { delete_delay_ms: 50, ..Config::fast() }).await;
            let path = create_from(&slow, &example, responses["200"]["body"].clone()).await;
            let reply = slow.call(Method::DELETE, &path, None).await;
            assert_eq!(reply.status, StatusCode::ACCEPTED);
            let operation =
                reply.header("azure-asyncoperation").expect("an Azure-AsyncOperation header").to_owned();
            assert!(responses["202"]["headers"].get("azure-asyncoperation").is_some());
            let mut status = String::new();
            for _ in 0..100 {
                let op = slow.call(Method::GET, &operation, None).await;
                status = op.body["status"].as_str().unwrap_or_default().to_owned();
                if status == "Succeeded" {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            assert_eq!(status, "Succeeded");
            assert_eq!(slow.call(Method::GET, &path, None).await.status, StatusCode::NOT_FOUND);
        }
        "ContainerGroupsStart" => {
            let mut source = example.clone();
            source["parameters"]["containerGroupName"] = json!("demo1");
            let path = create_from(&arm, &source, plain_group("demo1")).await;
            let stop = arm.call(Method::POST, &format!("{path}/stop"), None).await;
            assert_eq!(stop.status, StatusCode::NO_CONTENT);
            let start = arm.call(Method::POST, &format!("{path}/start"), None).await;
            assert_eq!(start.status, StatusCode::ACCEPTED);
            assert!(
                start.header("azure-asyncoperation").is_some(),
                "the 202 example carries azure-asyncoperation"
            );
        }
        "ContainerListLogs" => {
            let path = create_from(&arm, &example, plain_group(param(&example, "containerName"))).await;
            let logs = format!("{path}/containers/{}/logs?tail=10", param(&example, "containerName"));
            let reply = arm.call(Method::GET, &logs, None).await;
            assert_eq!(reply.status, StatusCode::OK);
            assert_shape(&name, &responses["200"]["body"], &reply);
        }
        "ContainerAttach" | "ContainerExec" => {
            let container = param(&example, "containerName");
            let path = create_from(&arm, &example, plain_group(container)).await;
            let (action, body) = if name == "ContainerExec" {
                ("exec", Some(example["parameters"]["containerExecRequest"].clone()))
            } else {
                ("attach", None)
            };
            let reply =
                arm.call(Method::POST, &format!("{path}/containers/{container}/{action}"), body).await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
            assert_shape(&name, &responses["200"]["body"], &reply);
        }
        other => panic!("no request is known for the example {other}: teach this test about it"),
    }
}

#[tokio::test]
async fn every_spec_example_is_answered_with_the_example_structure() {
    let files = example_files();
    assert!(files.len() >= 10, "the spec folder holds the examples: {files:?}");
    for file in files {
        check_example(&file).await;
    }
}
