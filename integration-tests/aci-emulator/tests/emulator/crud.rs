//! Container group CRUD, listing with paging, validation and ARM errors.

use aci_emulator::Config;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::arm_client::{Arm, SUB, group_body};

#[tokio::test]
async fn secrets_never_come_back_in_any_response() {
    let arm = Arm::fast().await;
    let mut body = group_body("nginx", "Always");
    body["properties"]["containers"][0]["properties"]["environmentVariables"] =
        json!([{ "name": "PLAIN", "value": "visible" }, { "name": "SECRET", "secureValue": "hunter2" }]);
    body["properties"]["imageRegistryCredentials"] =
        json!([{ "server": "r.io", "username": "u", "password": "hunter2" }]);
    body["properties"]["volumes"] = json!([
        { "name": "s", "secret": { "key": "aHVudGVyMg==" } },
        { "name": "f", "azureFile": { "shareName": "x", "storageAccountName": "a", "storageAccountKey": "hunter2" } }
    ]);
    let created = arm.put_group("rg", "secrets", body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let got = arm.get_group("rg", "secrets").await;
    let listed = arm
        .call(
            Method::GET,
            &format!("/subscriptions/{SUB}/providers/Microsoft.ContainerInstance/containerGroups"),
            None,
        )
        .await;
    for text in [created.body.to_string(), got.body.to_string(), listed.body.to_string()] {
        assert!(!text.contains("hunter2") && !text.contains("aHVudGVyMg=="), "a secret leaked: {text}");
        assert!(text.contains("visible"), "plain values stay: {text}");
    }
    assert_eq!(got.body["properties"]["volumes"][0]["secret"], json!({}));
}

#[tokio::test]
async fn get_fills_read_only_fields_and_list_omits_the_instance_view() {
    let arm = Arm::fast().await;
    let mut body = group_body("nginx", "Always");
    body["properties"]["containers"][0]["properties"]["ports"] = json!([{ "port": 80 }]);
    body["properties"]["ipAddress"] =
        json!({ "type": "Public", "ports": [{ "port": 80 }], "dnsNameLabel": "web" });
    arm.put_group("rg", "web", body).await;
    let group = arm.wait_for("rg", "web", |g| g["properties"]["instanceView"]["state"] == "Running").await;
    assert_eq!(group["id"], Arm::group_path("rg", "web"));
    assert_eq!(group["type"], "Microsoft.ContainerInstance/containerGroups");
    assert_eq!(group["properties"]["provisioningState"], "Succeeded");
    assert!(
        group["properties"]["ipAddress"]["ip"]
            .as_str()
            .is_some_and(|ip| ip.parse::<std::net::Ipv4Addr>().is_ok())
    );
    assert_eq!(group["properties"]["ipAddress"]["fqdn"], "web.westus.azurecontainer.io");
    let list = arm.call(Method::GET, "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/RG/providers/Microsoft.ContainerInstance/containerGroups", None).await;
    assert_eq!(list.body["value"].as_array().map(Vec::len), Some(1), "resource group names ignore case");
    assert!(list.body["value"][0]["properties"].get("instanceView").is_none());
}

#[tokio::test]
async fn lists_are_paged_with_next_links() {
    let arm = Arm::start(Config { page_size: 2, ..Config::fast() }).await;
    for i in 0..5 {
        assert_eq!(
            arm.put_group("rg", &format!("g{i}"), group_body("nginx", "Always")).await.status,
            StatusCode::CREATED
        );
    }
    let mut next = Some(format!(
        "/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ContainerInstance/containerGroups"
    ));
    let mut names = Vec::new();
    let mut pages = 0;
    while let Some(url) = next.take() {
        let page = arm.call(Method::GET, &url, None).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        names.extend(
            page.body["value"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|g| g["name"].as_str().map(str::to_owned)),
        );
        next = page.body["nextLink"].as_str().map(str::to_owned);
        pages += 1;
    }
    assert_eq!(pages, 3);
    assert_eq!(names, ["g0", "g1", "g2", "g3", "g4"]);
}

#[tokio::test]
async fn patch_changes_only_tags() {
    let arm = Arm::fast().await;
    arm.put_group("rg", "tagged", group_body("nginx", "Always")).await;
    let reply = arm
        .call(Method::PATCH, &Arm::group_path("rg", "tagged"), Some(json!({ "tags": { "a": "b" } })))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(arm.get_group("rg", "tagged").await.body["tags"], json!({ "a": "b" }));
    let bad =
        arm.call(Method::PATCH, &Arm::group_path("rg", "tagged"), Some(json!({ "tags": { "a": 1 } }))).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let missing = arm.call(Method::PATCH, &Arm::group_path("rg", "none"), Some(json!({ "tags": {} }))).await;
    assert_eq!((missing.status, missing.error_code()), (StatusCode::NOT_FOUND, "ResourceNotFound"));
}

#[tokio::test]
async fn a_missing_group_is_resource_not_found() {
    let arm = Arm::fast().await;
    let reply = arm.get_group("rg", "nothing").await;
    assert_eq!((reply.status, reply.error_code()), (StatusCode::NOT_FOUND, "ResourceNotFound"));
    assert!(reply.body["error"]["message"].as_str().is_some_and(|m| m.contains("nothing")));
}

#[tokio::test]
async fn a_wrong_or_missing_api_version_is_refused_as_arm_does() {
    let arm = Arm::fast().await;
    let url = format!("{}{}", arm.emulator.base_url(), Arm::group_path("rg", "g"));
    for (query, code) in
        [("?api-version=2019-12-01", "NoRegisteredProviderFound"), ("", "MissingApiVersionParameter")]
    {
        let reply =
            arm.http.get(format!("{url}{query}")).bearer_auth(&arm.token).send().await.expect("answer");
        assert_eq!(reply.status(), StatusCode::BAD_REQUEST);
        let body: Value = reply.json().await.expect("json");
        assert_eq!(body["error"]["code"], code);
    }
}

async fn refused(arm: &Arm, name: &str, body: Value) -> String {
    let reply = arm.put_group("rg", name, body).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "expected a refusal: {}", reply.body);
    reply.error_code().to_owned()
}

/// `body` with the field at `pointer` set (created when absent).
fn with(mut body: Value, pointer: &str, value: Value) -> Value {
    let (parent, key) = pointer.rsplit_once('/').expect("a JSON pointer");
    let target = body.pointer_mut(parent).expect("the parent exists in the base body");
    match target {
        Value::Object(map) => {
            map.insert(key.to_owned(), value);
        }
        Value::Array(items) => items[key.parse::<usize>().expect("an index")] = value,
        _ => panic!("cannot set {pointer}"),
    }
    body
}

#[tokio::test]
async fn bodies_breaking_the_spec_or_aci_limits_are_refused() {
    let arm = Arm::fast().await;
    let base = group_body("nginx", "Always");
    let container = base["properties"]["containers"][0].clone();
    let many = |n: usize| {
        (0..n).map(|i| with(container.clone(), "/name", json!(format!("c{i}")))).collect::<Vec<_>>()
    };
    let cases: Vec<(&str, Value, &str)> = vec![
        ("Bad_Name", base.clone(), "InvalidContainerGroupName"),
        (
            "types",
            with(base.clone(), "/properties/containers/0/properties/resources/requests/cpu", json!("1")),
            "InvalidRequestContent",
        ),
        (
            "enums",
            with(base.clone(), "/properties/restartPolicy", json!("Sometimes")),
            "InvalidRequestContent",
        ),
        (
            "required",
            with(base.clone(), "/properties/containers/0/properties/resources/requests", json!({ "cpu": 1 })),
            "InvalidRequestContent",
        ),
        ("no-os", with(base.clone(), "/properties/osType", Value::Null), "OsTypeRequired"),
        (
            "cname",
            with(base.clone(), "/properties/containers/0/name", json!("UPPER")),
            "InvalidContainerName",
        ),
        (
            "image",
            with(base.clone(), "/properties/containers/0/properties/image", json!("inaccessible-image")),
            "InaccessibleImage",
        ),
        (
            "toomany",
            with(base.clone(), "/properties/containers", json!(many(61))),
            "ContainerGroupContainerCountLimitExceeded",
        ),
        (
            "dupes",
            with(base.clone(), "/properties/containers", json!([container.clone(), container.clone()])),
            "DuplicateContainerName",
        ),
        (
            "cpu",
            with(base.clone(), "/properties/containers/0/properties/resources/requests/cpu", json!(5)),
            "ResourceRequestsExceedLimit",
        ),
        (
            "volumes",
            with(
                base.clone(),
                "/properties/volumes",
                json!(
                    (0..21).map(|i| json!({ "name": format!("v{i}"), "emptyDir": {} })).collect::<Vec<_>>()
                ),
            ),
            "VolumeCountLimitExceeded",
        ),
        (
            "mount",
            with(
                base.clone(),
                "/properties/containers/0/properties/volumeMounts",
                json!([{ "name": "nope", "mountPath": "/x" }]),
            ),
            "VolumeMountNotFound",
        ),
        (
            "ports",
            with(
                base.clone(),
                "/properties/ipAddress",
                json!({ "type": "Public", "ports": (1..=6).map(|p| json!({ "port": p })).collect::<Vec<_>>() }),
            ),
            "InvalidIpAddressPorts",
        ),
        ("location", with(base.clone(), "/location", json!(" ")), "LocationRequired"),
    ];
    for (name, body, code) in cases {
        let body = if name == "no-os" {
            let mut b = body;
            b["properties"].as_object_mut().map(|p| p.remove("osType"));
            b
        } else {
            body
        };
        assert_eq!(refused(&arm, name, body).await, code, "case {name}");
    }
    let not_json = arm
        .http
        .put(format!("{}{}?api-version=2025-09-01", arm.emulator.base_url(), Arm::group_path("rg", "x")))
        .bearer_auth(&arm.token)
        .body("{not json")
        .send()
        .await
        .expect("answer");
    assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
    assert!(arm.emulator.counters().get("ContainerGroups_CreateOrUpdate").is_some_and(|n| *n >= 15));
}

#[tokio::test]
async fn a_create_is_followed_through_its_async_operation() {
    let arm = Arm::start(Config { pull_delay_ms: 500, ..Config::fast() }).await;
    let created = arm.put_group("rg", "async", group_body("nginx", "Always")).await;
    assert_eq!(created.body["properties"]["provisioningState"], "Pending");
    let url = created.header("azure-asyncoperation").expect("Azure-AsyncOperation").to_owned();
    let first = arm.call(Method::GET, &url, None).await;
    assert_eq!(first.body["status"], "InProgress");
    let mut last = first.body;
    for _ in 0..100 {
        last = arm.call(Method::GET, &url, None).await.body;
        if last["status"] != "InProgress" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(last["status"], "Succeeded", "{last}");
    assert_eq!(arm.get_group("rg", "async").await.body["properties"]["provisioningState"], "Succeeded");
}

#[tokio::test]
async fn provider_registration_is_readable_and_settable() {
    let arm = Arm::fast().await;
    let path = format!("/subscriptions/{SUB}/providers/Microsoft.ContainerInstance");
    assert_eq!(arm.call(Method::GET, &path, None).await.body["registrationState"], "Registered");
    arm.emulator.set_registered(Some(SUB), false);
    assert_eq!(arm.call(Method::GET, &path, None).await.body["registrationState"], "NotRegistered");
    let reply = arm.put_group("rg", "g", group_body("nginx", "Always")).await;
    assert_eq!((reply.status, reply.error_code()), (StatusCode::CONFLICT, "MissingSubscriptionRegistration"));
    let admin = arm
        .http
        .put(format!("{}/_emulator/registration", arm.emulator.base_url()))
        .json(&json!({ "registered": true }))
        .send()
        .await
        .expect("admin answers");
    assert_eq!(admin.status(), StatusCode::NO_CONTENT);
    assert_eq!(arm.put_group("rg", "g", group_body("nginx", "Always")).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn usages_and_capabilities_describe_the_region() {
    let arm = Arm::fast().await;
    arm.put_group("rg", "g", group_body("nginx", "Always")).await;
    let usages = arm
        .call(
            Method::GET,
            &format!("/subscriptions/{SUB}/providers/Microsoft.ContainerInstance/locations/westus/usages"),
            None,
        )
        .await;
    let value = usages.body["value"].as_array().cloned().unwrap_or_default();
    let find = |n: &str| value.iter().find(|u| u["name"]["value"] == n).cloned().unwrap_or_default();
    assert_eq!(find("ContainerGroups")["currentValue"], 1);
    assert_eq!(find("ContainerGroups")["limit"], 100);
    assert_eq!(find("StandardCores")["currentValue"], 1);
    let caps = arm
        .call(
            Method::GET,
            &format!(
                "/subscriptions/{SUB}/providers/Microsoft.ContainerInstance/locations/westus/capabilities"
            ),
            None,
        )
        .await;
    let caps = caps.body["value"].as_array().cloned().unwrap_or_default();
    assert!(caps.iter().any(|c| c["osType"] == "Windows" && c["capabilities"]["maxCpu"] == 4.0));
}

#[tokio::test]
async fn putting_back_what_get_returned_changes_nothing() {
    let arm = Arm::fast().await;
    arm.put_group("rg", "same", group_body("nginx", "Always")).await;
    let running = arm.wait_for("rg", "same", |g| super::arm_client::container_state(g).0 == "Running").await;
    let mut body = running.clone();
    body["tags"] = json!({ "owner": "me" });
    let reply = arm.put_group("rg", "same", body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let after = arm.get_group("rg", "same").await.body;
    let started = |g: &Value| {
        g.pointer("/properties/containers/0/properties/instanceView/currentState/startTime").cloned()
    };
    assert_eq!(started(&after), started(&running), "the container was not restarted");
    assert_eq!(after["tags"], json!({ "owner": "me" }));
    assert_eq!(after["properties"]["ipAddress"], running["properties"]["ipAddress"]);
}
