//! End to end, bad input on the streaming path: a running node-agent process receives
//! authenticated `/exec` upgrades (SPDY and WebSocket) to a real pod and then garbage instead
//! of frames, many times. Afterwards node-agent, aci-backend and the emulator hold no more
//! open file descriptors than before and the emulator runs no more exec shells (every
//! connection, session, provider stream and ACI exec ended), the node is Ready, and
//! `kubectl exec` still works.
//!
//! Needs the workspace binaries (`cargo build --workspace --bins`).

mod e2e_support;

use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use e2e_support::{E2e, READY_TIMEOUT, eventually, pinned_deployment};
use integration_tests::local_stack::{Os, node_is_ready};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Upgrades of each kind sent with garbage after them.
const SESSIONS_PER_KIND: usize = 100;
/// Open descriptors a process may hold above its baseline (pooled connections come and go).
const FD_SLACK: usize = 8;

/// The pid of the process whose executable is named `program` and whose command line
/// contains `marker`.
fn pid_of(program: &str, marker: &str) -> Result<u32> {
    for entry in std::fs::read_dir("/proc")? {
        let entry = entry?;
        let Some(pid) = entry.file_name().to_str().and_then(|name| name.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else { continue };
        let args: Vec<String> =
            cmdline.split(|b| *b == 0).map(|arg| String::from_utf8_lossy(arg).into_owned()).collect();
        let named = args.first().is_some_and(|first| first.ends_with(&format!("/{program}")));
        if named && args.iter().any(|arg| arg.contains(marker)) {
            return Ok(pid);
        }
    }
    bail!("no {program} process with {marker:?} in its command line")
}

fn open_fds(pid: u32) -> Result<usize> {
    Ok(std::fs::read_dir(format!("/proc/{pid}/fd"))?.count())
}

/// How many processes have `parent` as their parent (exec shells the emulator runs).
fn children(parent: u32) -> Result<usize> {
    let mut count = 0;
    for entry in std::fs::read_dir("/proc")? {
        let Ok(stat) = std::fs::read_to_string(entry?.path().join("stat")) else { continue };
        // pid (comm) state ppid ...: comm may hold spaces, so split after the last ')'.
        let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or_default();
        if after.split_whitespace().nth(1).and_then(|ppid| ppid.parse::<u32>().ok()) == Some(parent) {
            count += 1;
        }
    }
    Ok(count)
}

/// Pseudo-random bytes (xorshift), different for each `seed`.
fn garbage(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 32) as u8
        })
        .collect()
}

/// One upgrade with the apiserver's identity, then `bytes`, then our end; reads until the
/// agent closes.
async fn hostile_session(client: &reqwest::Client, url: &str, websocket: bool, bytes: &[u8]) -> Result<()> {
    let request = if websocket {
        client
            .get(url)
            .header("Connection", "Upgrade")
            .header("Upgrade", "websocket")
            .header("Sec-WebSocket-Version", "13")
            .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
            .header("Sec-WebSocket-Protocol", "v5.channel.k8s.io")
    } else {
        client
            .post(url)
            .header("Connection", "Upgrade")
            .header("Upgrade", "SPDY/3.1")
            .header("X-Stream-Protocol-Version", "v4.channel.k8s.io")
    };
    let response = request.send().await?;
    ensure!(response.status().as_u16() == 101, "the upgrade is accepted: {}", response.status());
    let mut upgraded = response.upgrade().await?;
    // The agent may close at the first bad byte: a failed write is fine.
    let _ = upgraded.write_all(bytes).await;
    let _ = upgraded.shutdown().await;
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), upgraded.read_to_end(&mut rest))
        .await
        .context("the agent closes the connection")?
        .ok();
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_on_upgraded_exec_connections_leaves_nothing_open() -> Result<()> {
    vk_proto::tls::install_crypto_provider();
    let e2e = E2e::start("e2e-bad-streams").await?;
    let mut connector = e2e.sidecar("vk-e2e-streams-bad", Os::Linux).await?;
    let node = connector.agent.node_name().to_string();
    e2e.apply(&pinned_deployment("shell", &node, 1, Some(&["/bin/sh", "-c", "sleep 3600"]))).await?;
    let pods = e2e.running_pods("shell", 1).await?;
    let pod = pods[0].metadata.name.clone().context("a pod name")?;
    let exec_args = ["exec", "-n", e2e.namespace.as_str(), pod.as_str(), "--", "echo", "exec-ok"];
    let exec = || e2e.plane.kubectl(&exec_args);
    ensure!(exec().await?.trim() == "exec-ok", "exec works before");

    let agent = pid_of("node-agent", &format!("--nodename={node}"))?;
    let backend = pid_of("aci-backend", &format!("{node}.sock"))?;
    let emulator = pid_of("aci-emulator", &e2e.emulator.ca_path().display().to_string())?;
    let (agent_before, backend_before) = (open_fds(agent)?, open_fds(backend)?);
    let (emulator_before, shells_before) = (open_fds(emulator)?, children(emulator)?);

    let plane = e2e.plane;
    let identity = format!("{}{}", plane.kubelet_client_cert_pem(), plane.kubelet_client_key_pem());
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .http1_only()
        .identity(reqwest::Identity::from_pem(identity.as_bytes())?)
        .timeout(Duration::from_secs(60))
        .build()?;
    let url = format!(
        "https://127.0.0.1:{}/exec/{}/{pod}/main?command=sh&input=1&output=1&error=1",
        connector.agent.kubelet_port(),
        e2e.namespace
    );
    for round in 0..SESSIONS_PER_KIND {
        for websocket in [false, true] {
            let seed = (round as u64) << 1 | u64::from(websocket);
            let bytes = garbage(seed, 16 + (seed as usize * 37) % 2000);
            hostile_session(&client, &url, websocket, &bytes)
                .await
                .with_context(|| format!("session {round} (websocket: {websocket})"))?;
        }
    }
    drop(client);

    let settled =
        eventually("descriptors and shells back to their baseline", Duration::from_secs(60), || async {
            let now = (open_fds(agent)?, open_fds(backend)?, open_fds(emulator)?, children(emulator)?);
            let settled = now.0 <= agent_before + FD_SLACK
                && now.1 <= backend_before + FD_SLACK
                && now.2 <= emulator_before + FD_SLACK
                && now.3 <= shells_before;
            Ok(settled.then_some(now))
        })
        .await;
    let (agent_after, backend_after, emulator_after, shells_after) = settled.with_context(|| {
        format!(
            "open descriptors: node-agent {agent_before} -> {:?}, aci-backend {backend_before} -> {:?}, \
             emulator {emulator_before} -> {:?}; emulator children {shells_before} -> {:?}",
            open_fds(agent).ok(),
            open_fds(backend).ok(),
            open_fds(emulator).ok(),
            children(emulator).ok()
        )
    })?;
    println!(
        "{} hostile sessions: open descriptors node-agent {agent_before} -> {agent_after}, aci-backend \
         {backend_before} -> {backend_after}, emulator {emulator_before} -> {emulator_after}; emulator \
         children {shells_before} -> {shells_after}",
        2 * SESSIONS_PER_KIND
    );

    let node_object = e2e_support::node(&e2e.client, &node).await?.context("the node")?;
    ensure!(node_is_ready(&node_object), "the node stays Ready");
    let after = eventually("exec after the garbage", READY_TIMEOUT, || async {
        Ok(exec().await.ok().filter(|out| out.trim() == "exec-ok"))
    })
    .await?;
    ensure!(after.trim() == "exec-ok");

    e2e.kubectl(&["delete", "deployment", "shell"]).await?;
    e2e.groups_match_pods(0).await?;
    connector.stop().await?;
    e2e.finish().await
}
