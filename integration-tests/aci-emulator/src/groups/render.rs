//! Response bodies of container groups: read-only fields filled in, secrets stripped.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use super::store::{ContainerState, ContainerStatus, Event, Group};

fn time(t: &DateTime<Utc>) -> Value {
    Value::String(t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

fn events(events: &[Event]) -> Value {
    events
        .iter()
        .map(|e| {
            json!({
                "count": e.count,
                "firstTimestamp": time(&e.first),
                "lastTimestamp": time(&e.last),
                "name": e.name,
                "message": e.message,
                "type": e.kind,
            })
        })
        .collect()
}

fn state(s: &ContainerState) -> Value {
    let mut v = Map::new();
    v.insert("state".into(), json!(s.state));
    if let Some(t) = &s.start_time {
        v.insert("startTime".into(), time(t));
    }
    if let Some(code) = s.exit_code {
        v.insert("exitCode".into(), json!(code));
    }
    if let Some(t) = &s.finish_time {
        v.insert("finishTime".into(), time(t));
    }
    v.insert("detailStatus".into(), json!(s.detail_status));
    Value::Object(v)
}

fn instance_view(c: &ContainerStatus) -> Value {
    let mut v = json!({
        "restartCount": c.restart_count,
        "currentState": state(&c.current),
        "events": events(&c.events),
    });
    if let Some(previous) = &c.previous {
        v["previousState"] = state(previous);
    }
    v
}

/// Removes secret values from a container's environment.
fn strip_env(container: &mut Value) {
    if let Some(vars) =
        container.pointer_mut("/properties/environmentVariables").and_then(Value::as_array_mut)
    {
        for var in vars {
            if let Some(obj) = var.as_object_mut() {
                obj.remove("secureValue");
            }
        }
    }
}

fn add_instance_views(list: Option<&mut Value>, statuses: &[ContainerStatus]) {
    let Some(list) = list.and_then(Value::as_array_mut) else { return };
    for container in list {
        strip_env(container);
        let name = container.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
        if let (Some(status), Some(props)) = (
            statuses.iter().find(|s| s.name == name),
            container.get_mut("properties").and_then(Value::as_object_mut),
        ) {
            props.insert("instanceView".into(), instance_view(status));
        }
    }
}

fn strip_container_list(list: Option<&mut Value>) {
    if let Some(list) = list.and_then(Value::as_array_mut) {
        for container in list {
            strip_env(container);
            if let Some(props) = container.get_mut("properties").and_then(Value::as_object_mut) {
                props.remove("instanceView");
            }
        }
    }
}

/// The group as ARM returns it. `with_instance_view` is false for list results, as in Azure.
pub fn render(group: &Group, with_instance_view: bool) -> Value {
    let mut body = group.raw.clone();
    let Some(obj) = body.as_object_mut() else { return Value::Null };
    obj.insert("id".into(), json!(group.gref.id()));
    obj.insert("name".into(), json!(group.gref.name));
    obj.insert("type".into(), json!("Microsoft.ContainerInstance/containerGroups"));
    obj.insert("location".into(), json!(group.location));
    let mut props = obj.remove("properties").unwrap_or_else(|| json!({}));
    if let Some(p) = props.as_object_mut() {
        p.remove("instanceView");
        p.insert("provisioningState".into(), json!(group.provisioning.as_str()));
        p.insert("isCreatedFromStandbyPool".into(), json!(false));
        p.entry("restartPolicy").or_insert(json!("Always"));
        p.entry("sku").or_insert(json!("Standard"));
        if with_instance_view {
            add_instance_views(p.get_mut("containers"), &group.containers);
            add_instance_views(p.get_mut("initContainers"), &group.init_containers);
            p.insert("instanceView".into(), json!({ "events": events(&group.events), "state": group.state }));
        } else {
            strip_container_list(p.get_mut("containers"));
            strip_container_list(p.get_mut("initContainers"));
        }
        if let Some(creds) = p.get_mut("imageRegistryCredentials").and_then(Value::as_array_mut) {
            for cred in creds.iter_mut().filter_map(Value::as_object_mut) {
                cred.remove("password");
            }
        }
        if let Some(volumes) = p.get_mut("volumes").and_then(Value::as_array_mut) {
            for volume in volumes.iter_mut().filter_map(Value::as_object_mut) {
                if let Some(file) = volume.get_mut("azureFile").and_then(Value::as_object_mut) {
                    file.remove("storageAccountKey");
                }
                if volume.contains_key("secret") {
                    volume.insert("secret".into(), json!({}));
                }
            }
        }
        if let Some(la) =
            p.get_mut("diagnostics").and_then(|d| d.get_mut("logAnalytics")).and_then(Value::as_object_mut)
        {
            la.remove("workspaceKey");
        }
        if let Some(ip) = p.get_mut("ipAddress").and_then(Value::as_object_mut) {
            ip.insert("ip".into(), json!(group.ip));
            if let Some(ports) = ip.get_mut("ports").and_then(Value::as_array_mut) {
                for port in ports.iter_mut().filter_map(Value::as_object_mut) {
                    port.entry("protocol").or_insert(json!("TCP"));
                }
            }
            if let Some(label) = ip.get("dnsNameLabel").and_then(Value::as_str) {
                let fqdn = format!("{label}.{}.azurecontainer.io", group.location);
                ip.insert("fqdn".into(), json!(fqdn));
            }
        }
    }
    obj.insert("properties".into(), props);
    body
}

/// Normalizes a PUT body: read-only fields a client may echo back from a GET are dropped (ARM ignores
/// them) and defaults Azure fills in are set, so an echoed GET compares equal to the stored body.
pub fn normalize_request(body: &mut Value) {
    let Some(obj) = body.as_object_mut() else { return };
    for key in ["id", "name", "type"] {
        obj.remove(key);
    }
    let Some(props) = obj.get_mut("properties").and_then(Value::as_object_mut) else { return };
    for key in ["provisioningState", "instanceView", "isCreatedFromStandbyPool"] {
        props.remove(key);
    }
    for list in ["containers", "initContainers"] {
        for container in props.get_mut(list).and_then(Value::as_array_mut).into_iter().flatten() {
            if let Some(p) = container.get_mut("properties").and_then(Value::as_object_mut) {
                p.remove("instanceView");
            }
        }
    }
    props.entry("restartPolicy").or_insert(json!("Always"));
    props.entry("sku").or_insert(json!("Standard"));
    if let Some(ip) = props.get_mut("ipAddress").and_then(Value::as_object_mut) {
        ip.remove("ip");
        ip.remove("fqdn");
        for port in ip.get_mut("ports").and_then(Value::as_array_mut).into_iter().flatten() {
            if let Some(port) = port.as_object_mut() {
                port.entry("protocol").or_insert(json!("TCP"));
            }
        }
    }
}
