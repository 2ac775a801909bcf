//! Time series of one metric for one group: a data point per whole minute in which a container's current
//! instance was running, valued by `simulated_usage`, per container or summed over the group.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Timelike, Utc};

use super::metric::Metric;
use super::query::{ContainerFilter, Timespan};
use super::usage::simulated_usage;
use crate::groups::{ContainerState, Group};

/// One time series: the container it belongs to (None when summed over the group) and its points.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub container: Option<String>,
    /// (start of the minute, average over that minute), oldest first.
    pub points: Vec<(DateTime<Utc>, f64)>,
}

/// `t` with seconds and fractions set to zero.
pub fn floor_minute(t: DateTime<Utc>) -> DateTime<Utc> {
    t.with_second(0).and_then(|t| t.with_nanosecond(0)).unwrap_or(t)
}

/// The minutes (by their start) within `window` (from the minute of its start to its end) in which the
/// instance described by `state` ran: from the minute it started until its finish, or `now` while it runs.
/// An instance that has not started (Waiting) has none.
pub fn running_minutes(state: &ContainerState, window: &Timespan, now: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let Some(started) = state.start_time else { return Vec::new() };
    let until = floor_minute(state.finish_time.unwrap_or(now)).min(window.end);
    let mut minute = floor_minute(started).max(floor_minute(window.start));
    let mut minutes = Vec::new();
    while minute <= until {
        minutes.push(minute);
        minute += TimeDelta::minutes(1);
    }
    minutes
}

/// The time series of `metric` for `group` that `filter` asks for. With a filter, every selected
/// container has a series, empty when it did not run in `window`; a name no container has selects none.
pub fn series(
    group: &Group,
    metric: Metric,
    filter: &ContainerFilter,
    window: &Timespan,
    now: DateTime<Utc>,
) -> Vec<Series> {
    let per_container = group.spec.properties.containers.iter().filter_map(|container| {
        let status = group.containers.iter().find(|s| s.name == container.name)?;
        let (cpu, memory) = container
            .properties
            .resources
            .as_ref()
            .map_or((0.0, 0.0), |r| (r.requests.cpu, r.requests.memory_in_gb));
        let value = simulated_usage(metric, cpu, memory);
        let points = running_minutes(&status.current, window, now).into_iter().map(|m| (m, value)).collect();
        Some(Series { container: Some(container.name.clone()), points })
    });
    match filter {
        ContainerFilter::Every => per_container.collect(),
        ContainerFilter::Named(name) => per_container
            .filter(|s| s.container.as_deref().is_some_and(|c| c.eq_ignore_ascii_case(name)))
            .collect(),
        ContainerFilter::Absent => {
            let mut sums: BTreeMap<DateTime<Utc>, f64> = BTreeMap::new();
            for (minute, value) in per_container.flat_map(|s| s.points) {
                *sums.entry(minute).or_default() += value;
            }
            vec![Series { container: None, points: sums.into_iter().collect() }]
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::arm::GroupRef;
    use crate::groups::{ContainerStatus, GroupLimits, Provisioning, validate};

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).expect("a valid time")
    }

    fn window(start: &str, end: &str) -> Timespan {
        Timespan { start: at(start), end: at(end) }
    }

    fn ran(start: Option<&str>, finish: Option<&str>) -> ContainerState {
        ContainerState { start_time: start.map(at), finish_time: finish.map(at), ..ContainerState::default() }
    }

    fn minutes(list: &[DateTime<Utc>]) -> Vec<String> {
        list.iter().map(|m| m.format("%H:%M:%S").to_string()).collect()
    }

    #[test]
    fn a_running_instance_has_every_minute_from_its_start_until_now() {
        let now = at("2026-11-27T10:03:40Z");
        let state = ran(Some("2026-11-27T10:01:30Z"), None);
        let all = window("2026-11-27T10:00:00Z", "2026-11-27T10:05:00Z");
        assert_eq!(minutes(&running_minutes(&state, &all, now)), ["10:01:00", "10:02:00", "10:03:00"]);
        let late = window("2026-11-27T10:02:10Z", "2026-11-27T10:02:50Z");
        assert_eq!(
            minutes(&running_minutes(&state, &late, now)),
            ["10:02:00"],
            "the window's start is floored"
        );
    }

    #[test]
    fn a_finished_instance_stops_at_its_finish_and_a_waiting_one_has_nothing() {
        let now = at("2026-11-27T10:30:00Z");
        let all = window("2026-11-27T10:00:00Z", "2026-11-27T10:05:00Z");
        let done = ran(Some("2026-11-27T09:58:00Z"), Some("2026-11-27T10:01:05Z"));
        assert_eq!(minutes(&running_minutes(&done, &all, now)), ["10:00:00", "10:01:00"]);
        let long = ran(Some("2026-11-27T09:00:00Z"), None);
        assert_eq!(running_minutes(&long, &all, now).len(), 6, "10:00 to 10:05, the end included");
        assert!(running_minutes(&ran(None, None), &all, now).is_empty());
        let before = ran(Some("2026-11-27T09:00:00Z"), Some("2026-11-27T09:10:00Z"));
        assert!(running_minutes(&before, &all, now).is_empty());
    }

    fn group() -> Group {
        let raw = json!({ "location": "westus", "properties": { "osType": "Linux", "containers": [
            { "name": "web", "properties": { "image": "nginx",
                "resources": { "requests": { "cpu": 1.0, "memoryInGB": 1.5 } } } },
            { "name": "side", "properties": { "image": "nginx",
                "resources": { "requests": { "cpu": 0.5, "memoryInGB": 1.0 } } } } ] } });
        let spec = validate("g", &raw, GroupLimits { max_cpu: 4.0, max_memory_gb: 16.0 }).expect("valid");
        let status = |name: &str, current: ContainerState| ContainerStatus {
            name: name.into(),
            current,
            ..ContainerStatus::default()
        };
        Group {
            gref: GroupRef { subscription: "s".into(), resource_group: "rg".into(), name: "g".into() },
            location: "westus".into(),
            raw,
            spec,
            provisioning: Provisioning::Succeeded,
            state: "Running".into(),
            ip: "20.0.0.1".into(),
            containers: vec![
                status("web", ran(Some("2026-11-27T10:01:10Z"), None)),
                status("side", ran(Some("2026-11-27T10:02:20Z"), None)),
            ],
            init_containers: Vec::new(),
            events: Vec::new(),
            generation: 1,
        }
    }

    #[test]
    fn without_a_filter_the_containers_are_summed_minute_by_minute() {
        let (all, now) = (window("2026-11-27T10:00:00Z", "2026-11-27T10:05:00Z"), at("2026-11-27T10:03:00Z"));
        let summed = series(&group(), Metric::CpuUsage, &ContainerFilter::Absent, &all, now);
        let expected = [("10:01", 100.0), ("10:02", 150.0), ("10:03", 150.0)]
            .map(|(m, v)| (at(&format!("2026-11-27T{m}:00Z")), v));
        assert_eq!(summed, [Series { container: None, points: expected.to_vec() }]);
    }

    #[test]
    fn with_a_filter_each_selected_container_has_its_series_even_when_empty() {
        let (all, now) = (window("2026-11-27T10:00:00Z", "2026-11-27T10:05:00Z"), at("2026-11-27T10:02:00Z"));
        let mut g = group();
        g.containers[1].current = ContainerState::waiting("Waiting");
        let every = series(&g, Metric::MemoryUsage, &ContainerFilter::Every, &all, now);
        let names: Vec<_> = every.iter().map(|s| (s.container.clone(), s.points.len())).collect();
        assert_eq!(names, [(Some("web".into()), 2), (Some("side".into()), 0)]);
        assert!(every[0].points.iter().all(|(_, v)| *v == 402_653_184.0));
        let one = series(&g, Metric::CpuUsage, &ContainerFilter::Named("WEB".into()), &all, now);
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].container.as_deref(), Some("web"));
        assert!(series(&g, Metric::CpuUsage, &ContainerFilter::Named("none".into()), &all, now).is_empty());
    }
}
