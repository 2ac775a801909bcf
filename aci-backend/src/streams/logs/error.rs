//! Why a log request failed (before the first chunk, as the call's status; later, as the
//! stream's last item).

use tonic::{Code, Status};

use crate::arm::ArmError;
use crate::streams::arm_status::arm_code;

/// Why a log request failed.
#[derive(Debug, thiserror::Error)]
pub enum LogsError {
    /// `previous` was asked for.
    #[error("reading container logs: ACI keeps no logs of previous container instances")]
    Previous,
    /// The options contradict each other or are out of range.
    #[error("reading container logs: {0}")]
    InvalidOptions(String),
    /// ACI's logs API failed.
    #[error("reading container logs: {0}")]
    Fetch(#[from] ArmError),
}

impl LogsError {
    /// The gRPC code that describes it.
    pub fn code(&self) -> Code {
        match self {
            LogsError::Previous => Code::Unimplemented,
            LogsError::InvalidOptions(_) => Code::InvalidArgument,
            LogsError::Fetch(e) => arm_code(e),
        }
    }
}

impl From<LogsError> for Status {
    fn from(e: LogsError) -> Self {
        Status::new(e.code(), e.to_string())
    }
}
