//! Azure Monitor's `Metrics - List` on a container group, as the backend calls it for `kubectl top`.

use aci_emulator::{FaultKind, FaultRule};
use chrono::{DateTime, SecondsFormat, TimeDelta, Timelike, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::arm_client::{Arm, Reply, group_body};

/// `GET {group}/providers/microsoft.insights/metrics` with these query parameters (api-version added
/// unless given).
async fn metrics(arm: &Arm, name: &str, params: &[(&str, &str)]) -> Reply {
    let url = format!(
        "{}{}/providers/microsoft.insights/metrics",
        arm.emulator.base_url(),
        Arm::group_path("rg", name)
    );
    let mut query: Vec<(&str, &str)> = params.to_vec();
    if !params.iter().any(|(k, _)| *k == "api-version") {
        query.push(("api-version", "2018-01-01"));
    }
    let response =
        arm.http.get(url).query(&query).bearer_auth(&arm.token).send().await.expect("the emulator answers");
    let (status, headers) = (response.status(), response.headers().clone());
    let body = response.json().await.expect("a JSON body");
    Reply { status, headers, body }
}

fn time(value: &Value) -> DateTime<Utc> {
    let text = value.as_str().expect("a time string");
    DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).expect("an RFC 3339 time")
}

fn minute(t: DateTime<Utc>) -> DateTime<Utc> {
    t.with_second(0).and_then(|t| t.with_nanosecond(0)).expect("a valid time")
}

/// Checks the points of one series: consecutive whole minutes from `first`, each with `average(minute)`.
fn check_points(series: &Value, first: DateTime<Utc>, average: impl Fn(DateTime<Utc>) -> f64) {
    let data = series["data"].as_array().expect("a data array");
    assert!(!data.is_empty(), "a running container has data: {series}");
    for (i, point) in data.iter().enumerate() {
        let text = point["timeStamp"].as_str().unwrap_or_default();
        assert!(text.ends_with(":00Z"), "whole minutes in UTC: {text}");
        let at = time(&point["timeStamp"]);
        assert_eq!(at, first + TimeDelta::minutes(i as i64), "consecutive minutes from the start: {series}");
        assert_eq!(point["average"].as_f64(), Some(average(at)), "{point}");
    }
}

#[tokio::test]
async fn container_group_metrics_are_served_per_container_and_summed() {
    let arm = Arm::fast().await;
    let mut body = group_body("nginx", "Always");
    let side = json!({ "name": "side", "properties": { "image": "busybox",
        "resources": { "requests": { "cpu": 0.5, "memoryInGB": 1.0 } } } });
    body["properties"]["containers"].as_array_mut().expect("a container list").push(side);
    assert_eq!(arm.put_group("rg", "g", body).await.status, StatusCode::CREATED);
    let all_running = |g: &Value| {
        g["properties"]["containers"].as_array().is_some_and(|cs| {
            cs.iter().all(|c| c["properties"]["instanceView"]["currentState"]["state"] == "Running")
        })
    };
    let running = arm.wait_for("rg", "g", all_running).await;
    let started = |i: usize| {
        minute(time(
            &running["properties"]["containers"][i]["properties"]["instanceView"]["currentState"]["startTime"],
        ))
    };
    let (main_start, side_start) = (started(0), started(1));
    let now = Utc::now();
    let timespan = format!(
        "{}/{}",
        (now - TimeDelta::minutes(5)).to_rfc3339_opts(SecondsFormat::Secs, true),
        (now + TimeDelta::minutes(1)).to_rfc3339_opts(SecondsFormat::Secs, true)
    );
    let query = |filter: Option<&'static str>| {
        let mut q = vec![
            ("metricnames", "CpuUsage,MemoryUsage"),
            ("aggregation", "Average"),
            ("interval", "PT1M"),
            ("timespan", timespan.as_str()),
        ];
        q.extend(filter.map(|f| ("$filter", f)));
        q
    };

    let split = metrics(&arm, "g", &query(Some("containerName eq '*'"))).await;
    assert_eq!(split.status, StatusCode::OK, "{}", split.body);
    assert_eq!(split.body["timespan"], timespan.as_str());
    assert_eq!(split.body["interval"], "PT1M");
    assert_eq!(split.body["namespace"], "Microsoft.ContainerInstance/containerGroups");
    assert_eq!(split.body["resourceregion"], "westus");
    let [cpu, memory] = [0, 1].map(|i| split.body["value"][i].clone());
    assert_eq!(split.body["value"].as_array().map(Vec::len), Some(2));
    let names =
        |m: &Value| (m["name"]["value"].clone(), m["name"]["localizedValue"].clone(), m["unit"].clone());
    assert_eq!(names(&cpu), (json!("CpuUsage"), json!("CPU Usage"), json!("Count")));
    assert_eq!(names(&memory), (json!("MemoryUsage"), json!("Memory Usage"), json!("Bytes")));
    let id = format!("{}/providers/Microsoft.Insights/metrics/CpuUsage", Arm::group_path("rg", "g"));
    assert_eq!(
        (&cpu["id"], &cpu["type"], &cpu["errorCode"]),
        (&json!(id), &json!("Microsoft.Insights/metrics"), &json!("Success"))
    );
    for (metric, values) in [(&cpu, [100.0, 50.0]), (&memory, [402_653_184.0, 268_435_456.0])] {
        let series = metric["timeseries"].as_array().expect("a timeseries array");
        let containers: Vec<&Value> = series.iter().map(|s| &s["metadatavalues"][0]["value"]).collect();
        assert_eq!(containers, [&json!("main"), &json!("side")]);
        assert_eq!(series[0]["metadatavalues"][0]["name"]["value"], "containername");
        check_points(&series[0], main_start, |_| values[0]);
        check_points(&series[1], side_start, |_| values[1]);
    }

    let summed = metrics(&arm, "g", &query(None)).await;
    assert_eq!(summed.status, StatusCode::OK, "{}", summed.body);
    let series = &summed.body["value"][0]["timeseries"];
    assert_eq!(series.as_array().map(Vec::len), Some(1), "one series without the filter: {series}");
    assert_eq!(series[0]["metadatavalues"], json!([]));
    let sum = |at: DateTime<Utc>| -> f64 {
        [(main_start, 100.0), (side_start, 50.0)].iter().filter(|(s, _)| *s <= at).map(|(_, v)| v).sum()
    };
    check_points(&series[0], main_start.min(side_start), sum);

    let one =
        metrics(&arm, "g", &[("metricnames", "memoryusage"), ("$filter", "containerName eq 'side'")]).await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.body);
    assert_eq!(one.body["value"][0]["timeseries"].as_array().map(Vec::len), Some(1));
    assert_eq!(one.body["value"][0]["timeseries"][0]["metadatavalues"][0]["value"], "side");
    assert_eq!(one.body["value"][0]["timeseries"][0]["data"][0]["average"], 268_435_456.0);

    let unsupported = metrics(&arm, "g", &[("metricnames", "CpuUsage,NetworkBytesReceivedPerSecond")]).await;
    assert_eq!((unsupported.status, unsupported.error_code()), (StatusCode::BAD_REQUEST, "BadRequest"));
    let message = unsupported.body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("NetworkBytesReceivedPerSecond") && message.contains("CpuUsage and MemoryUsage"),
        "{message}"
    );
    let wrong_version =
        metrics(&arm, "g", &[("metricnames", "CpuUsage"), ("api-version", "2025-09-01")]).await;
    assert_eq!(
        (wrong_version.status, wrong_version.error_code()),
        (StatusCode::BAD_REQUEST, "NoRegisteredProviderFound")
    );

    let unknown = metrics(&arm, "none", &query(None)).await;
    assert_eq!((unknown.status, unknown.error_code()), (StatusCode::NOT_FOUND, "ResourceNotFound"));
    assert_eq!(unknown.body, arm.get_group("rg", "none").await.body, "the same 404 as a GET of the group");

    arm.emulator.set_faults(vec![FaultRule {
        operation: "Metrics_List".into(),
        kind: FaultKind::Error503,
        rate: 1.0,
        latency_ms: 0,
    }]);
    assert_eq!(metrics(&arm, "g", &query(None)).await.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(arm.get_group("rg", "g").await.status, StatusCode::OK, "the rule names Metrics_List only");
    let counters = arm.emulator.counters();
    assert_eq!(counters.get("Metrics_List"), Some(&7), "{counters:?}");
    assert_eq!(counters.get("fault:error503:Metrics_List"), Some(&1), "{counters:?}");
}
