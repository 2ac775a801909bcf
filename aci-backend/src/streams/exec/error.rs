//! Why an exec or attach session could not start (sent as the call's status, before any frame).

use std::time::Duration;

use tonic::{Code, Status};

use super::quote::QuoteError;
use super::windows::CmdQuoteError;
use crate::streams::arm_status::arm_code;
use crate::streams::terminal::OpenError;

/// Why a session could not start.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The first frame is not a usable start frame.
    #[error("starting the session: {0}")]
    InvalidStart(String),
    /// The command cannot be written as shell text.
    #[error(transparent)]
    Quote(#[from] QuoteError),
    /// The command cannot be typed into `cmd.exe`.
    #[error(transparent)]
    CmdQuote(#[from] CmdQuoteError),
    /// The terminal could not be opened.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// The shell (`/bin/sh`, `cmd.exe`) did not start, and the command is not a lone executable
    /// ACI could run itself.
    #[error(
        "exec on ACI: the container has no usable shell (ACI said: {said:?}); without a shell ACI can only \
         run a single executable without arguments, and this command has {args} elements"
    )]
    NoShell {
        /// What the terminal printed.
        said: String,
        /// Elements of the command.
        args: usize,
    },
    /// The shell did not print the start marker in time.
    #[error("exec on ACI: the container's /bin/sh did not start the command within {0:?}")]
    ShellTimeout(Duration),
    /// What the command needs cannot be done on this container.
    #[error("exec on ACI: {0}")]
    Unsupported(String),
}

impl ExecError {
    /// The gRPC code that describes it.
    pub fn code(&self) -> Code {
        match self {
            ExecError::InvalidStart(_) | ExecError::Quote(_) | ExecError::CmdQuote(_) => {
                Code::InvalidArgument
            }
            ExecError::Open(OpenError::Arm(e)) => arm_code(e),
            ExecError::Open(OpenError::Connect(_)) | ExecError::ShellTimeout(_) => Code::Unavailable,
            ExecError::NoShell { .. } | ExecError::Unsupported(_) => Code::FailedPrecondition,
        }
    }
}

impl From<ExecError> for Status {
    fn from(e: ExecError) -> Self {
        Status::new(e.code(), e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arm::ArmError;
    use http::StatusCode;

    #[test]
    fn a_missing_shell_is_a_failed_precondition_that_says_why() {
        let status = Status::from(ExecError::NoShell { said: "not found".into(), args: 3 });
        assert_eq!(status.code(), Code::FailedPrecondition);
        assert!(status.message().contains("single executable without arguments"), "{}", status.message());
    }

    #[test]
    fn a_missing_container_group_is_not_found() {
        let e = ArmError::Status {
            operation: "container_exec",
            status: StatusCode::NOT_FOUND,
            code: "ResourceNotFound".into(),
            message: "gone".into(),
        };
        assert_eq!(ExecError::Open(OpenError::Arm(e)).code(), Code::NotFound);
    }
}
