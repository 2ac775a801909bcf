//! How a session ended, and the `metav1.Status` the error stream reports it with.
//!
//! v4 and later write the status as JSON: `Success`, or `Failure` with reason
//! `NonZeroExitCode` and a cause `{reason: ExitCode, message: "<code>"}` that clients turn
//! into the exit code. v1 to v3 write only a failure's message, as text.

use serde::Serialize;

/// How a remote command ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The process exited with this status.
    Exited(i32),
    /// The process ended but the provider cannot know its status (reported as success).
    ExitUnknown(String),
    /// The session failed (provider error, lost connection).
    Failed(String),
    /// The client went away; nobody is left to tell.
    ClientGone,
}

#[derive(Serialize)]
struct Status {
    metadata: Metadata,
    status: &'static str,
    #[serde(skip_serializing_if = "String::is_empty")]
    message: String,
    #[serde(skip_serializing_if = "str::is_empty")]
    reason: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<Details>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<u16>,
}

#[derive(Serialize)]
struct Metadata {}

#[derive(Serialize)]
struct Details {
    causes: Vec<Cause>,
}

#[derive(Serialize)]
struct Cause {
    #[serde(skip_serializing_if = "str::is_empty")]
    reason: &'static str,
    message: String,
}

impl Outcome {
    fn status(&self) -> Option<Status> {
        let success = || Status {
            metadata: Metadata {},
            status: "Success",
            message: String::new(),
            reason: "",
            details: None,
            code: None,
        };
        match self {
            Outcome::Exited(0) | Outcome::ExitUnknown(_) => Some(success()),
            Outcome::Exited(code) => Some(Status {
                metadata: Metadata {},
                status: "Failure",
                message: format!("command terminated with non-zero exit code: exit status {code}"),
                reason: "NonZeroExitCode",
                details: Some(Details {
                    causes: vec![Cause { reason: "ExitCode", message: code.to_string() }],
                }),
                code: None,
            }),
            Outcome::Failed(message) => {
                let message = format!("error executing command in container: {message}");
                Some(Status {
                    metadata: Metadata {},
                    status: "Failure",
                    message: format!("Internal error occurred: {message}"),
                    reason: "InternalError",
                    details: Some(Details { causes: vec![Cause { reason: "", message }] }),
                    code: Some(500),
                })
            }
            Outcome::ClientGone => None,
        }
    }

    /// What to write on the error stream: JSON for v4 and later, a failure's message for
    /// older protocols; `None` when nothing is written.
    pub fn error_stream_bytes(&self, json: bool) -> Option<Vec<u8>> {
        let status = self.status()?;
        if json {
            serde_json::to_vec(&status).ok()
        } else if status.status == "Failure" {
            Some(status.message.into_bytes())
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_is_the_bare_status() {
        let json = Outcome::Exited(0).error_stream_bytes(true).expect("json");
        assert_eq!(String::from_utf8_lossy(&json), r#"{"metadata":{},"status":"Success"}"#);
        assert_eq!(Outcome::Exited(0).error_stream_bytes(false), None);
    }

    #[test]
    fn a_nonzero_exit_carries_the_code_as_a_cause() {
        let json = Outcome::Exited(3).error_stream_bytes(true).expect("json");
        let value: serde_json::Value = serde_json::from_slice(&json).expect("valid json");
        assert_eq!(value["status"], "Failure");
        assert_eq!(value["reason"], "NonZeroExitCode");
        assert_eq!(value["details"]["causes"][0]["reason"], "ExitCode");
        assert_eq!(value["details"]["causes"][0]["message"], "3");
        let text = Outcome::Exited(3).error_stream_bytes(false).expect("text");
        assert_eq!(
            String::from_utf8_lossy(&text),
            "command terminated with non-zero exit code: exit status 3"
        );
    }

    #[test]
    fn an_unknown_exit_status_reports_success() {
        let json = Outcome::ExitUnknown("ACI".into()).error_stream_bytes(true).expect("json");
        assert_eq!(String::from_utf8_lossy(&json), r#"{"metadata":{},"status":"Success"}"#);
    }

    #[test]
    fn a_failed_session_is_an_internal_error() {
        let json = Outcome::Failed("connection lost".into()).error_stream_bytes(true).expect("json");
        let value: serde_json::Value = serde_json::from_slice(&json).expect("valid json");
        assert_eq!(value["reason"], "InternalError");
        assert_eq!(value["code"], 500);
        assert_eq!(
            value["message"],
            "Internal error occurred: error executing command in container: connection lost"
        );
    }

    #[test]
    fn nothing_is_written_for_a_vanished_client() {
        assert_eq!(Outcome::ClientGone.error_stream_bytes(true), None);
    }
}
