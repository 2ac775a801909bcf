//! `kubectl exec` through the apiserver, over the protocol a test chooses, with stdin piped in
//! and stdout, stderr and the exit code captured.

use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::io::AsyncWriteExt as _;

use super::E2e;

/// How kubectl talks to the apiserver for exec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// kubectl's default (v5.channel.k8s.io), passed through by the 1.20 apiserver.
    WebSocket,
    /// `KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false`: SPDY/3.1 all the way.
    Spdy,
}

impl Protocol {
    pub const BOTH: [Protocol; 2] = [Protocol::WebSocket, Protocol::Spdy];

    /// The value of `KUBECTL_REMOTE_COMMAND_WEBSOCKETS`.
    pub fn websockets_env(self) -> &'static str {
        match self {
            Protocol::WebSocket => "true",
            Protocol::Spdy => "false",
        }
    }
}

/// What `kubectl exec` gave. `stderr` holds the remote command's stderr; kubectl's own log
/// lines (`-v=4`) are in `kubectl_log`.
#[derive(Debug)]
pub struct Exec {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub kubectl_log: String,
}

impl Exec {
    /// Whether kubectl's log says the WebSocket upgrade was agreed.
    pub fn used_websocket(&self) -> bool {
        self.kubectl_log.contains("The subprotocol is v5.channel.k8s.io")
    }
}

/// A klog header: `I1127 17:49:39.123456 ...` (severity, date, time).
fn is_kubectl_log_line(line: &str) -> bool {
    let bytes = line.as_bytes();
    bytes.len() > 21
        && matches!(bytes[0], b'I' | b'W' | b'E' | b'F')
        && bytes[1..5].iter().all(u8::is_ascii_digit)
        && bytes[5] == b' '
        && bytes[8] == b':'
        && bytes[11] == b':'
        && bytes[14] == b'.'
}

/// Splits kubectl's stderr into the remote command's stderr and kubectl's own lines (its log
/// and the closing `command terminated with exit code N`).
fn split_stderr(stderr: &str) -> (String, String) {
    let (mut remote, mut own) = (String::new(), String::new());
    for line in stderr.split_inclusive('\n') {
        if is_kubectl_log_line(line) || line.starts_with("command terminated with exit code") {
            own.push_str(line);
        } else {
            remote.push_str(line);
        }
    }
    (remote, own)
}

impl E2e {
    /// `kubectl exec [-i] <pod> -- <command>` over `protocol`; with `stdin`, it is written
    /// and then closed.
    pub async fn exec(
        &self,
        protocol: Protocol,
        pod: &str,
        stdin: Option<&str>,
        command: &[&str],
    ) -> Result<Exec> {
        let mut kubectl = self.plane.kubectl_command();
        kubectl
            .env("KUBECTL_REMOTE_COMMAND_WEBSOCKETS", protocol.websockets_env())
            // -v=4 makes kubectl log the WebSocket subprotocol it agreed on (or its fallback).
            .args(["exec", "-v=4", "-n", &self.namespace, pod])
            .args(stdin.map(|_| "-i"))
            .arg("--")
            .args(command)
            .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = kubectl.spawn().context("starting kubectl exec")?;
        if let Some(input) = stdin {
            let mut pipe = child.stdin.take().context("kubectl's stdin")?;
            pipe.write_all(input.as_bytes()).await?;
            drop(pipe);
        }
        let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
            .await
            .context("kubectl exec finishes")??;
        let (stderr, kubectl_log) = split_stderr(&String::from_utf8_lossy(&output.stderr));
        Ok(Exec {
            code: output.status.code().context("kubectl exited normally")?,
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr,
            kubectl_log,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_log_lines_are_told_apart_from_the_remote_stderr() {
        let stderr = "I1127 17:49:39.123456   42 exec.go:1] The subprotocol is v5.channel.k8s.io\n\
                      err\ncommand terminated with exit code 3\n";
        let (remote, own) = split_stderr(stderr);
        assert_eq!(remote, "err\n");
        assert!(own.contains("subprotocol") && own.contains("exit code 3"), "{own:?}");
    }
}
