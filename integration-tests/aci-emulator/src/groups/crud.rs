//! PUT, GET, PATCH (tags), DELETE and list (with nextLink paging) of container groups.

use std::sync::Arc;

use axum::Json;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use rand::Rng;
use serde_json::{Value, json};

use super::model::{GroupRequest, IpAddressType};
use super::render::{normalize_request, render};
use super::store::{ContainerStatus, Group, Provisioning, normalize_location};
use super::validate::{GroupLimits, validate};
use crate::arm::{ArmError, GroupRef};
use crate::lifecycle::{Deploy, deploy};
use crate::operations::OperationKind;
use crate::state::Shared;

fn parse_json(body: &[u8]) -> Result<Value, ArmError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ArmError::bad_request(
            "InvalidRequestContent",
            format!("The request content was invalid and could not be deserialized: '{e}'."),
        )
    })?;
    if !value.is_object() {
        return Err(ArmError::bad_request(
            "InvalidRequestContent",
            "The request content must be a JSON object.",
        ));
    }
    Ok(value)
}

/// The `Azure-AsyncOperation` URL of an operation.
pub fn async_operation_url(shared: &Shared, g: &GroupRef, location: &str, id: &str) -> String {
    format!(
        "{}/subscriptions/{}/providers/Microsoft.ContainerInstance/locations/{location}/operations/{id}?api-version={}",
        shared.base_url(),
        g.subscription,
        shared.config.api_versions.first().map(String::as_str).unwrap_or("2025-09-01"),
    )
}

pub fn with_async_operation(mut response: Response, url: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(url) {
        response.headers_mut().insert("azure-asyncoperation", v);
    }
    response
}

fn statuses(spec: &GroupRequest) -> (Vec<ContainerStatus>, Vec<ContainerStatus>) {
    let status = |name: &String| ContainerStatus { name: name.clone(), ..ContainerStatus::default() };
    (
        spec.properties.containers.iter().map(|c| status(&c.name)).collect(),
        spec.properties.init_containers.iter().map(|c| status(&c.name)).collect(),
    )
}

fn new_ip(spec: &GroupRequest) -> String {
    let mut rng = rand::rng();
    let private = spec.properties.ip_address.as_ref().is_some_and(|ip| ip.kind == IpAddressType::Private)
        || !spec.properties.subnet_ids.is_empty();
    if private {
        format!("10.0.{}.{}", rng.random_range(0..=255), rng.random_range(4..=254))
    } else {
        format!(
            "20.{}.{}.{}",
            rng.random_range(0..=255),
            rng.random_range(0..=255),
            rng.random_range(1..=254)
        )
    }
}

/// `PUT`: creates (201) or updates (200) a group; both start an async operation.
pub fn create_or_update(shared: &Arc<Shared>, g: &GroupRef, body: &[u8]) -> Result<Response, ArmError> {
    let arrived = chrono::Utc::now();
    let mut raw = parse_json(body)?;
    normalize_request(&mut raw);
    let limits = GroupLimits {
        max_cpu: shared.config.max_cpu_per_group,
        max_memory_gb: shared.config.max_memory_per_group,
    };
    let spec = validate(&g.name, &raw, limits)?;
    let location = normalize_location(&spec.location);
    let key = g.key();
    let existing = shared.store.get(&key);
    let status = if let Some(existing) = &existing {
        if existing.location != location {
            return Err(ArmError::new(
                StatusCode::CONFLICT,
                "InvalidResourceLocation",
                format!(
                    "The resource '{}' already exists in location '{}' in resource group '{}'. A resource with the \
                     same name cannot be created in location '{location}'.",
                    g.name, existing.location, g.resource_group
                ),
            ));
        }
        if existing.provisioning == Provisioning::Deleting {
            return Err(ArmError::new(
                StatusCode::CONFLICT,
                "ContainerGroupTransitioning",
                format!("The container group '{}' is being deleted.", g.name),
            ));
        }
        let (groups, cores) = shared.store.usage(&g.subscription, &location);
        shared.quotas.check_capacity(groups.saturating_sub(1), cores - existing.spec.cpu(), spec.cpu())?;
        StatusCode::OK
    } else {
        let (groups, cores) = shared.store.usage(&g.subscription, &location);
        shared.quotas.check_capacity(groups, cores, spec.cpu())?;
        shared.quotas.take_rate(&g.subscription, &location, false, shared.time_scale())?;
        StatusCode::CREATED
    };
    let changed = existing.as_ref().is_none_or(|e| e.raw.get("properties") != raw.get("properties"));
    match existing {
        Some(_) if !changed => {
            shared.store.update(&key, |group| group.raw = raw.clone());
        }
        Some(_) => {
            shared.store.update(&key, |group| {
                let (containers, init_containers) = statuses(&spec);
                group.raw = raw.clone();
                group.spec = spec.clone();
                group.containers = containers;
                group.init_containers = init_containers;
            });
        }
        None => {
            shared.timeline.created(&key, arrived);
            let (containers, init_containers) = statuses(&spec);
            shared.store.insert(Group {
                gref: g.clone(),
                location: location.clone(),
                ip: new_ip(&spec),
                raw,
                spec,
                provisioning: Provisioning::Pending,
                state: "Pending".into(),
                containers,
                init_containers,
                events: Vec::new(),
                generation: 0,
            });
        }
    }
    if changed {
        deploy(shared, &key, Deploy::Create);
    }
    let group =
        shared.store.get(&key).ok_or_else(|| ArmError::not_found_group(&g.name, &g.resource_group))?;
    let op = shared.operations.begin(OperationKind::Create, g, group.generation);
    let response = (status, Json(render(&group, true))).into_response();
    Ok(with_async_operation(response, &async_operation_url(shared, g, &location, &op)))
}

/// `GET` of one group, with its instance view.
pub fn get(shared: &Shared, g: &GroupRef) -> Result<Response, ArmError> {
    let group =
        shared.store.get(&g.key()).ok_or_else(|| ArmError::not_found_group(&g.name, &g.resource_group))?;
    Ok(Json(render(&group, true)).into_response())
}

/// `PATCH`: only tags can change.
pub fn update_tags(shared: &Shared, g: &GroupRef, body: &[u8]) -> Result<Response, ArmError> {
    let patch = parse_json(body)?;
    let tags = match patch.get("tags") {
        None => None,
        Some(Value::Object(tags)) if tags.values().all(Value::is_string) => Some(Value::Object(tags.clone())),
        Some(_) => {
            return Err(ArmError::bad_request(
                "InvalidRequestContent",
                "The 'tags' property must map names to strings.",
            ));
        }
    };
    let group = shared
        .store
        .update(&g.key(), |group| {
            if let (Some(tags), Some(obj)) = (tags, group.raw.as_object_mut()) {
                obj.insert("tags".into(), tags);
            }
            group.clone()
        })
        .ok_or_else(|| ArmError::not_found_group(&g.name, &g.resource_group))?;
    Ok(Json(render(&group, true)).into_response())
}

/// `DELETE`: 200 with the group when deletion is immediate, 202 + async operation when it takes time,
/// 204 when there is nothing to delete.
pub fn delete(shared: &Arc<Shared>, g: &GroupRef) -> Result<Response, ArmError> {
    let key = g.key();
    let Some(group) = shared.store.get(&key) else { return Ok(StatusCode::NO_CONTENT.into_response()) };
    if group.provisioning == Provisioning::Deleting {
        return Ok(StatusCode::ACCEPTED.into_response());
    }
    shared.quotas.take_rate(&g.subscription, &group.location, true, shared.time_scale())?;
    shared.controls.forget(&key);
    let delay = shared.scaled_ms(shared.config.delete_delay_ms);
    if delay.is_zero() {
        let removed = shared.store.remove(&key).unwrap_or(group);
        return Ok(Json(render(&removed, false)).into_response());
    }
    shared.store.update(&key, |group| {
        group.provisioning = Provisioning::Deleting;
        group.generation += 1;
    });
    let op = shared.operations.begin(OperationKind::Delete, g, group.generation + 1);
    let background = shared.clone();
    let removal_key = key.clone();
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        background.store.remove(&removal_key);
    });
    let url = async_operation_url(shared, g, &group.location, &op);
    let mut response = with_async_operation(StatusCode::ACCEPTED.into_response(), &url);
    if let Ok(v) = HeaderValue::from_str(&url) {
        response.headers_mut().insert("location", v);
    }
    Ok(response)
}

/// List by subscription or resource group: no instance view, `nextLink` when more pages remain.
pub fn list(
    shared: &Shared,
    subscription: &str,
    resource_group: Option<&str>,
    path: &str,
    skip: usize,
) -> Result<Response, ArmError> {
    let groups = shared.store.list(|group| {
        group.gref.subscription.eq_ignore_ascii_case(subscription)
            && resource_group.is_none_or(|rg| group.gref.resource_group.eq_ignore_ascii_case(rg))
    });
    let page_size = shared.config.page_size.max(1);
    let page: Vec<Value> =
        groups.iter().skip(skip).take(page_size).map(|group| render(group, false)).collect();
    let mut body = json!({ "value": page });
    if skip + page_size < groups.len() {
        let api_version = shared.config.api_versions.first().map(String::as_str).unwrap_or("2025-09-01");
        body["nextLink"] = json!(format!(
            "{}{path}?api-version={api_version}&$skipToken={}",
            shared.base_url(),
            skip + page_size
        ));
    }
    Ok(Json(body).into_response())
}
