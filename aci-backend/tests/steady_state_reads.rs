//! Benchmark (not a timed test; ignored by default): steady-state ARM reads per pod-minute and
//! how fast a container state change reaches WatchPods, with the backend's real pace against
//! the emulator (ARM throttling on, ACI quotas off so hundreds of pods can be created).
//!
//! Run: `VK_BENCH_PODS=200 VK_BENCH_SECONDS=120 cargo test -p aci-backend --release --test
//! steady_state_reads -- --ignored --nocapture`

use std::time::{Duration, Instant};

use aci_backend::config::Flags;
use aci_backend::engine::Pace;
use aci_backend::serve::serve;
use aci_backend::startup::build;
use aci_backend::translate::group_name;
use clap::Parser as _;
use futures::StreamExt as _;
use vk_proto::v1::provider_client::ProviderClient;
use vk_proto::v1::{self, watch_pods_response::Event};
use vk_proto::{Scope, scope::ScopeInterceptor};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn pod(i: u64) -> v1::Pod {
    v1::Pod {
        meta: Some(v1::PodMeta {
            uid: format!("bench-{i}"),
            namespace: "bench".into(),
            name: format!("p{i}"),
            ..Default::default()
        }),
        spec: Some(v1::PodSpec {
            containers: vec![v1::Container {
                name: "main".into(),
                image: "nginx".into(),
                resources: Some(v1::ResourceRequirements {
                    requests: Some(v1::ResourceList {
                        cpu_millis: Some(100),
                        memory_bytes: Some(100_000_000),
                        ..Default::default()
                    }),
                    limits: None,
                }),
                ..Default::default()
            }],
            ..Default::default()
        }),
        spec_hash: format!("h{i}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run explicitly, see the file comment"]
async fn steady_state_reads_per_pod_minute_and_change_latency() {
    let pods = env("VK_BENCH_PODS", 200);
    let seconds = env("VK_BENCH_SECONDS", 120);
    let config = aci_emulator::Config { tls: true, no_quotas: true, ..aci_emulator::Config::fast() };
    let emulator = aci_emulator::Emulator::start(config).await.expect("emulator starts");
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, emulator.ca_pem().expect("CA")).expect("write");
    let socket = dir.path().join("p.sock");
    let base = emulator.base_url().trim_end_matches('/').to_string();
    let flags = Flags::try_parse_from([
        "aci-backend".to_string(),
        format!("--listen=unix://{}", socket.display()),
        "--subscription-id=00000000-0000-0000-0000-000000000001".into(),
        "--resource-group=bench".into(),
        "--region=westeurope".into(),
        format!("--arm-endpoint={base}"),
        format!("--authority-host={base}"),
        format!("--ca-file={}", ca.display()),
        "--credential=client-secret".into(),
        "--tenant-id=00000000-0000-0000-0000-00000000000a".into(),
        "--client-id=bench".into(),
        "--client-secret=bench".into(),
        "--creates-per-5min=100000".into(),
        "--creates-per-hour=100000".into(),
    ])
    .expect("flags");
    let backend = build(&flags, Pace::default()).expect("backend");
    let metrics = backend.metrics.clone();
    tokio::spawn(backend.engine.clone().run());
    let listen = flags.listen.clone();
    tokio::spawn(async move { serve(&listen, backend.provider, None, std::future::pending()).await });
    while !socket.exists() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let channel = flags.listen.channel(None).expect("channel");
    let mut client = ProviderClient::with_interceptor(
        channel,
        ScopeInterceptor::new(&Scope::new("bench", "vk")).expect("scope"),
    );
    for i in 0..pods {
        client.create_pod(v1::CreatePodRequest { pod: Some(pod(i)) }).await.expect("create");
    }
    // Let every pod settle (Running and read once since), then measure.
    tokio::time::sleep(Duration::from_secs(60)).await;
    let before = metrics.snapshot();
    let started = Instant::now();
    let mut watch = client
        .watch_pods(v1::WatchPodsRequest { bookmark_interval_seconds: 30 })
        .await
        .expect("watch")
        .into_inner();
    while let Some(Ok(m)) = watch.next().await {
        if matches!(m.event, Some(Event::SnapshotComplete(_))) {
            break;
        }
    }
    // One state change: the first pod's container exits; time until WatchPods shows it.
    let group = aci_emulator::GroupRef {
        subscription: "00000000-0000-0000-0000-000000000001".into(),
        resource_group: "bench".into(),
        name: group_name("bench", "bench", "p0", "bench-0"),
    };
    let changed_at = Instant::now();
    assert!(emulator.exit_container(&group, "main", 7), "the emulator ends the container");
    let mut latency = None;
    while latency.is_none() && changed_at.elapsed() < Duration::from_secs(120) {
        if let Ok(Some(Ok(m))) = tokio::time::timeout(Duration::from_secs(5), watch.next()).await
            && let Some(Event::Changed(state)) = m.event
            && state.status.as_ref().is_some_and(|s| {
                s.container_statuses.iter().any(|c| c.restart_count > 0 || c.last_state.is_some())
            })
        {
            latency = Some(changed_at.elapsed());
        }
    }
    let remaining = Duration::from_secs(seconds).saturating_sub(started.elapsed());
    tokio::time::sleep(remaining).await;
    let after = metrics.snapshot();
    let minutes = started.elapsed().as_secs_f64() / 60.0;
    let per_pod_minute = (after.reads - before.reads) as f64 / pods as f64 / minutes;
    println!(
        "pods={pods} window={:.0}s reads={} reads/pod-minute={per_pod_minute:.2} throttled={} change->WatchPods={latency:?}",
        minutes * 60.0,
        after.reads - before.reads,
        after.throttled - before.throttled
    );
    assert!(per_pod_minute <= 2.0, "at most 2 ARM reads per pod-minute at steady state");
    assert!(
        latency.is_some_and(|l| l <= Duration::from_secs(60)),
        "a state change reaches WatchPods within 60 s"
    );
}
