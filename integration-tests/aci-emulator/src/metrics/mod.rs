//! Azure Monitor's `Metrics - List` (operationId `Metrics_List`, api-version 2018-01-01) for container
//! groups: `GET {groupId}/providers/Microsoft.Insights/metrics`, serving `CpuUsage` and `MemoryUsage`
//! with their `containerName` dimension, so that a backend can show pod usage (`kubectl top`).

mod metric;
mod query;
mod series;
mod usage;

use std::collections::HashMap;

use axum::Json;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

pub use metric::Metric;
pub use query::{ContainerFilter, MetricsQuery, QueryError, Timespan, parse};
pub use series::{Series, floor_minute, running_minutes, series};
pub use usage::simulated_usage;

use crate::arm::{ArmError, GroupRef};
use crate::groups::Group;
use crate::state::Shared;

/// The only api-version of the metrics API the emulator accepts.
pub const API_VERSION: &str = "2018-01-01";

/// `GET .../containerGroups/{name}/providers/Microsoft.Insights/metrics`: 404 for an unknown group (as its
/// GET), 400 for a query the emulator does not serve, else the metrics as of now.
pub fn list(shared: &Shared, g: &GroupRef, query: &HashMap<String, String>) -> Result<Response, ArmError> {
    let group =
        shared.store.get(&g.key()).ok_or_else(|| ArmError::not_found_group(&g.name, &g.resource_group))?;
    let now = Utc::now();
    let query = parse(query, now)?;
    Ok(Json(body(&group, &query, now)).into_response())
}

/// The response body in Azure Monitor's `Response` shape.
pub fn body(group: &Group, query: &MetricsQuery, now: DateTime<Utc>) -> Value {
    let group_id = group.gref.id();
    let metrics: Vec<Value> = query
        .metrics
        .iter()
        .map(|&metric| {
            let timeseries: Vec<Value> = series(group, metric, &query.filter, &query.timespan, now)
                .iter()
                .map(render_series)
                .collect();
            json!({
                "id": format!("{group_id}/providers/Microsoft.Insights/metrics/{}", metric.name()),
                "type": "Microsoft.Insights/metrics",
                "name": { "value": metric.name(), "localizedValue": metric.localized_name() },
                "displayDescription": metric.description(),
                "unit": metric.unit(),
                "timeseries": timeseries,
                "errorCode": "Success",
            })
        })
        .collect();
    json!({
        "cost": 0,
        "timespan": query.timespan.render(),
        "interval": "PT1M",
        "namespace": "Microsoft.ContainerInstance/containerGroups",
        "resourceregion": group.location,
        "value": metrics,
    })
}

/// One `timeseries` entry: `metadatavalues` names the container of a filtered series.
fn render_series(s: &Series) -> Value {
    let metadata: Vec<Value> = s
        .container
        .iter()
        .map(|name| {
            json!({ "name": { "value": "containername", "localizedValue": "containername" }, "value": name })
        })
        .collect();
    let data: Vec<Value> = s
        .points
        .iter()
        .map(|(minute, average)| {
            json!({ "timeStamp": minute.to_rfc3339_opts(SecondsFormat::Secs, true), "average": average })
        })
        .collect();
    json!({ "metadatavalues": metadata, "data": data })
}
