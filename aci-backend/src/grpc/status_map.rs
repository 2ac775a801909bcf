//! Pod operation failures → gRPC status codes, as the provider API defines them.

use tonic::{Code, Status};

use crate::arm::ArmError;
use crate::pods::PodsError;

/// Adds what the provider API's RESOURCE_EXHAUSTED metadata says: `retry-after-ms`, and
/// `limit` (`quota` or `rate`).
fn with_retry_after(mut status: Status, error: &ArmError) -> Status {
    if let Some(after) = error.retry_after()
        && let Ok(value) = after.as_millis().to_string().parse()
    {
        status.metadata_mut().insert("retry-after-ms", value);
    }
    if status.code() == Code::ResourceExhausted {
        let limit = if error.is_rate_limit() { "rate" } else { "quota" };
        status.metadata_mut().insert("limit", tonic::metadata::MetadataValue::from_static(limit));
    }
    status
}

/// The status of a failed pod operation.
pub fn to_status(error: PodsError) -> Status {
    match error {
        PodsError::BadRequest(m) => Status::invalid_argument(m),
        PodsError::Refused(r) => Status::invalid_argument(r.to_string()),
        PodsError::NotFound(uid) => Status::not_found(format!("pod {uid} does not exist on this node")),
        PodsError::Precondition(m) => Status::failed_precondition(m),
        PodsError::Arm(e) => {
            let code = match &e {
                ArmError::Throttled { .. } | ArmError::QuotaExhausted { .. } => Code::ResourceExhausted,
                ArmError::Status { status, .. } if status.as_u16() == 404 => Code::NotFound,
                ArmError::Status { status, code, .. } if status.as_u16() == 409 && code.contains("Quota") => {
                    Code::ResourceExhausted
                }
                ArmError::Status { status, .. } if status.as_u16() == 400 => Code::InvalidArgument,
                ArmError::Credential { .. } => Code::FailedPrecondition,
                _ if e.is_retryable() => Code::Unavailable,
                _ => Code::FailedPrecondition,
            };
            with_retry_after(Status::new(code, e.to_string()), &e)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_spent_quota_is_resource_exhausted_with_retry_after() {
        let e = ArmError::QuotaExhausted {
            operation: "put",
            what: "the ACI create quota is used up",
            ahead: 0,
            retry_after: Some(Duration::from_millis(1500)),
            by_quota: true,
        };
        let status = to_status(PodsError::Arm(e));
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert_eq!(status.metadata().get("retry-after-ms").and_then(|v| v.to_str().ok()), Some("1500"));
        assert_eq!(status.metadata().get("limit").and_then(|v| v.to_str().ok()), Some("quota"));
    }

    #[test]
    fn throttling_is_resource_exhausted_by_a_rate_limit() {
        let e = ArmError::Throttled { operation: "put", code: "TooManyRequests".into(), retry_after: None };
        let status = to_status(PodsError::Arm(e));
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert_eq!(status.metadata().get("limit").and_then(|v| v.to_str().ok()), Some("rate"));
        assert!(status.metadata().get("retry-after-ms").is_none());
    }

    #[test]
    fn a_connection_failure_is_unavailable() {
        let status =
            to_status(PodsError::Arm(ArmError::Connect { operation: "get", message: "refused".into() }));
        assert_eq!(status.code(), Code::Unavailable);
    }
}
