//! `/containerLogs` query options, validated as the kubelet validates `PodLogOptions`.

use chrono::{DateTime, Utc};
use thiserror::Error;
use vk_proto::v1::ContainerLogsRequest;

/// The log options of a request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogOptions {
    /// `follow`.
    pub follow: bool,
    /// `previous`.
    pub previous: bool,
    /// `timestamps`.
    pub timestamps: bool,
    /// `tailLines` (0 is a real value).
    pub tail_lines: Option<i64>,
    /// `sinceSeconds`.
    pub since_seconds: Option<i64>,
    /// `sinceTime` (RFC 3339).
    pub since_time: Option<DateTime<Utc>>,
    /// `limitBytes`.
    pub limit_bytes: Option<i64>,
}

/// A refused log option (answer 400).
#[derive(Debug, Error, PartialEq, Eq)]
pub enum LogOptionsError {
    /// Not a number, boolean or time.
    #[error("invalid value {value:?} for {name}")]
    Invalid {
        /// Parameter.
        name: &'static str,
        /// Its value.
        value: String,
    },
    /// A number out of its range.
    #[error("{0}")]
    OutOfRange(&'static str),
    /// Both sinceSeconds and sinceTime.
    #[error("at most one of sinceTime or sinceSeconds may be specified")]
    BothSince,
}

impl LogOptions {
    /// Parses the query string.
    pub fn from_query(query: &str) -> Result<Self, LogOptionsError> {
        let mut options = LogOptions::default();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, raw) = pair.split_once('=').unwrap_or((pair, ""));
            let value = decode(raw);
            let flag = |name: &'static str| match value.as_str() {
                "" | "true" | "1" => Ok(true),
                "false" | "0" => Ok(false),
                _ => Err(LogOptionsError::Invalid { name, value: value.clone() }),
            };
            let number = |name: &'static str| {
                value
                    .parse::<i64>()
                    .map(Some)
                    .map_err(|_| LogOptionsError::Invalid { name, value: value.clone() })
            };
            match key {
                "follow" => options.follow = flag("follow")?,
                "previous" => options.previous = flag("previous")?,
                "timestamps" => options.timestamps = flag("timestamps")?,
                "tailLines" => options.tail_lines = number("tailLines")?,
                "sinceSeconds" => options.since_seconds = number("sinceSeconds")?,
                "limitBytes" => options.limit_bytes = number("limitBytes")?,
                "sinceTime" => {
                    let time = DateTime::parse_from_rfc3339(&value)
                        .map_err(|_| LogOptionsError::Invalid { name: "sinceTime", value: value.clone() })?;
                    options.since_time = Some(time.with_timezone(&Utc));
                }
                _ => {}
            }
        }
        if options.tail_lines.is_some_and(|n| n < 0) {
            return Err(LogOptionsError::OutOfRange("tailLines must be greater than or equal to 0"));
        }
        if options.since_seconds.is_some_and(|n| n < 1) {
            return Err(LogOptionsError::OutOfRange("sinceSeconds must be greater than 0"));
        }
        if options.limit_bytes.is_some_and(|n| n < 1) {
            return Err(LogOptionsError::OutOfRange("limitBytes must be greater than 0"));
        }
        if options.since_seconds.is_some() && options.since_time.is_some() {
            return Err(LogOptionsError::BothSince);
        }
        Ok(options)
    }

    /// The provider request for a container of pod `pod_uid`.
    pub fn request(&self, pod_uid: &str, container: &str) -> ContainerLogsRequest {
        ContainerLogsRequest {
            pod_uid: pod_uid.to_owned(),
            container: container.to_owned(),
            follow: self.follow,
            tail_lines: self.tail_lines,
            since_seconds: self.since_seconds,
            since_time: self.since_time.map(|t| prost_types::Timestamp {
                seconds: t.timestamp(),
                nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0),
            }),
            timestamps: self.timestamps,
            limit_bytes: self.limit_bytes,
            previous: self.previous,
        }
    }
}

fn decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (other, _) => {
                out.push(other);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_options_parse() {
        let options = LogOptions::from_query(
            "follow=true&previous=false&timestamps=1&tailLines=0&limitBytes=10&sinceTime=2024-01-02T03%3A04%3A05Z",
        )
        .expect("valid");
        assert!(options.follow && options.timestamps && !options.previous);
        assert_eq!(options.tail_lines, Some(0), "0 is a real value");
        assert_eq!(options.limit_bytes, Some(10));
        let request = options.request("uid", "app");
        assert_eq!(request.since_time.map(|t| t.seconds), Some(1_704_164_645));
        assert_eq!(request.tail_lines, Some(0));
        assert_eq!(request.container, "app");
    }

    #[test]
    fn absent_options_stay_absent() {
        let request = LogOptions::from_query("").expect("valid").request("uid", "app");
        assert_eq!(request.tail_lines, None);
        assert_eq!(request.since_seconds, None);
        assert!(!request.follow);
    }

    #[test]
    fn out_of_range_and_conflicting_options_are_refused() {
        assert!(matches!(LogOptions::from_query("tailLines=-1"), Err(LogOptionsError::OutOfRange(_))));
        assert!(matches!(LogOptions::from_query("sinceSeconds=0"), Err(LogOptionsError::OutOfRange(_))));
        assert!(matches!(LogOptions::from_query("limitBytes=0"), Err(LogOptionsError::OutOfRange(_))));
        assert_eq!(
            LogOptions::from_query("sinceSeconds=5&sinceTime=2024-01-02T03:04:05Z"),
            Err(LogOptionsError::BothSince)
        );
        assert!(matches!(LogOptions::from_query("follow=maybe"), Err(LogOptionsError::Invalid { .. })));
        assert!(matches!(
            LogOptions::from_query("sinceTime=yesterday"),
            Err(LogOptionsError::Invalid { .. })
        ));
    }
}
