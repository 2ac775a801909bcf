//! The gRPC code that describes an ARM failure of a streaming call.

use http::StatusCode;
use tonic::Code;

use crate::arm::ArmError;

/// The gRPC code for an ARM failure.
pub fn arm_code(e: &ArmError) -> Code {
    match e.status() {
        Some(StatusCode::NOT_FOUND) => Code::NotFound,
        Some(StatusCode::CONFLICT) => Code::FailedPrecondition,
        Some(StatusCode::BAD_REQUEST) => Code::InvalidArgument,
        Some(StatusCode::UNAUTHORIZED) => Code::Unauthenticated,
        Some(StatusCode::FORBIDDEN) => Code::PermissionDenied,
        Some(StatusCode::TOO_MANY_REQUESTS) => Code::Unavailable,
        _ if e.is_retryable() => Code::Unavailable,
        _ => match e {
            ArmError::Credential { .. } => Code::Unauthenticated,
            _ => Code::Internal,
        },
    }
}
