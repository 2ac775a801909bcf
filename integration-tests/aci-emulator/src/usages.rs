//! `locations/{loc}/usages` and `locations/{loc}/capabilities`.

use serde_json::{Value, json};

use crate::state::Shared;

/// Current usage and limits of one subscription in one region.
pub fn usages(shared: &Shared, subscription: &str, location: &str) -> Value {
    let (groups, cores) = shared.store.usage(subscription, location);
    let quotas = &shared.quotas;
    let usage = |name: &str, localized: &str, current: f64, limit: u32| {
        json!({
            "id": format!(
                "/subscriptions/{subscription}/providers/Microsoft.ContainerInstance/locations/{location}/usages/{name}"
            ),
            "unit": "Count",
            "currentValue": current.ceil() as i64,
            "limit": limit,
            "name": { "value": name, "localizedValue": localized },
        })
    };
    json!({
        "value": [
            usage("ContainerGroups", "Container Groups", f64::from(groups), quotas.groups),
            usage("StandardCores", "Standard Cores", cores, quotas.cores),
            usage("StandardSpotCores", "Standard Spot Cores", 0.0, quotas.cores),
        ]
    })
}

/// Regional capabilities: the largest group for each OS and IP address type.
pub fn capabilities(shared: &Shared, location: &str) -> Value {
    let config = &shared.config;
    let mut value = Vec::new();
    for os in ["Linux", "Windows"] {
        for ip in ["Public", "Private"] {
            value.push(json!({
                "resourceType": "containerGroups",
                "osType": os,
                "location": location,
                "ipAddressType": ip,
                "gpu": "None",
                "capabilities": {
                    "maxMemoryInGB": config.max_memory_per_group,
                    "maxCpu": config.max_cpu_per_group,
                    "maxGpuCount": 0,
                },
            }));
        }
    }
    json!({ "value": value })
}
