//! Benchmark (not a timed test; ignored by default): what the status engine costs and how fast
//! it sees things, with the backend's real pace against the emulator (ARM throttling on as in
//! Azure, ACI quotas off so thousands of pods can be created).
//!
//! Reports: steady-state ARM reads per pod-minute; 429s drawn; how evenly the groups were
//! refreshed (GETs per group in the window, from the emulator); and how long WatchPods takes to
//! show a container state change, a group another replica created (new), a group deleted
//! behind the backend's back (vanished), and a starting pod Running after the emulator
//! reported it Running.
//!
//! Run: `VK_BENCH_PODS=200 VK_BENCH_SECONDS=120 cargo test -p aci-backend --release --test
//! steady_state_reads -- --ignored --nocapture` (with `VK_BENCH_PODS=3000` the read budget no
//! longer covers the 50 s steady pace and refresh slows down evenly instead).

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aci_backend::config::Flags;
use aci_backend::engine::Pace;
use aci_backend::pods::CallScope;
use aci_backend::serve::serve;
use aci_backend::startup::{Backend, build};
use aci_backend::translate::group_name;
use futures::StreamExt as _;
use vk_proto::v1::provider_client::ProviderClient;
use vk_proto::v1::{self, watch_pods_response::Event};
use vk_proto::{Scope, scope::ScopeInterceptor};

use support::emulated::{self, SUBSCRIPTION};

const SAMPLES: u64 = 5;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn pod(uid: &str) -> v1::Pod {
    let mut pod = support::pods::requesting(support::pods::minimal(uid, uid, "nginx"), 100, 100_000_000);
    if let Some(meta) = pod.meta.as_mut() {
        meta.namespace = "bench".into();
    }
    pod.spec_hash = format!("h-{uid}");
    pod
}

/// A backend replica on the emulator, authenticating as `client_id`.
fn replica(
    emulator: &aci_emulator::EmulatorHandle,
    dir: &std::path::Path,
    client_id: &str,
) -> (Backend, Flags) {
    let listen = format!("unix://{}", dir.join(format!("{client_id}.sock")).display());
    let mut extra = vec!["--resource-group=bench".to_string(), format!("--client-id={client_id}")];
    for quota in ["creates-per-5min", "creates-per-hour", "deletes-per-5min", "deletes-per-hour"] {
        extra.push(format!("--{quota}=100000"));
    }
    let flags = emulated::flags(emulator, dir, &listen, &extra);
    (build(&flags, Pace::default()).expect("backend"), flags)
}

/// What the watcher saw, per pod UID.
#[derive(Default)]
struct Seen {
    /// When WatchPods first showed the pod at all.
    first: HashMap<String, Instant>,
    /// When WatchPods first showed it Running, and how long after the emulator's start time.
    running: HashMap<String, (Instant, Duration)>,
    /// When WatchPods showed a container that had exited.
    exited: HashMap<String, Instant>,
    /// When WatchPods said the pod was removed.
    removed: HashMap<String, Instant>,
}

fn record(seen: &Mutex<Seen>, event: Event) {
    let now = Instant::now();
    let Ok(mut seen) = seen.lock() else { return };
    match event {
        Event::Changed(state) => {
            let uid =
                state.pod.as_ref().and_then(|p| p.meta.as_ref()).map(|m| m.uid.clone()).unwrap_or_default();
            seen.first.entry(uid.clone()).or_insert(now);
            let statuses = state.status.map(|s| s.container_statuses).unwrap_or_default();
            if statuses.iter().any(|c| c.restart_count > 0 || c.last_state.is_some()) {
                seen.exited.entry(uid.clone()).or_insert(now);
            }
            let started = statuses.iter().find_map(|c| match c.state.as_ref()?.state.as_ref()? {
                v1::container_state::State::Running(r) => r.started_at,
                _ => None,
            });
            if let Some(started) = started {
                let at = chrono::DateTime::from_timestamp(started.seconds, started.nanos.max(0) as u32);
                let after = at.and_then(|at| (chrono::Utc::now() - at).to_std().ok()).unwrap_or_default();
                seen.running.entry(uid).or_insert((now, after));
            }
        }
        Event::Removed(pod) => {
            seen.removed.entry(pod.uid).or_insert(now);
        }
        _ => {}
    }
}

/// Waits until `check` finds the pod in what the watcher saw; returns when that was.
async fn until_seen(seen: &Mutex<Seen>, check: impl Fn(&Seen) -> Option<Instant>) -> Option<Instant> {
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        if let Some(at) = seen.lock().ok().and_then(|s| check(&s)) {
            return Some(at);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

fn secs(d: &[Duration]) -> String {
    let v: Vec<String> = d.iter().map(|d| format!("{:.2}", d.as_secs_f64())).collect();
    format!("[{}]", v.join(", "))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run explicitly, see the file comment"]
async fn steady_state_reads_per_pod_minute_and_change_latency() {
    let pods = env("VK_BENCH_PODS", 200);
    let seconds = env("VK_BENCH_SECONDS", 120);
    // Realistic-ish start: a 3 s image pull, so Running comes between two reads.
    let config =
        aci_emulator::Config { tls: true, no_quotas: true, pull_delay_ms: 3000, ..Default::default() };
    let emulator = aci_emulator::Emulator::start(config).await.expect("emulator starts");
    let dir = tempfile::tempdir().expect("temp dir");
    let (backend, flags) = replica(&emulator, dir.path(), "bench");
    let (other, _) = replica(&emulator, dir.path(), "bench-other");
    let metrics = backend.metrics.clone();
    tokio::spawn(backend.engine.clone().run());
    let listen = flags.listen.clone();
    tokio::spawn(async move { serve(&listen, backend.provider, None, std::future::pending()).await });
    let socket = dir.path().join("bench.sock");
    while !socket.exists() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let channel = flags.listen.channel(None).expect("channel");
    let mut client = ProviderClient::with_interceptor(
        channel,
        ScopeInterceptor::new(&Scope::new("bench", "vk")).expect("scope"),
    );
    let created = Instant::now();
    for i in 0..pods {
        client
            .create_pod(v1::CreatePodRequest { pod: Some(pod(&format!("bench-{i}"))) })
            .await
            .expect("create");
    }
    println!("created {pods} pods in {:.0}s", created.elapsed().as_secs_f64());
    // Let every pod settle (Running and read once since), then measure.
    tokio::time::sleep(Duration::from_secs(60)).await;
    let before = metrics.snapshot();
    emulator.reset_counters();
    let started = Instant::now();
    let watch =
        client.watch_pods(v1::WatchPodsRequest { bookmark_interval_seconds: 30 }).await.expect("watch");
    let seen = Arc::new(Mutex::new(Seen::default()));
    let mut stream = watch.into_inner();
    let mut snapshot_done = false;
    while !snapshot_done && let Some(Ok(m)) = stream.next().await {
        snapshot_done = matches!(m.event, Some(Event::SnapshotComplete(_)));
    }
    let recorder = seen.clone();
    tokio::spawn(async move {
        while let Some(Ok(m)) = stream.next().await {
            if let Some(event) = m.event {
                record(&recorder, event);
            }
        }
    });

    // A container state change: the first pod's container exits.
    let group = |uid: &str| group_name("bench", "bench", uid, uid);
    let exit_at = Instant::now();
    let target = aci_emulator::GroupRef {
        subscription: SUBSCRIPTION.into(),
        resource_group: "bench".into(),
        name: group("bench-0"),
    };
    assert!(emulator.exit_container(&target, "main", 7), "the emulator ends the container");
    let change = until_seen(&seen, |s| s.exited.get("bench-0").copied()).await.map(|t| t - exit_at);

    let scope = CallScope { cluster_id: "bench".into(), node_name: "vk".into() };
    let (mut new, mut vanished, mut running) = (Vec::new(), Vec::new(), Vec::new());
    for k in 0..SAMPLES {
        // New: another replica creates a group; this one learns of it from its list.
        let uid = format!("other-{k}");
        let at = Instant::now();
        other.provider.pods().create(&scope, &pod(&uid)).await.expect("create on the other replica");
        new.extend(until_seen(&seen, |s| s.first.get(&uid).copied()).await.map(|t| t - at));
        // Vanished: a group deleted behind the backend's back (a pod this replica created).
        let uid = format!("bench-{}", 1 + k);
        let at = Instant::now();
        other.engine.arm().delete_group(&group(&uid)).await.expect("delete behind its back");
        vanished.extend(until_seen(&seen, |s| s.removed.get(&uid).copied()).await.map(|t| t - at));
        // Starting: a pod created through this replica, seen Running after the emulator said so.
        let uid = format!("start-{k}");
        client.create_pod(v1::CreatePodRequest { pod: Some(pod(&uid)) }).await.expect("create");
        let lag = until_seen(&seen, |s| s.running.get(&uid).map(|r| r.0))
            .await
            .and_then(|_| seen.lock().ok().and_then(|s| s.running.get(&uid).map(|r| r.1)));
        running.extend(lag);
    }

    let remaining = Duration::from_secs(seconds).saturating_sub(started.elapsed());
    tokio::time::sleep(remaining).await;
    let after = metrics.snapshot();
    let window = started.elapsed();
    let minutes = window.as_secs_f64() / 60.0;
    let per_pod_minute = (after.reads - before.reads) as f64 / pods as f64 / minutes;
    let group_reads = emulator.group_reads();
    let mut spread: Vec<u64> = (SAMPLES + 1..pods)
        .map(|i| group_reads.get(&group(&format!("bench-{i}"))).copied().unwrap_or(0))
        .collect();
    spread.sort_unstable();
    let (least, median, most) = (
        spread.first().copied().unwrap_or(0),
        spread.get(spread.len() / 2).copied().unwrap_or(0),
        spread.last().copied().unwrap_or(0),
    );
    let throttled = after.throttled - before.throttled;
    // How often a steady group was actually read: the 50 s pace, or slower when the read
    // budget cannot cover every group at that pace.
    let refresh = window.div_f64(median.max(1) as f64);
    println!(
        "pods={pods} window={:.0}s reads={} reads/pod-minute={per_pod_minute:.2} throttled={throttled} \
         GETs/group in window min={least} median={median} max={most} (steady pace {}s, seen every {:.0}s) \
         change->WatchPods={:?} new={} vanished={} emulator-Running->WatchPods={}",
        window.as_secs_f64(),
        after.reads - before.reads,
        Pace::default().settled.as_secs(),
        refresh.as_secs_f64(),
        change,
        secs(&new),
        secs(&vanished),
        secs(&running),
    );
    assert_eq!(throttled, 0, "the budget keeps the backend under ARM's limits");
    assert!(per_pod_minute <= 2.0, "at most 2 ARM reads per pod-minute at steady state");
    let change_bound = Duration::from_secs(60).max(refresh + Duration::from_secs(10));
    assert!(change.is_some_and(|l| l <= change_bound), "a state change within {change_bound:?}");
    assert!(
        new.len() == SAMPLES as usize && new.iter().all(|l| *l <= Duration::from_secs(10)),
        "new in 10 s"
    );
    assert!(vanished.len() == SAMPLES as usize && vanished.iter().all(|l| *l <= Duration::from_secs(10)));
    assert!(running.len() == SAMPLES as usize && running.iter().all(|l| *l <= Duration::from_secs(5)));
    assert!(least >= 1, "every steady group was read in the window: slowed evenly, none starved");
    assert!(most <= least.max(1) * 3, "no group is read much more often than another steady one");
}
