//! What Azure Monitor says of one group's containers, folded into the latest CPU and memory
//! readings plus a cumulative CPU counter (the kubelet's `usageCoreNanoSeconds`, which
//! metrics-server turns back into a rate). ACI publishes one-minute averages only, so the counter
//! is their sum: each minute's average in millicores times sixty seconds.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::arm::metrics::{CPU_USAGE, MEMORY_USAGE, MetricsResponse, TimeSeries};

/// Core-nanoseconds one millicore uses in one minute.
const CORE_NANOS_PER_MILLICORE_MINUTE: f64 = 1e-3 * 60.0 * 1e9;

/// One reading: when (start of its minute) and the value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    /// Start of the minute the average covers.
    pub at: DateTime<Utc>,
    /// The average.
    pub value: f64,
}

/// One container's usage.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContainerUsage {
    /// Latest CPU reading, in millicores.
    pub cpu_millicores: Option<Reading>,
    /// Latest memory reading, in bytes.
    pub memory_bytes: Option<Reading>,
    /// CPU used since the first minute seen, in core-nanoseconds.
    pub cpu_core_nano_seconds: u64,
    /// The last minute counted into `cpu_core_nano_seconds`.
    pub counted_through: Option<DateTime<Utc>>,
}

/// A group's usage, by container name.
pub type GroupUsage = BTreeMap<String, ContainerUsage>;

fn container_of(series: &TimeSeries) -> Option<&str> {
    series
        .metadatavalues
        .iter()
        .find(|m| m.name.value.eq_ignore_ascii_case("containername"))
        .and_then(|m| m.value.as_deref())
}

fn readings(series: &TimeSeries) -> impl Iterator<Item = Reading> + '_ {
    series.data.iter().filter_map(|d| d.average.map(|value| Reading { at: d.time_stamp, value }))
}

/// The usage after `response`, continuing the counters of `previous`. Containers the answer
/// does not mention keep nothing (they are gone or have not run).
pub fn fold(previous: Option<&GroupUsage>, response: &MetricsResponse) -> GroupUsage {
    let mut usage = GroupUsage::new();
    for metric in &response.value {
        let cpu = metric.name.value.eq_ignore_ascii_case(CPU_USAGE);
        if !cpu && !metric.name.value.eq_ignore_ascii_case(MEMORY_USAGE) {
            continue;
        }
        for series in &metric.timeseries {
            let Some(container) = container_of(series) else { continue };
            let entry = usage.entry(container.to_owned()).or_insert_with(|| {
                let before = previous.and_then(|p| p.get(container));
                ContainerUsage {
                    cpu_core_nano_seconds: before.map_or(0, |b| b.cpu_core_nano_seconds),
                    counted_through: before.and_then(|b| b.counted_through),
                    ..ContainerUsage::default()
                }
            });
            let latest = readings(series).max_by_key(|r| r.at);
            if cpu {
                entry.cpu_millicores = latest;
                for reading in readings(series) {
                    if entry.counted_through.is_none_or(|through| reading.at > through) {
                        let used = (reading.value.max(0.0) * CORE_NANOS_PER_MILLICORE_MINUTE).round();
                        // Saturating: an absurd reading must not wrap the counter.
                        entry.cpu_core_nano_seconds = entry.cpu_core_nano_seconds.saturating_add(used as u64);
                        entry.counted_through = Some(reading.at);
                    }
                }
            } else {
                entry.memory_bytes = latest;
            }
        }
    }
    usage
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A container's CPU points: (minute, average).
    type Points<'a> = &'a [(u32, Option<f64>)];

    fn response(cpu: &[(&str, Points<'_>)], memory: &[(&str, f64)]) -> MetricsResponse {
        let series = |container: &str, points: Vec<serde_json::Value>| {
            serde_json::json!({
                "metadatavalues": [{"name": {"value": "containername"}, "value": container}],
                "data": points,
            })
        };
        let at = |minute: u32| format!("2026-11-27T10:{minute:02}:00Z");
        let cpu: Vec<_> = cpu
            .iter()
            .map(|(c, points)| {
                let points = points
                    .iter()
                    .map(|(m, v)| match v {
                        Some(v) => serde_json::json!({"timeStamp": at(*m), "average": v}),
                        None => serde_json::json!({"timeStamp": at(*m)}),
                    })
                    .collect();
                series(c, points)
            })
            .collect();
        let memory: Vec<_> = memory
            .iter()
            .map(|(c, v)| series(c, vec![serde_json::json!({"timeStamp": at(1), "average": v})]))
            .collect();
        serde_json::from_value(serde_json::json!({"value": [
            {"name": {"value": "CpuUsage"}, "timeseries": cpu},
            {"name": {"value": "MemoryUsage"}, "timeseries": memory},
        ]}))
        .expect("a metrics answer")
    }

    #[test]
    fn the_latest_minute_gives_the_readings_and_every_minute_counts_once() {
        let first =
            fold(None, &response(&[("web", &[(1, Some(100.0)), (2, Some(50.0))])], &[("web", 2048.0)]));
        let web = &first["web"];
        assert_eq!(web.cpu_millicores.map(|r| r.value), Some(50.0));
        assert_eq!(web.memory_bytes.map(|r| r.value), Some(2048.0));
        // 100 + 50 millicores for a minute each: 0.15 cores * 60 s.
        assert_eq!(web.cpu_core_nano_seconds, 9_000_000_000);

        // The next answer overlaps the minutes already counted.
        let second = fold(Some(&first), &response(&[("web", &[(2, Some(50.0)), (3, Some(10.0))])], &[]));
        assert_eq!(second["web"].cpu_core_nano_seconds, 9_000_000_000 + 600_000_000);
        assert_eq!(second["web"].cpu_millicores.map(|r| r.value), Some(10.0));
    }

    #[test]
    fn minutes_without_an_average_and_other_metrics_are_skipped() {
        let mut r = response(&[("web", &[(1, None), (2, Some(1.0))]), ("side", &[(2, None)])], &[]);
        r.value.push(
            serde_json::from_value(serde_json::json!({"name": {"value": "NetworkBytesReceivedPerSecond"},
                "timeseries": [{"metadatavalues": [{"name": {"value": "containername"}, "value": "net"}],
                "data": [{"timeStamp": "2026-11-27T10:01:00Z", "average": 5.0}]}]}))
            .expect("a metric"),
        );
        let usage = fold(None, &r);
        assert_eq!(usage.keys().collect::<Vec<_>>(), vec!["side", "web"]);
        assert_eq!(usage["web"].cpu_core_nano_seconds, 60_000_000);
        assert_eq!(usage["side"], ContainerUsage::default());
    }
}
