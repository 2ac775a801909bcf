//! End to end: every `kubectl logs` option through the shared control plane's kube-apiserver
//! (1.20.2), the node-agent's kubelet API and aci-backend against the ACI emulator in
//! process-runtime mode (the product path; the pod's command runs as a local process, so the
//! log is its real output, timed by the emulator's clock).
//!
//! The pod writes `old-line`, waits 6 s, then `tick N` every second. The test checks `--tail`
//! (also 0), `--limit-bytes`, `--previous` (refused with the reason: ACI keeps no log of an
//! earlier instance), `--timestamps`, `--since`, `--since-time`, and `-f`, which must show a
//! line written after following began, with no line lost or repeated.
//!
//! Needs the workspace binaries (`cargo build --workspace --bins`).

mod e2e_support;

use std::process::Stdio;
use std::str::FromStr as _;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use e2e_support::{E2e, READY_TIMEOUT, eventually, pinned_deployment};
use integration_tests::local_stack::Os;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use tokio::io::{AsyncBufReadExt as _, BufReader};

const SCRIPT: &str = "echo old-line; sleep 6; i=0; while true; do i=$((i+1)); echo tick $i; sleep 1; done";

/// The number of a `tick N` line.
fn tick(line: &str) -> Option<u64> {
    line.strip_prefix("tick ")?.trim().parse().ok()
}

/// The tick numbers of `lines`; fails on any other line.
fn ticks<'a>(lines: impl IntoIterator<Item = &'a str>) -> Result<Vec<u64>> {
    lines.into_iter().map(|line| tick(line).with_context(|| format!("not a tick: {line:?}"))).collect()
}

/// Whether the numbers go up by one.
fn consecutive(numbers: &[u64]) -> bool {
    numbers.windows(2).all(|pair| pair[1] == pair[0] + 1)
}

/// The full log must be `old-line` then ticks 1, 2, ... with nothing lost or repeated.
fn check_whole_log(log: &str, what: &str) -> Result<Vec<u64>> {
    let mut lines = log.lines();
    ensure!(lines.next() == Some("old-line"), "{what}: the log starts with old-line: {log:?}");
    let numbers = ticks(lines)?;
    ensure!(numbers.first() == Some(&1) && consecutive(&numbers), "{what}: ticks from 1 in order: {log:?}");
    Ok(numbers)
}

/// Splits `<RFC 3339 time> <line>` lines.
fn timestamped(log: &str) -> Result<Vec<(Timestamp, &str)>> {
    log.lines()
        .map(|line| {
            let (time, rest) = line.split_once(' ').with_context(|| format!("no timestamp: {line:?}"))?;
            Ok((Timestamp::from_str(time).with_context(|| format!("not RFC 3339: {time:?}"))?, rest))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_logs_options_return_the_containers_real_output() -> Result<()> {
    let started = Timestamp::now();
    let e2e = E2e::start("e2e-log-flags").await?;
    let mut connector = e2e.sidecar("vk-e2e-logs", Os::Linux).await?;
    let node = connector.agent.node_name().to_string();
    e2e.apply(&pinned_deployment("logger", &node, 1, Some(&["/bin/sh", "-c", SCRIPT]))).await?;
    let pods = e2e.running_pods("logger", 1).await?;
    let pod = pods[0].metadata.name.clone().context("a pod name")?;

    // -f from the first lines on: it must later show a line written after it began.
    let mut follow = e2e
        .plane
        .kubectl_command()
        .args(["logs", "-f", "-n", &e2e.namespace, &pod])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut followed = BufReader::new(follow.stdout.take().context("kubectl's stdout")?).lines();

    let log = eventually("old-line and three ticks", READY_TIMEOUT, || async {
        let log = e2e.kubectl(&["logs", &pod]).await?;
        Ok(log.contains("tick 3\n").then_some(log))
    })
    .await?;
    let known = check_whole_log(&log, "plain")?;

    let tail = e2e.kubectl(&["logs", &pod, "--tail=2"]).await?;
    let tail = ticks(tail.lines())?;
    ensure!(tail.len() == 2 && consecutive(&tail), "--tail=2 gives the last two lines: {tail:?}");
    ensure!(tail[1] >= known[known.len() - 1], "--tail=2 is the end of the log: {tail:?} after {known:?}");
    let none = e2e.kubectl(&["logs", &pod, "--tail=0"]).await?;
    ensure!(none.is_empty(), "--tail=0 gives nothing: {none:?}");

    let previous =
        e2e.plane.kubectl_command().args(["logs", "-n", &e2e.namespace, &pod, "--previous"]).output();
    let previous = previous.await?;
    let said = String::from_utf8_lossy(&previous.stderr);
    ensure!(
        !previous.status.success() && said.contains("no logs of previous container instances"),
        "--previous is refused clearly: {said:?}"
    );

    let limited = e2e.kubectl(&["logs", &pod, "--limit-bytes=20"]).await?;
    ensure!(limited == log[..20], "--limit-bytes=20 gives the first 20 bytes: {limited:?}");

    let stamped = e2e.kubectl(&["logs", &pod, "--timestamps"]).await?;
    let stamped = timestamped(&stamped)?;
    let contents: Vec<&str> = stamped.iter().map(|(_, line)| *line).collect();
    check_whole_log(&(contents.join("\n") + "\n"), "--timestamps")?;
    let now = Timestamp::now();
    for pair in stamped.windows(2) {
        ensure!(pair[0].0 <= pair[1].0, "--timestamps: times go forward: {pair:?}");
    }
    let (old_time, tick_2_time) = (stamped[0].0, stamped[2].0);
    ensure!(started <= old_time && stamped[stamped.len() - 1].0 <= now, "--timestamps: times of this run");
    let pause = tick_2_time.duration_since(old_time);
    ensure!(pause >= SignedDuration::from_secs(6), "--timestamps: the 6 s pause shows: {pause:?}");

    // kubectl sends whole seconds (it cuts the fraction); tick 1 is a second or more earlier.
    let since_time = e2e.kubectl(&["logs", &pod, &format!("--since-time={tick_2_time}")]).await?;
    let since_time = ticks(since_time.lines())?;
    ensure!(since_time.first() == Some(&2) && consecutive(&since_time), "--since-time: {since_time:?}");

    let before = ticks(e2e.kubectl(&["logs", &pod]).await?.lines().skip(1))?;
    let recent = e2e.kubectl(&["logs", &pod, "--since=5s"]).await?;
    let recent = ticks(recent.lines()).context("--since=5s leaves old-line out")?;
    ensure!(
        !recent.is_empty() && recent.len() <= 6 && consecutive(&recent),
        "--since=5s gives the last few ticks: {recent:?}"
    );
    ensure!(recent[recent.len() - 1] >= before[before.len() - 1], "--since=5s reaches the end: {recent:?}");

    // A line written after -f was showing lines, and after the last line a plain read saw.
    let mut seen = String::new();
    let first = tokio::time::timeout(Duration::from_secs(30), followed.next_line()).await??;
    ensure!(first.as_deref() == Some("old-line"), "-f starts with the first line: {first:?}");
    seen.push_str("old-line\n");
    let last = ticks(e2e.kubectl(&["logs", &pod, "--tail=1"]).await?.lines())?;
    let wanted = last.first().context("a last tick")? + 1;
    tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = followed.next_line().await? {
            seen.push_str(&line);
            seen.push('\n');
            if tick(&line) == Some(wanted) {
                return Ok(());
            }
        }
        bail!("kubectl logs -f ended: {seen:?}")
    })
    .await
    .with_context(|| format!("-f shows tick {wanted}: {seen:?}"))??;
    check_whole_log(&seen, "-f")?;
    follow.start_kill()?;

    e2e.kubectl(&["delete", "deployment", "logger"]).await?;
    e2e.groups_match_pods(0).await?;
    connector.stop().await?;
    e2e.finish().await
}
