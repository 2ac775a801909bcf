//! ARM call failures, each saying whether trying again can help.

use std::time::Duration;

use http::StatusCode;

/// Why an ARM call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ArmError {
    /// No connection could be made (refused, DNS, TLS handshake).
    #[error("{operation}: cannot reach ARM: {message}")]
    Connect {
        /// Operation.
        operation: &'static str,
        /// Detail.
        message: String,
    },
    /// The attempt took longer than the configured timeout.
    #[error("{operation}: ARM did not answer within {after:?}")]
    Timeout {
        /// Operation.
        operation: &'static str,
        /// The timeout.
        after: Duration,
    },
    /// ARM answered 429.
    #[error("{operation}: throttled by ARM ({code}){}", retry_text(.retry_after))]
    Throttled {
        /// Operation.
        operation: &'static str,
        /// ARM error code.
        code: String,
        /// When to try again, from Retry-After.
        retry_after: Option<Duration>,
    },
    /// This backend's own budget for ACI creates/deletes (or ARM writes) is spent for now.
    #[error("{operation}: {what}{}{}", line_text(*.ahead), retry_text(.retry_after))]
    QuotaExhausted {
        /// Operation.
        operation: &'static str,
        /// What is spent, as a sentence: `the ACI create quota is used up`.
        what: &'static str,
        /// Pods waiting in line before this one.
        ahead: usize,
        /// When a slot frees up.
        retry_after: Option<Duration>,
        /// An ACI quota is spent (false: ARM's request rate limits).
        by_quota: bool,
    },
    /// ARM answered with an error status.
    #[error("{operation}: ARM answered {status}: {code}: {message}")]
    Status {
        /// Operation.
        operation: &'static str,
        /// HTTP status.
        status: StatusCode,
        /// ARM error code (`ResourceNotFound`, `InvalidContainerGroup`, ...).
        code: String,
        /// ARM's message.
        message: String,
    },
    /// No token could be obtained.
    #[error("{operation}: cannot get an Azure token: {message}")]
    Credential {
        /// Operation.
        operation: &'static str,
        /// Detail.
        message: String,
    },
    /// The request could not be sent or the response could not be read.
    #[error("{operation}: {message}")]
    Transport {
        /// Operation.
        operation: &'static str,
        /// Detail.
        message: String,
    },
    /// A 2xx body did not decode.
    #[error("{operation}: unexpected response body: {message}")]
    Decode {
        /// Operation.
        operation: &'static str,
        /// Detail.
        message: String,
    },
}

fn line_text(ahead: usize) -> String {
    match ahead {
        0 => String::new(),
        1 => "; 1 pod waits ahead of this one".to_owned(),
        n => format!("; {n} pods wait ahead of this one"),
    }
}

fn retry_text(after: &Option<Duration>) -> String {
    after.map(|d| format!("; retry after {} ms", d.as_millis())).unwrap_or_default()
}

impl ArmError {
    /// True when the same call may succeed later (for idempotent calls: retry it).
    pub fn is_retryable(&self) -> bool {
        match self {
            ArmError::Connect { .. }
            | ArmError::Timeout { .. }
            | ArmError::Throttled { .. }
            | ArmError::QuotaExhausted { .. }
            | ArmError::Transport { .. } => true,
            ArmError::Status { status, .. } => {
                status.is_server_error() || *status == StatusCode::REQUEST_TIMEOUT
            }
            ArmError::Credential { .. } | ArmError::Decode { .. } => false,
        }
    }

    /// The server's (or the budget's) requested pause, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ArmError::Throttled { retry_after, .. } | ArmError::QuotaExhausted { retry_after, .. } => {
                *retry_after
            }
            _ => None,
        }
    }

    /// True when a request rate limit (ARM's 429, this backend's share of ARM's buckets)
    /// refused the call rather than an ACI quota.
    pub fn is_rate_limit(&self) -> bool {
        match self {
            ArmError::Throttled { .. } => true,
            ArmError::QuotaExhausted { by_quota, .. } => !by_quota,
            _ => false,
        }
    }

    /// True for 404.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ArmError::Status { status, .. } if *status == StatusCode::NOT_FOUND)
    }

    /// The HTTP status ARM answered, if it answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ArmError::Status { status, .. } => Some(*status),
            ArmError::Throttled { .. } => Some(StatusCode::TOO_MANY_REQUESTS),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_errors_and_throttling_are_retryable_but_bad_requests_are_not() {
        let status = |s: u16| ArmError::Status {
            operation: "op",
            status: StatusCode::from_u16(s).expect("valid status"),
            code: "C".into(),
            message: "m".into(),
        };
        assert!(status(503).is_retryable());
        assert!(!status(400).is_retryable());
        assert!(status(404).is_not_found());
        let throttled = ArmError::Throttled {
            operation: "op",
            code: "TooMany".into(),
            retry_after: Some(Duration::from_secs(3)),
        };
        assert!(throttled.is_retryable());
        assert_eq!(throttled.retry_after(), Some(Duration::from_secs(3)));
        assert!(throttled.to_string().contains("retry after 3000 ms"), "{throttled}");
    }
}
