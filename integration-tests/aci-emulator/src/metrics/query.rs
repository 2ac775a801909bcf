//! The query parameters of `Metrics - List` the emulator understands (`metricnames`, `aggregation`,
//! `interval`, `timespan`, `$filter`), parsed into a `MetricsQuery`. Names of parameters, metrics and the
//! dimension compare without case, as Azure Monitor's do. Anything the emulator does not serve is a 400.

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, TimeDelta, Timelike, Utc};

use super::metric::Metric;
use crate::arm::ArmError;

/// What a `Metrics - List` call asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricsQuery {
    /// In the order of `metricnames`, without repeats.
    pub metrics: Vec<Metric>,
    pub timespan: Timespan,
    pub filter: ContainerFilter,
}

/// The `timespan` of a query: from `start` to `end`, both included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timespan {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Timespan {
    /// `start/end` as the response's `timespan` gives it (fractions of a second only when present).
    pub fn render(&self) -> String {
        let time = |t: &DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::AutoSi, true);
        format!("{}/{}", time(&self.start), time(&self.end))
    }
}

/// Which time series the `$filter` on the `containerName` dimension asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContainerFilter {
    /// No `$filter`: one series per metric, summed over the group's containers, without `metadatavalues`.
    Absent,
    /// `containerName eq '*'`: one series per container.
    Every,
    /// `containerName eq 'name'`: the series of that container only.
    Named(String),
}

/// Why a query is refused (400, code `BadRequest`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error(
        "The metricnames parameter is required by the emulator (Azure would return the resource's default \
         metric). The emulator serves only CpuUsage and MemoryUsage."
    )]
    MissingMetricNames,
    #[error(
        "The metric '{0}' is not supported for Microsoft.ContainerInstance/containerGroups: the emulator serves \
         only CpuUsage and MemoryUsage."
    )]
    UnsupportedMetric(String),
    #[error("The aggregation '{0}' is not supported: the emulator serves only Average.")]
    UnsupportedAggregation(String),
    #[error("The interval '{0}' is not supported: the emulator serves only PT1M.")]
    UnsupportedInterval(String),
    #[error(
        "The timespan '{0}' is invalid: the emulator expects 'start/end' in RFC 3339, e.g. \
         '2026-11-27T10:00:00Z/2026-11-27T10:05:00Z'."
    )]
    InvalidTimespan(String),
    #[error("The timespan '{0}' is invalid: its end is before its start.")]
    ReversedTimespan(String),
    #[error(
        "The $filter '{0}' is not supported: the emulator serves only \"containerName eq '*'\" and \
         \"containerName eq '<container name>'\"."
    )]
    UnsupportedFilter(String),
}

impl From<QueryError> for ArmError {
    fn from(e: QueryError) -> Self {
        ArmError::bad_request("BadRequest", e.to_string())
    }
}

/// A query parameter by name, without case; empty values count as absent.
fn param<'a>(query: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    query.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim()).filter(|v| !v.is_empty())
}

/// Parses the query of one call; `now` is the end of the default timespan (the last hour).
pub fn parse(query: &HashMap<String, String>, now: DateTime<Utc>) -> Result<MetricsQuery, QueryError> {
    let metrics = metric_names(param(query, "metricnames"))?;
    if let Some(aggregation) = param(query, "aggregation") {
        let other = aggregation.split(',').map(str::trim).find(|a| !a.eq_ignore_ascii_case("average"));
        if let Some(other) = other {
            return Err(QueryError::UnsupportedAggregation(other.to_owned()));
        }
    }
    if let Some(interval) = param(query, "interval").filter(|i| !i.eq_ignore_ascii_case("PT1M")) {
        return Err(QueryError::UnsupportedInterval(interval.to_owned()));
    }
    let timespan = match param(query, "timespan") {
        Some(text) => timespan(text)?,
        None => {
            let end = now.with_nanosecond(0).unwrap_or(now);
            Timespan { start: end - TimeDelta::hours(1), end }
        }
    };
    let filter = match param(query, "$filter") {
        Some(text) => container_filter(text)?,
        None => ContainerFilter::Absent,
    };
    Ok(MetricsQuery { metrics, timespan, filter })
}

fn metric_names(names: Option<&str>) -> Result<Vec<Metric>, QueryError> {
    let mut metrics = Vec::new();
    for name in names.into_iter().flat_map(|n| n.split(',')).map(str::trim).filter(|n| !n.is_empty()) {
        let metric = Metric::from_name(name).ok_or_else(|| QueryError::UnsupportedMetric(name.to_owned()))?;
        if !metrics.contains(&metric) {
            metrics.push(metric);
        }
    }
    if metrics.is_empty() {
        return Err(QueryError::MissingMetricNames);
    }
    Ok(metrics)
}

fn timespan(text: &str) -> Result<Timespan, QueryError> {
    let invalid = || QueryError::InvalidTimespan(text.to_owned());
    let (start, end) = text.split_once('/').ok_or_else(invalid)?;
    let time = |t: &str| DateTime::parse_from_rfc3339(t.trim()).map(|t| t.with_timezone(&Utc));
    let (start, end) = (time(start).map_err(|_| invalid())?, time(end).map_err(|_| invalid())?);
    if end < start {
        return Err(QueryError::ReversedTimespan(text.to_owned()));
    }
    Ok(Timespan { start, end })
}

/// `containerName eq '<value>'`, with any whitespace between the parts.
fn container_filter(text: &str) -> Result<ContainerFilter, QueryError> {
    let unsupported = || QueryError::UnsupportedFilter(text.to_owned());
    let (dimension, rest) = text.trim().split_once(char::is_whitespace).ok_or_else(unsupported)?;
    let (operator, value) = rest.trim_start().split_once(char::is_whitespace).ok_or_else(unsupported)?;
    if !dimension.eq_ignore_ascii_case("containerName") || !operator.eq_ignore_ascii_case("eq") {
        return Err(unsupported());
    }
    let value = value
        .trim()
        .strip_prefix('\'')
        .and_then(|r| r.strip_suffix('\''))
        .filter(|v| !v.is_empty() && !v.contains('\''))
        .ok_or_else(unsupported)?;
    Ok(if value == "*" { ContainerFilter::Every } else { ContainerFilter::Named(value.to_owned()) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).expect("a valid time")
    }

    const FULL: &[(&str, &str)] = &[
        ("api-version", "2018-01-01"),
        ("metricnames", "CpuUsage,MemoryUsage"),
        ("aggregation", "Average"),
        ("interval", "PT1M"),
        ("timespan", "2026-11-27T10:00:00Z/2026-11-27T10:05:00Z"),
        ("$filter", "containerName eq '*'"),
    ];

    #[test]
    fn the_backend_query_is_understood() {
        let q = parse(&query(FULL), Utc::now()).expect("a valid query");
        assert_eq!(q.metrics, [Metric::CpuUsage, Metric::MemoryUsage]);
        assert_eq!(
            q.timespan,
            Timespan { start: at("2026-11-27T10:00:00Z"), end: at("2026-11-27T10:05:00Z") }
        );
        assert_eq!(q.timespan.render(), "2026-11-27T10:00:00Z/2026-11-27T10:05:00Z");
        assert_eq!(q.filter, ContainerFilter::Every);
    }

    #[test]
    fn optional_parameters_have_defaults_and_names_ignore_case() {
        let now = at("2026-11-27T10:05:30.250Z");
        let q = parse(&query(&[("MetricNames", "memoryusage, CPUUSAGE,MemoryUsage")]), now).expect("valid");
        assert_eq!(q.metrics, [Metric::MemoryUsage, Metric::CpuUsage], "request order, no repeats");
        assert_eq!(q.filter, ContainerFilter::Absent);
        assert_eq!(q.timespan.render(), "2026-11-27T09:05:30Z/2026-11-27T10:05:30Z", "the last hour");
        let q = parse(
            &query(&[("metricnames", "CpuUsage"), ("aggregation", "average"), ("interval", "pt1m")]),
            now,
        );
        assert!(q.is_ok(), "{q:?}");
    }

    #[test]
    fn unsupported_metrics_aggregations_and_intervals_are_named() {
        let refused = |pairs: &[(&str, &str)]| parse(&query(pairs), Utc::now()).expect_err("refused");
        let err = refused(&[("metricnames", "CpuUsage,NetworkBytesReceivedPerSecond")]);
        assert_eq!(err, QueryError::UnsupportedMetric("NetworkBytesReceivedPerSecond".into()));
        let message = err.to_string();
        assert!(
            message.contains("NetworkBytesReceivedPerSecond") && message.contains("CpuUsage and MemoryUsage")
        );
        assert_eq!(refused(&[]), QueryError::MissingMetricNames);
        assert_eq!(refused(&[("metricnames", " , ")]), QueryError::MissingMetricNames);
        assert_eq!(
            refused(&[("metricnames", "CpuUsage"), ("aggregation", "Average,Maximum")]),
            QueryError::UnsupportedAggregation("Maximum".into())
        );
        assert_eq!(
            refused(&[("metricnames", "CpuUsage"), ("interval", "PT5M")]),
            QueryError::UnsupportedInterval("PT5M".into())
        );
    }

    #[test]
    fn timespans_must_be_two_ordered_rfc3339_times() {
        let span = |text: &str| parse(&query(&[("metricnames", "CpuUsage"), ("timespan", text)]), Utc::now());
        let ok = span("2026-11-27T11:00:00+01:00/2026-11-27T10:00:30.5Z").expect("valid");
        assert_eq!(ok.timespan.render(), "2026-11-27T10:00:00Z/2026-11-27T10:00:30.500Z");
        for bad in ["PT1H", "2026-11-27T10:00:00Z", "2026-11-27/2026-11-28", "yesterday/today"] {
            assert_eq!(span(bad), Err(QueryError::InvalidTimespan(bad.into())));
        }
        let reversed = "2026-11-27T10:05:00Z/2026-11-27T10:00:00Z";
        assert_eq!(span(reversed), Err(QueryError::ReversedTimespan(reversed.into())));
    }

    #[test]
    fn the_filter_selects_every_container_or_one() {
        let filter =
            |text: &str| parse(&query(&[("metricnames", "CpuUsage"), ("$filter", text)]), Utc::now());
        assert_eq!(filter("containerName eq '*'").map(|q| q.filter), Ok(ContainerFilter::Every));
        assert_eq!(filter(" ContainerName  EQ  '*' ").map(|q| q.filter), Ok(ContainerFilter::Every));
        assert_eq!(
            filter("containername eq 'web'").map(|q| q.filter),
            Ok(ContainerFilter::Named("web".into()))
        );
        for bad in [
            "containerName eq *",
            "containerName ne '*'",
            "containerName eq ''",
            "containerName eq 'a' or containerName eq 'b'",
            "instance eq '*'",
            "containerName",
        ] {
            assert_eq!(filter(bad), Err(QueryError::UnsupportedFilter(bad.into())), "{bad}");
        }
    }
}
