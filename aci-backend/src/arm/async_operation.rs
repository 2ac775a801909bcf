//! Following a long-running operation (`Azure-AsyncOperation`) to its end.

use std::time::Duration;

use http::Method;
use serde::Deserialize;

use super::client::ArmClient;
use super::error::ArmError;
use super::layers::classify::retry_after;
use super::request::ArmRequest;

/// How an operation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperationEnd {
    /// Done.
    Succeeded,
    /// Failed or canceled, with ARM's code and message.
    Failed {
        /// Final status (`Failed`, `Canceled`).
        status: String,
        /// Error code.
        code: String,
        /// Error message.
        message: String,
    },
    /// Still running when the caller stopped waiting.
    StillRunning,
}

#[derive(Deserialize)]
struct Status {
    #[serde(default)]
    status: String,
    #[serde(default)]
    error: Option<ErrorBody>,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

impl ArmClient {
    /// Polls `url` until the operation ends or `max_wait` passes, honouring `Retry-After`.
    pub async fn follow_operation(
        &self,
        url: &reqwest::Url,
        max_wait: Duration,
    ) -> Result<OperationEnd, ArmError> {
        const OP: &str = "async_operation_status";
        let deadline = tokio::time::Instant::now() + max_wait;
        loop {
            let response = self.send(ArmRequest::new(OP, Method::GET, url.clone())).await?;
            let status: Status = super::client::decode(OP, &response)?;
            match status.status.as_str() {
                "Succeeded" => return Ok(OperationEnd::Succeeded),
                "Failed" | "Canceled" => {
                    let error =
                        status.error.unwrap_or(ErrorBody { code: String::new(), message: String::new() });
                    return Ok(OperationEnd::Failed {
                        status: status.status,
                        code: error.code,
                        message: error.message,
                    });
                }
                _ => {}
            }
            let pause =
                retry_after(&response.headers).unwrap_or(Duration::from_secs(2)).min(Duration::from_secs(30));
            if tokio::time::Instant::now() + pause > deadline {
                return Ok(OperationEnd::StillRunning);
            }
            tokio::time::sleep(pause).await;
        }
    }
}
