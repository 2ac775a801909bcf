//! Per-container operations: logs, exec and attach.

use bytes::Bytes;
use http::Method;
use serde::Deserialize;

use super::client::ArmClient;
use super::error::ArmError;
use super::request::ArmRequest;

/// A websocket session ACI opened for exec or attach. Debug hides the password.
#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebSocketSession {
    /// `wss://` URI.
    pub web_socket_uri: String,
    /// Sent as the first frame.
    pub password: String,
}

impl std::fmt::Debug for WebSocketSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocketSession")
            .field("web_socket_uri", &self.web_socket_uri)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Logs {
    #[serde(default)]
    content: String,
}

impl ArmClient {
    /// A container's log (`tail` lines when given; with timestamps when asked).
    pub async fn container_logs(
        &self,
        group: &str,
        container: &str,
        tail: Option<u64>,
        timestamps: bool,
    ) -> Result<String, ArmError> {
        let tail_text = tail.map(|t| t.to_string());
        let mut query: Vec<(&str, &str)> = vec![("timestamps", if timestamps { "true" } else { "false" })];
        if let Some(t) = tail_text.as_deref() {
            query.push(("tail", t));
        }
        let url = self.group_url(group, &format!("/containers/{container}/logs"), &query);
        let logs: Logs = self.send_json(ArmRequest::new("container_logs", Method::GET, url)).await?;
        Ok(logs.content)
    }

    /// Starts `command` (one executable, no arguments) under a terminal of the given size.
    pub async fn exec(
        &self,
        group: &str,
        container: &str,
        command: &str,
        rows: u32,
        cols: u32,
    ) -> Result<WebSocketSession, ArmError> {
        let payload =
            serde_json::json!({ "command": command, "terminalSize": { "rows": rows, "cols": cols } });
        let url = self.group_url(group, &format!("/containers/{container}/exec"), &[]);
        let req =
            ArmRequest::new("container_exec", Method::POST, url).with_body(Bytes::from(payload.to_string()));
        self.send_json(req).await
    }

    /// Attaches to a container's main process.
    pub async fn attach(&self, group: &str, container: &str) -> Result<WebSocketSession, ArmError> {
        let url = self.group_url(group, &format!("/containers/{container}/attach"), &[]);
        self.send_json(ArmRequest::new("container_attach", Method::POST, url)).await
    }
}
