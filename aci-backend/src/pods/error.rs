//! Why a pod operation failed, in terms the gRPC layer maps to status codes.

use crate::arm::ArmError;
use crate::translate::Refusal;

/// A failed pod operation.
#[derive(Debug, thiserror::Error)]
pub enum PodsError {
    /// The request itself is malformed (missing UID, namespace, name).
    #[error("{0}")]
    BadRequest(String),
    /// The pod can never run on ACI.
    #[error("{0}")]
    Refused(#[from] Refusal),
    /// No such pod in the scope.
    #[error("pod {0} does not exist on this node")]
    NotFound(String),
    /// An operator must fix something first.
    #[error("{0}")]
    Precondition(String),
    /// ARM failed.
    #[error(transparent)]
    Arm(#[from] ArmError),
}
