//! End to end: `kubectl exec -it` under a pseudo-terminal, through the shared control plane's
//! kube-apiserver (1.20.2) and the node-agent's kubelet API, over WebSocket and over SPDY
//! (`KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false`). The provider is the in-memory reference
//! backend in the test process, so the test reads the resize frames it received.
//!
//! kubectl runs as the session leader of a new pty: it puts the terminal in raw mode, sends
//! the pty's size when the session starts and again on SIGWINCH, which the kernel sends when
//! the test resizes the pty. Typed bytes reach `cat` and come back; killing kubectl ends the
//! remote command.
//!
//! Needs the workspace binaries (`cargo build --workspace --bins`).

mod e2e_support;

use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use e2e_support::exec::Protocol;
use e2e_support::reference::ReferenceNode;
use e2e_support::{E2e, eventually, pinned_deployment};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Linux's EIO: reading a pty whose other side is closed by every process.
const EIO: i32 = 5;

/// kubectl inside a pseudo-terminal.
struct PtyKubectl {
    pty: pty_process::Pty,
    child: tokio::process::Child,
    /// Everything read from the terminal so far.
    screen: Vec<u8>,
    /// kubectl's stderr (its `-v=4` log) goes to this file, away from the terminal.
    log: std::path::PathBuf,
}

impl PtyKubectl {
    /// `kubectl exec -it <pod> -- <command>` on a new pty of `rows` x `cols`.
    fn spawn(
        e2e: &E2e,
        protocol: Protocol,
        pod: &str,
        (rows, cols): (u16, u16),
        command: &[&str],
    ) -> Result<Self> {
        let (pty, pts) = pty_process::open()?;
        pty.resize(pty_process::Size::new(rows, cols))?;
        let first = command.first().context("a command")?;
        let log = e2e.dir.path().join(format!("kubectl-tty-{protocol:?}-{first}.log"));
        let stderr = std::fs::File::create(&log)?;
        let child = pty_process::Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(e2e.plane.kubeconfig_path())
            .env_remove("KUBECONFIG")
            .env("KUBECTL_REMOTE_COMMAND_WEBSOCKETS", protocol.websockets_env())
            .args(["exec", "-v=4", "-it", "-n", &e2e.namespace, pod, "--"])
            .args(command)
            .stderr(Stdio::from(stderr))
            .kill_on_drop(true)
            .spawn(pts)?;
        Ok(Self { pty, child, screen: Vec::new(), log })
    }

    /// Reads the terminal until it shows `text`.
    async fn expect(&mut self, text: &str) -> Result<()> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while !String::from_utf8_lossy(&self.screen).contains(text) {
            let mut chunk = [0u8; 1024];
            let read =
                tokio::time::timeout_at(deadline, self.pty.read(&mut chunk)).await.with_context(|| {
                    format!(
                        "waiting for {text:?} on the terminal: {:?}",
                        String::from_utf8_lossy(&self.screen)
                    )
                })?;
            match read {
                Ok(0) => bail!("the terminal closed before {text:?}: {:?}", self.screen_text()),
                Ok(n) => self.screen.extend_from_slice(&chunk[..n]),
                Err(error) if error.raw_os_error() == Some(EIO) => {
                    bail!("the terminal closed before {text:?}: {:?}", self.screen_text())
                }
                Err(error) => return Err(error.into()),
            }
        }
        Ok(())
    }

    fn screen_text(&self) -> String {
        String::from_utf8_lossy(&self.screen).into_owned()
    }

    /// Waits for kubectl to exit; returns how it ended, the whole terminal and its log.
    async fn wait(mut self) -> Result<(std::process::ExitStatus, String, String)> {
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await??;
        loop {
            let mut chunk = [0u8; 1024];
            match tokio::time::timeout(Duration::from_secs(5), self.pty.read(&mut chunk)).await? {
                Ok(0) => break,
                Ok(n) => self.screen.extend_from_slice(&chunk[..n]),
                Err(error) if error.raw_os_error() == Some(EIO) => break,
                Err(error) => return Err(error.into()),
            }
        }
        let log = std::fs::read_to_string(&self.log)?;
        Ok((status, self.screen_text(), log))
    }
}

/// Waits until the provider has received a resize to `cols` x `rows` after the first `skip`
/// resizes.
async fn resize_reaches_provider(node: &ReferenceNode, skip: usize, (rows, cols): (u16, u16)) -> Result<()> {
    eventually(&format!("a {cols}x{rows} resize at the provider"), Duration::from_secs(20), || async {
        let seen = node.backend.resizes().iter().skip(skip).any(|resize| {
            resize.container == "main" && (resize.width, resize.height) == (u32::from(cols), u32::from(rows))
        });
        Ok(seen.then_some(()))
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_exec_it_under_a_pty_types_reads_and_resizes_over_both_protocols() -> Result<()> {
    let e2e = E2e::start("e2e-exec-tty").await?;
    let node = e2e.reference_node("vk-e2e-tty").await?;
    let node_name = node.agent.node_name().to_string();
    e2e.apply(&pinned_deployment("tty", &node_name, 1, None)).await?;
    let pods = e2e.running_pods("tty", 1).await?;
    let pod = pods[0].metadata.name.clone().context("a pod name")?;

    for (protocol, start, resized) in
        [(Protocol::WebSocket, (30, 100), (40, 120)), (Protocol::Spdy, (31, 101), (41, 121))]
    {
        let skip = node.backend.resizes().len();
        let mut kubectl = PtyKubectl::spawn(&e2e, protocol, &pod, start, &["cat"])?;
        // The size at start arrives once the session runs (and the terminal is raw).
        resize_reaches_provider(&node, skip, start).await.with_context(|| format!("{protocol:?} start"))?;
        let typed = format!("typed over {protocol:?}\r");
        kubectl.pty.write_all(typed.as_bytes()).await?;
        kubectl.expect(typed.trim_end()).await.with_context(|| format!("{protocol:?} echo"))?;
        kubectl.pty.resize(pty_process::Size::new(resized.0, resized.1))?;
        resize_reaches_provider(&node, skip, resized)
            .await
            .with_context(|| format!("{protocol:?} SIGWINCH"))?;
        eventually("exactly this session at the provider", Duration::from_secs(10), || async {
            Ok((node.backend.active_sessions() == 1).then_some(()))
        })
        .await?;
        // A client that goes away ends the remote command.
        kubectl.child.start_kill()?;
        let (_, screen, log) = kubectl.wait().await?;
        // In raw mode the terminal does not echo: the one copy is cat's answer.
        let copies = screen.matches(typed.trim_end()).count();
        ensure!(copies == 1, "{protocol:?}: the typed line shows {copies} times: {screen:?}");
        ensure!(
            log.contains("The subprotocol is v5.channel.k8s.io") == (protocol == Protocol::WebSocket),
            "{protocol:?}: kubectl used the other protocol: {log}"
        );
        eventually("the session to end at the provider", Duration::from_secs(20), || async {
            Ok((node.backend.active_sessions() == 0).then_some(()))
        })
        .await
        .with_context(|| format!("{protocol:?} disconnect"))?;

        // With a terminal, stderr is part of stdout and the exit code still comes back.
        let script = "echo out; echo err >&2; exit 5";
        let kubectl = PtyKubectl::spawn(&e2e, protocol, &pod, start, &["sh", "-c", script])?;
        let (status, screen, _) = kubectl.wait().await?;
        let code = status.code().context("kubectl exited normally")?;
        ensure!(
            code == 5 && screen.contains("out") && screen.contains("err"),
            "{protocol:?}: tty exit gave {code} {screen:?}"
        );
    }

    e2e.kubectl(&["delete", "deployment", "tty"]).await?;
    node.stop().await?;
    e2e.finish().await
}
