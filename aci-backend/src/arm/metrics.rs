//! A container group's CPU and memory usage from Azure Monitor (`Metrics - List`,
//! api-version 2018-01-01): ACI publishes usage nowhere else. One ARM read per call.

use chrono::{DateTime, SecondsFormat, Utc};
use http::Method;
use serde::Deserialize;

use super::client::ArmClient;
use super::error::ArmError;
use super::request::ArmRequest;

/// Azure Monitor's metrics API version.
pub const METRICS_API_VERSION: &str = "2018-01-01";
/// ACI's CPU metric: average millicores over one minute, per container.
pub const CPU_USAGE: &str = "CpuUsage";
/// ACI's memory metric: average bytes over one minute, per container.
pub const MEMORY_USAGE: &str = "MemoryUsage";

/// Azure Monitor's answer (only the fields read here).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct MetricsResponse {
    /// One entry per metric asked for.
    #[serde(default)]
    pub value: Vec<Metric>,
}

/// One metric's time series.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metric {
    /// The metric's name.
    pub name: LocalizableString,
    /// One series per dimension value (per container here).
    #[serde(default)]
    pub timeseries: Vec<TimeSeries>,
    /// `Success`, or why this metric has no data.
    #[serde(default)]
    pub error_code: Option<String>,
}

/// A name with its display form.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalizableString {
    /// The invariant name.
    pub value: String,
}

/// The data points of one dimension value.
#[derive(Debug, Clone, Deserialize)]
pub struct TimeSeries {
    /// The dimension values (`containername`).
    #[serde(default)]
    pub metadatavalues: Vec<MetadataValue>,
    /// The data points, oldest first.
    #[serde(default)]
    pub data: Vec<MetricValue>,
}

/// One dimension value.
#[derive(Debug, Clone, Deserialize)]
pub struct MetadataValue {
    /// The dimension's name.
    pub name: LocalizableString,
    /// Its value.
    #[serde(default)]
    pub value: Option<String>,
}

/// One data point.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricValue {
    /// Start of the minute it covers.
    pub time_stamp: DateTime<Utc>,
    /// The average over that minute; absent when nothing was measured.
    #[serde(default)]
    pub average: Option<f64>,
}

impl ArmClient {
    /// Per-container `CpuUsage` and `MemoryUsage` of group `name`, one-minute averages between
    /// `from` and `to`.
    pub async fn group_metrics(
        &self,
        name: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<MetricsResponse, ArmError> {
        let t = self.target();
        let path = format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.ContainerInstance/containerGroups/{}\
             /providers/Microsoft.Insights/metrics",
            t.subscription_id, t.resource_group, name
        );
        let timespan = format!(
            "{}/{}",
            from.to_rfc3339_opts(SecondsFormat::Secs, true),
            to.to_rfc3339_opts(SecondsFormat::Secs, true)
        );
        let metricnames = format!("{CPU_USAGE},{MEMORY_USAGE}");
        let query = [
            ("metricnames", metricnames.as_str()),
            ("aggregation", "Average"),
            ("interval", "PT1M"),
            ("timespan", timespan.as_str()),
            ("$filter", "containerName eq '*'"),
        ];
        let url = self.url(&path, METRICS_API_VERSION, &query);
        self.send_json(ArmRequest::new("list_group_metrics", Method::GET, url)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_azure_monitor_answer_is_read_with_its_container_dimension() {
        let body = r#"{"cost":0,"timespan":"2026-11-27T10:00:00Z/2026-11-27T10:05:00Z","interval":"PT1M",
            "value":[{"id":"x","type":"Microsoft.Insights/metrics",
              "name":{"value":"CpuUsage","localizedValue":"CPU Usage"},"unit":"Count",
              "timeseries":[{"metadatavalues":[{"name":{"value":"containername","localizedValue":"containername"},
                "value":"web"}],"data":[{"timeStamp":"2026-11-27T10:01:00Z"},
                {"timeStamp":"2026-11-27T10:02:00Z","average":12.5}]}],"errorCode":"Success"}],
            "namespace":"Microsoft.ContainerInstance/containerGroups","resourceregion":"westeurope"}"#;
        let r: MetricsResponse = serde_json::from_str(body).expect("decodes");
        let metric = &r.value[0];
        assert_eq!((metric.name.value.as_str(), metric.error_code.as_deref()), ("CpuUsage", Some("Success")));
        let series = &metric.timeseries[0];
        assert_eq!(series.metadatavalues[0].value.as_deref(), Some("web"));
        assert_eq!(series.data.iter().map(|d| d.average).collect::<Vec<_>>(), vec![None, Some(12.5)]);
    }
}
