//! Case 4, streams: `kubectl logs -f` throughput through the kubelet API against the
//! provider's log stream read directly over gRPC; exec round trips over SPDY and WebSocket
//! (kubectl through the apiserver) against the provider's exec stream directly.
//!
//! Logs: a container writes its whole output at start; each run follows the log from the
//! beginning (`follow=true`) and times the request until all bytes have arrived. Exec: one `cat` session per run; a
//! round trip is one line written to stdin until it comes back (the first one is not counted).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::Api;
use kube::api::LogParams;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWriteExt as _};

use super::direct::Direct;
use crate::error::BenchError;
use crate::plot::{Chart, Series, draw};
use crate::pods::{RunningWatch, bare_pod};
use crate::stats::Summary;
use crate::world::{World, unpaced_backend};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StreamsResult {
    pub log_bytes: u64,
    pub logs_kubelet_mb_s: Summary,
    pub logs_direct_mb_s: Summary,
    pub exec_round_trips: usize,
    pub exec_spdy_ms: Summary,
    pub exec_websocket_ms: Summary,
    pub exec_direct_ms: Summary,
}

const POD: &str = "streams";

pub async fn run(world: &World, quick: bool, runs: usize) -> Result<StreamsResult, BenchError> {
    world.admin.limits(false, false).await?;
    let connector = world.connector("vk-bench-streams", &unpaced_backend()).await?;
    let result = async {
        let (log_bytes, round_trips) = if quick { (2_000_000_u64, 10) } else { (20_000_000, 50) };
        let pods: Api<Pod> = Api::namespaced(world.client.clone(), &connector.namespace);
        let watch = RunningWatch::start(pods.clone()).await;
        let script = format!("head -c {log_bytes} /dev/zero | tr '\\0' x | fold -w 99; exec sleep 100000");
        let pod = bare_pod(POD, &connector.node, Some(&["/bin/sh", "-c", &script]))?;
        pods.create(&Default::default(), &pod).await.map_err(BenchError::kube("creating the streams pod"))?;
        watch.wait_for(1, Duration::from_secs(120)).await?;
        let uid = pods.get(POD).await.map_err(BenchError::kube("reading the pod"))?.metadata.uid.unwrap_or_default();
        let namespaces: Api<Namespace> = Api::all(world.client.clone());
        let kube_system = namespaces.get("kube-system").await.map_err(BenchError::kube("reading kube-system"))?;
        let cluster_id = kube_system.metadata.uid.unwrap_or_default();
        let direct = Direct::connect(&connector.socket, &cluster_id, &connector.node, &uid)?;
        // All output written (99 x and a newline per line) before the first run.
        let deadline = Instant::now() + Duration::from_secs(60);
        while direct.log_size().await? < log_bytes + log_bytes.div_ceil(99) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let expected = direct.log_size().await?;
        let mut through_kubelet = Vec::new();
        let mut direct_logs = Vec::new();
        let mut spdy = Vec::new();
        let mut websocket = Vec::new();
        let mut direct_exec = Vec::new();
        for run in 0..runs {
            through_kubelet.push(mb_per_s(expected, kubelet_logs(&pods, expected).await?));
            direct_logs.push(mb_per_s(expected, direct.follow_logs(expected).await?));
            spdy.push(kubectl_exec(world, &connector.namespace, false, round_trips).await?);
            websocket.push(kubectl_exec(world, &connector.namespace, true, round_trips).await?);
            direct_exec.push(direct.exec_round_trips(round_trips).await?);
            eprintln!(
                "streams run={run}: logs kubelet {:.1} MB/s, direct {:.1} MB/s; exec SPDY {:.2} ms, WebSocket {:.2} ms, direct {:.2} ms",
                through_kubelet[run], direct_logs[run], spdy[run], websocket[run], direct_exec[run]
            );
        }
        Ok::<_, BenchError>(StreamsResult {
            log_bytes: expected,
            logs_kubelet_mb_s: Summary::of(&through_kubelet),
            logs_direct_mb_s: Summary::of(&direct_logs),
            exec_round_trips: round_trips,
            exec_spdy_ms: Summary::of(&spdy),
            exec_websocket_ms: Summary::of(&websocket),
            exec_direct_ms: Summary::of(&direct_exec),
        })
    }
    .await;
    connector.stop().await;
    result
}

fn mb_per_s(bytes: u64, elapsed: Duration) -> f64 {
    bytes as f64 / 1e6 / elapsed.as_secs_f64().max(1e-9)
}

/// Reads `reader` until `expected` bytes arrived.
pub async fn read_bytes(
    reader: &mut (impl futures::AsyncRead + Unpin),
    expected: u64,
) -> Result<(), BenchError> {
    use futures::AsyncReadExt as _;
    let mut buffer = vec![0_u8; 1 << 16];
    let mut seen = 0_u64;
    while seen < expected {
        let n = reader.read(&mut buffer).await.map_err(|source| BenchError::File {
            what: "reading",
            path: "the pod log stream".into(),
            source,
        })?;
        if n == 0 {
            return Err(BenchError::Timeout {
                what: format!("{expected} log bytes (stream ended at {seen})"),
                seconds: 0,
            });
        }
        seen += n as u64;
    }
    Ok(())
}

/// `kubectl logs -f` without kubectl's process start: the same follow request to the
/// apiserver (`GET .../pods/<pod>/log?follow=true`), which proxies it to the kubelet API of
/// node-agent. Timed from the request until `expected` bytes arrived.
async fn kubelet_logs(pods: &Api<Pod>, expected: u64) -> Result<Duration, BenchError> {
    let params = LogParams { follow: true, container: Some("main".into()), ..LogParams::default() };
    let started = Instant::now();
    let mut stream = pods.log_stream(POD, &params).await.map_err(BenchError::kube("following the log"))?;
    let read = tokio::time::timeout(Duration::from_secs(300), read_bytes(&mut stream, expected)).await;
    read.map_err(|_| BenchError::Timeout { what: "the followed log".into(), seconds: 300 })??;
    Ok(started.elapsed())
}

/// Median round trip (ms) of `count` lines through `kubectl exec -i -- cat`, over WebSocket
/// (kubectl's default) or SPDY (`KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false`).
async fn kubectl_exec(
    world: &World,
    namespace: &str,
    websocket: bool,
    count: usize,
) -> Result<f64, BenchError> {
    let spawn = |source| BenchError::File { what: "running", path: "kubectl exec".into(), source };
    let mut child = world
        .plane
        .kubectl_command()
        .env("KUBECTL_REMOTE_COMMAND_WEBSOCKETS", if websocket { "true" } else { "false" })
        .args(["exec", "-i", "-n", namespace, POD, "-c", "main", "--", "cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(spawn)?;
    let mut stdin = child.stdin.take().ok_or(BenchError::NoProcess("kubectl exec stdin".into()))?;
    let mut stdout = child.stdout.take().ok_or(BenchError::NoProcess("kubectl exec stdout".into()))?;
    let io = |source| BenchError::File { what: "talking to", path: "kubectl exec".into(), source };
    let mut trips = Vec::new();
    let mut pending = Vec::new();
    for i in 0..=count {
        let token = format!("rt-{i}-end");
        let started = Instant::now();
        stdin.write_all(format!("{token}\n").as_bytes()).await.map_err(io)?;
        stdin.flush().await.map_err(io)?;
        let echoed =
            tokio::time::timeout(Duration::from_secs(60), read_until(&mut stdout, &mut pending, &token))
                .await;
        echoed.map_err(|_| BenchError::Timeout { what: format!("the echo of {token}"), seconds: 60 })??;
        if i > 0 {
            trips.push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
    drop(stdin);
    let _ = child.kill().await;
    Ok(Summary::of(&trips).median)
}

/// Reads into `pending` until it contains `token`, then drops everything up to it.
pub async fn read_until(
    reader: &mut (impl AsyncRead + Unpin),
    pending: &mut Vec<u8>,
    token: &str,
) -> Result<(), BenchError> {
    let mut buffer = [0_u8; 4096];
    loop {
        if let Some(at) = pending.windows(token.len()).position(|w| w == token.as_bytes()) {
            pending.drain(..at + token.len());
            return Ok(());
        }
        let n = reader.read(&mut buffer).await.map_err(|source| BenchError::File {
            what: "reading",
            path: "exec output".into(),
            source,
        })?;
        if n == 0 {
            return Err(BenchError::Timeout { what: format!("{token} (the stream ended)"), seconds: 0 });
        }
        pending.extend_from_slice(&buffer[..n]);
    }
}

pub fn markdown(r: &StreamsResult) -> String {
    format!(
        "| measure | through the kubelet API | provider stream directly |\n|---|---|---|\n\
         | `logs -f` of {:.1} MB already written, request to last byte (MB/s) | {} | {} |\n\
         | exec round trip of one line through `cat`, median of {} per session (ms) | SPDY {} · WebSocket {} | {} |\n\n",
        r.log_bytes as f64 / 1e6,
        r.logs_kubelet_mb_s.show(1),
        r.logs_direct_mb_s.show(1),
        r.exec_round_trips,
        r.exec_spdy_ms.show(2),
        r.exec_websocket_ms.show(2),
        r.exec_direct_ms.show(2)
    ) + "![logs](results/streams-logs.svg) ![exec](results/streams-exec.svg)\n\n"
}

/// Per run: log throughput of both paths, and exec round trips of the three.
pub fn plots(r: &StreamsResult, dir: &Path) -> Result<Vec<PathBuf>, BenchError> {
    let per_run = |s: &Summary| {
        s.runs.iter().enumerate().map(|(i, v)| ((i + 1) as f64, Summary::of(&[*v]))).collect::<Vec<_>>()
    };
    let logs = dir.join("streams-logs.svg");
    draw(
        &logs,
        &Chart {
            title: "logs -f throughput per run",
            x_label: "run",
            y_label: "MB/s",
            series: vec![
                Series { name: "through the kubelet API", points: per_run(&r.logs_kubelet_mb_s) },
                Series { name: "provider stream directly", points: per_run(&r.logs_direct_mb_s) },
            ],
            target: Some((100.0, "target: 100 MB/s through the kubelet API")),
        },
    )?;
    let exec = dir.join("streams-exec.svg");
    draw(
        &exec,
        &Chart {
            title: "exec round trip per run (median of the session)",
            x_label: "run",
            y_label: "ms",
            series: vec![
                Series { name: "SPDY (kubectl)", points: per_run(&r.exec_spdy_ms) },
                Series { name: "WebSocket (kubectl)", points: per_run(&r.exec_websocket_ms) },
                Series { name: "provider stream directly", points: per_run(&r.exec_direct_ms) },
            ],
            target: None,
        },
    )?;
    Ok(vec![logs, exec])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn read_until_finds_a_token_split_across_reads_and_keeps_what_follows() {
        let (mut writer, mut reader) = tokio::io::duplex(64);
        writer.write_all(b"noise rt-1-").await.expect("write");
        let task = tokio::spawn(async move {
            let mut pending = Vec::new();
            read_until(&mut reader, &mut pending, "rt-1-end").await.expect("found");
            pending
        });
        writer.write_all(b"end\r\nrest").await.expect("write");
        drop(writer);
        assert_eq!(task.await.expect("task"), b"\r\nrest");
    }

    #[tokio::test]
    async fn reading_fails_when_the_stream_ends_short() {
        let mut short = futures::io::Cursor::new(b"abc".to_vec());
        assert!(read_bytes(&mut short, 10).await.is_err());
        let mut enough = futures::io::Cursor::new(b"abcdefghij".to_vec());
        assert!(read_bytes(&mut enough, 10).await.is_ok());
    }
}
