//! Reliability, Azure faults (issue 11): the ACI emulator injects faults into ARM (429
//! storms, 20% 5xx, 2 s latency on every call, dropped connections) or takes its token
//! endpoint down for 60 s, while a 30-pod burst lands on a sidecar connector (node-agent +
//! aci-backend over a Unix socket, the local control plane). While the fault lasts, the test
//! samples every second what the API says and checks it against the emulator's own view
//! (its admin API, which is never faulted): no pod is Failed for a transient fault, no pod is
//! Running without a running container group, and the node says what is wrong when Azure
//! cannot be used. Afterwards everything converges: every pod Running with exactly one group,
//! nothing orphaned. The four ARM faults then come back while the burst is deleted: no pod
//! leaves the API while its group still exists, and afterwards every pod and group is gone. Each scenario prints a `RELIABILITY | ...` line (what was injected, what
//! was lost).
//!
//! Needs the workspace binaries (`cargo build --workspace --bins`).

mod e2e_support;
mod reliability_support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use e2e_support::{E2e, node, pinned_deployment};
use integration_tests::local_stack::{EmulatorProcess, Os, SidecarConnector};
use k8s_openapi::api::core::v1::Pod;
use reliability_support::{Admin, arm_requests, audit, converge, injected_faults, no_panics, report};
use serde_json::{Value, json};
use tokio::time::Instant;

const PODS: usize = 30;
const APP: &str = "burst";
const CONVERGE: Duration = Duration::from_secs(150);
/// How long ARM faults last while the burst is deleted.
const DELETION_HOLD: Duration = Duration::from_secs(10);

/// What the API said at one moment while a fault lasted.
#[derive(Debug)]
struct Observation {
    at: Duration,
    /// The node's Ready condition: status, reason, message.
    node_ready: (String, String, String),
    /// Statements that contradict the emulator.
    lies: Vec<String>,
    /// Reason → pods whose Ready condition is False with it.
    waiting: BTreeMap<String, usize>,
    /// Messages of those conditions.
    waiting_messages: BTreeSet<String>,
}

fn ready_condition(pod: &Pod) -> Option<(String, String, String)> {
    let condition = pod.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == "Ready")?;
    Some((
        condition.status.clone(),
        condition.reason.clone().unwrap_or_default(),
        condition.message.clone().unwrap_or_default(),
    ))
}

async fn observe(e2e: &E2e, admin: &Admin, node_name: &str, at: Duration) -> Result<Observation> {
    let pods = e2e.pods_of(APP).await?;
    let running_groups: BTreeSet<String> = admin
        .groups()
        .await?
        .into_iter()
        .filter(|group| group.running_at.is_some())
        .filter_map(|group| group.tags.get(reliability_support::UID_TAG).cloned())
        .collect();
    let mut observation = Observation {
        at,
        node_ready: (String::new(), String::new(), String::new()),
        lies: Vec::new(),
        waiting: BTreeMap::new(),
        waiting_messages: BTreeSet::new(),
    };
    for pod in &pods {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        match e2e_support::phase(pod) {
            Some("Failed") => observation.lies.push(format!("{name} is Failed for a transient fault")),
            Some("Running") if !running_groups.contains(&uid) => {
                observation.lies.push(format!("{name} is Running but its container group is not"))
            }
            _ => {}
        }
        if let Some((status, reason, message)) = ready_condition(pod)
            && status == "False"
            && !reason.is_empty()
        {
            *observation.waiting.entry(reason).or_default() += 1;
            observation.waiting_messages.insert(message);
        }
    }
    let node = node(&e2e.client, node_name).await?.context("the node exists")?;
    let ready = node
        .status
        .and_then(|status| status.conditions)
        .unwrap_or_default()
        .into_iter()
        .find(|c| c.type_ == "Ready")
        .context("the node has a Ready condition")?;
    observation.node_ready =
        (ready.status, ready.reason.unwrap_or_default(), ready.message.unwrap_or_default());
    Ok(observation)
}

/// A connector on its own emulator (started with `emulator_args`), and the admin client.
async fn world(prefix: &str, emulator_args: &[String]) -> Result<(E2e, Admin, SidecarConnector)> {
    let mut e2e = E2e::start(prefix).await?;
    if !emulator_args.is_empty() {
        e2e.emulator.stop().await?;
        let dir = e2e.dir.path().join("emulator-faults");
        e2e.emulator = EmulatorProcess::start_with(&dir, &e2e.dir.path().join("logs"), emulator_args).await?;
    }
    let admin = Admin::new(&e2e.emulator)?;
    let connector = e2e.sidecar(prefix, Os::Linux).await?;
    Ok((e2e, admin, connector))
}

/// What one scenario saw.
struct Run {
    e2e: E2e,
    admin: Admin,
    connector: SidecarConnector,
    observations: Vec<Observation>,
    counters: BTreeMap<String, u64>,
    rules: Value,
}

/// Part of a burst.
#[derive(Clone, Copy, Debug)]
enum Wave {
    /// Scale the burst's Deployment (pinned to the node by its selector) to this many replicas.
    Scheduled(usize),
    /// Create this many bare pods of the app already bound to the node (`spec.nodeName`), as
    /// pods bound just before the node turned NotReady are: the scheduler is not asked.
    Bound(usize),
}

/// The whole burst at once.
const ONE_WAVE: &[(Duration, Wave)] = &[(Duration::ZERO, Wave::Scheduled(PODS))];

fn bound_pod(name: &str, node: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": { "name": name, "labels": { "app": APP } },
        "spec": {
            "nodeName": node,
            "containers": [{ "name": "main", "image": "busybox" }],
            "tolerations": [{
                "key": "virtual-kubelet.io/provider", "operator": "Equal", "value": "azure", "effect": "NoSchedule",
            }],
        },
    })
}

async fn land(e2e: &E2e, node: &str, wave: Wave) -> Result<()> {
    match wave {
        Wave::Scheduled(replicas) => {
            e2e.apply(&pinned_deployment(APP, node, i32::try_from(replicas)?, None)).await
        }
        Wave::Bound(count) => {
            let items: Vec<Value> =
                (0..count).map(|index| bound_pod(&format!("bound-{index}"), node)).collect();
            e2e.apply(&json!({ "apiVersion": "v1", "kind": "List", "items": items }).to_string()).await
        }
    }
}

/// Sets `rules`, scales the burst's Deployment to each wave's replicas at its time (the last
/// wave has [`PODS`]), samples once a second for `hold`, then clears the rules.
async fn burst_under(
    prefix: &str,
    emulator_args: &[String],
    rules: Value,
    hold: Duration,
    waves: &[(Duration, Wave)],
) -> Result<Run> {
    let (e2e, admin, connector) = world(prefix, emulator_args).await?;
    let node_name = connector.agent.node_name().to_string();
    admin.reset_counters().await?;
    admin.set_faults(rules.clone()).await?;
    let start = Instant::now();
    let mut waves = waves.iter().peekable();
    let mut observations = Vec::new();
    while start.elapsed() < hold {
        while let Some((_, wave)) = waves.next_if(|(at, _)| start.elapsed() >= *at) {
            land(&e2e, &node_name, *wave).await?;
        }
        match observe(&e2e, &admin, &node_name, start.elapsed()).await {
            Ok(observation) => observations.push(observation),
            Err(error) => eprintln!("observing at {:?}: {error:#}", start.elapsed()),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let counters = admin.counters().await?;
    admin.set_faults(json!([])).await?;
    Ok(Run { e2e, admin, connector, observations, counters, rules })
}

impl Run {
    /// Every lie seen while the fault lasted.
    fn lies(&self) -> Vec<String> {
        self.observations
            .iter()
            .flat_map(|o| o.lies.iter().map(move |lie| format!("{:?}: {lie}", o.at)))
            .collect()
    }

    /// Pods waiting per reason, summed over the samples.
    fn waiting(&self) -> BTreeMap<String, usize> {
        let mut sum = BTreeMap::new();
        for observation in &self.observations {
            for (reason, count) in &observation.waiting {
                *sum.entry(reason.clone()).or_default() += count;
            }
        }
        sum
    }

    /// The node's Ready states seen (status/reason), in order, without repeats.
    fn node_states(&self) -> Vec<String> {
        let mut states: Vec<String> = Vec::new();
        for observation in &self.observations {
            let (status, reason, _) = &observation.node_ready;
            let state = format!("Ready={status}/{reason}");
            if states.last() != Some(&state) {
                states.push(state);
            }
        }
        states
    }

    /// Under the same faults again, deletes every pod of the burst, samples once a second for
    /// `hold` (no pod may leave the API while its container group still exists, none may
    /// fail), then clears the faults and waits until every pod and group is gone.
    async fn delete_under_the_same_faults(
        &self,
        scenario: &str,
        injected: &str,
        hold: Duration,
    ) -> Result<()> {
        self.admin.reset_counters().await?;
        self.admin.set_faults(self.rules.clone()).await?;
        let start = Instant::now();
        self.e2e.kubectl(&["delete", "deployment", APP, "--wait=false"]).await?;
        let mut lies = Vec::new();
        while start.elapsed() < hold {
            if let Ok(now) = audit(&self.e2e, &self.admin, APP).await
                && (now.orphaned > 0 || now.failed > 0)
            {
                lies.push(format!("{:?}: {now:?}", start.elapsed()));
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let counters = self.admin.counters().await?;
        self.admin.set_faults(json!([])).await?;
        let (audit, took) = converge(&self.e2e, &self.admin, APP, 0, CONVERGE).await?;
        let injected = format!(
            "{injected}: {} ARM requests, injected {:?}",
            arm_requests(&counters),
            injected_faults(&counters)
        );
        report(scenario, &injected, &audit, 0, took)?;
        ensure!(
            lies.is_empty(),
            "{scenario}: a pod left the API before its group, or failed:\n{}",
            lies.join("\n")
        );
        Ok(())
    }

    /// Converges, prints the report line, checks for lies and that the node is Ready again;
    /// with `deletion`, then deletes the burst under the same faults for that long.
    async fn finish(mut self, scenario: &str, injected: &str, deletion: Option<Duration>) -> Result<()> {
        let (audit, took) = converge(&self.e2e, &self.admin, APP, PODS, CONVERGE).await?;
        let node_name = self.connector.agent.node_name().to_string();
        e2e_support::eventually("the node to be Ready again", Duration::from_secs(90), || async {
            let node = node(&self.e2e.client, &node_name).await?;
            Ok(node.as_ref().is_some_and(integration_tests::local_stack::node_is_ready).then_some(()))
        })
        .await?;
        let injected = format!(
            "{injected}: {} ARM requests, injected {:?}; seen: node {}, pods waiting {:?}",
            arm_requests(&self.counters),
            injected_faults(&self.counters),
            self.node_states().join(" → "),
            self.waiting()
        );
        report(scenario, &injected, &audit, PODS, took)?;
        let lies = self.lies();
        ensure!(lies.is_empty(), "{scenario}: the API contradicted the emulator:\n{}", lies.join("\n"));
        if let Some(hold) = deletion {
            let scenario = scenario.replace("a 30-pod burst", "the deletion of 30 pods");
            let injected = injected.split(" for ").next().unwrap_or_default().to_string();
            let injected = format!("{injected} for {} s", hold.as_secs());
            self.delete_under_the_same_faults(&scenario, &injected, hold).await?;
        }
        self.connector.stop().await?;
        no_panics(&self.e2e)?;
        self.e2e.finish().await
    }
}

fn every_arm_call(kind: &str, rate: f64) -> Value {
    json!({ "operation": "*", "kind": kind, "rate": rate })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_storm_during_a_burst_fails_nothing_and_converges() -> Result<()> {
    let hold = Duration::from_secs(20);
    let run =
        burst_under("vk-rel-429", &[], json!([every_arm_call("error429", 1.0)]), hold, ONE_WAVE).await?;
    let messages: BTreeSet<&String> =
        run.observations.iter().flat_map(|o| o.waiting_messages.iter()).collect();
    ensure!(
        messages.iter().any(|message| message.contains("throttled by ARM")),
        "waiting pods said ARM throttles them; they said: {messages:?}"
    );
    let reasons: BTreeSet<&String> = run.observations.iter().flat_map(|o| o.waiting.keys()).collect();
    ensure!(
        reasons.iter().any(|reason| reason.as_str() == "ProviderThrottled"),
        "throttled pods wait with reason ProviderThrottled (not a quota); reasons: {reasons:?}"
    );
    let injected = format!("every ARM call answered 429 (Retry-After 1 s) for {} s", hold.as_secs());
    run.finish("429 storm during a 30-pod burst", &injected, Some(DELETION_HOLD)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_percent_5xx_during_a_burst_fails_nothing_and_converges() -> Result<()> {
    let hold = Duration::from_secs(20);
    // 10% 500, then 11.1% of the rest 503: 20% of ARM calls in all.
    let rules = json!([every_arm_call("error500", 0.1), every_arm_call("error503", 0.111)]);
    let run = burst_under("vk-rel-5xx", &[], rules, hold, ONE_WAVE).await?;
    let injected = format!("20% of ARM calls answered 500 or 503 for {} s", hold.as_secs());
    run.finish("20% 5xx during a 30-pod burst", &injected, Some(DELETION_HOLD)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_seconds_of_latency_during_a_burst_fails_nothing_and_converges() -> Result<()> {
    let hold = Duration::from_secs(20);
    let rules = json!([{ "operation": "*", "kind": "latency", "rate": 1.0, "latencyMs": 2000 }]);
    let run = burst_under("vk-rel-latency", &[], rules, hold, ONE_WAVE).await?;
    let injected = format!("every ARM call delayed 2 s for {} s", hold.as_secs());
    run.finish("2 s latency during a 30-pod burst", &injected, Some(DELETION_HOLD)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connections_during_a_burst_fail_nothing_and_converge() -> Result<()> {
    let hold = Duration::from_secs(20);
    let run = burst_under("vk-rel-drop", &[], json!([every_arm_call("drop", 0.2)]), hold, ONE_WAVE).await?;
    let injected = format!("20% of ARM requests' connections dropped unanswered for {} s", hold.as_secs());
    run.finish("dropped connections during a 30-pod burst", &injected, Some(DELETION_HOLD)).await
}

/// Tokens live 30 s (so the backend must fetch new ones during the outage; Azure's live about
/// an hour, and a 60 s outage would then go unnoticed) and the token endpoint answers 503 for
/// 60 s while the burst lands: half scheduled at once, half bound to the node 35 s in. Once
/// the last token has expired, no ARM call can be made: the node must say so (and so gets no
/// new pods from the scheduler), and the pods bound to it must say why they wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_endpoint_down_for_60_s_is_reported_and_then_everything_converges() -> Result<()> {
    let outage = Duration::from_secs(60);
    let rules = json!([{ "operation": "OAuth2_Token", "kind": "error503", "rate": 1.0 }]);
    // Half the burst while the last token is still valid; half bound to the node once it
    // has expired (the scheduler places nothing on a NotReady node).
    let waves =
        [(Duration::ZERO, Wave::Scheduled(PODS / 2)), (Duration::from_secs(35), Wave::Bound(PODS / 2))];
    let run =
        burst_under("vk-rel-token", &["--token-lifetime-secs=30".to_string()], rules, outage, &waves).await?;
    let told = |text: &str| text.to_ascii_lowercase().contains("token");
    let node_told = run.observations.iter().any(|o| o.node_ready.0 == "False" && told(&o.node_ready.2));
    let pods_told = run.observations.iter().any(|o| o.waiting_messages.iter().any(|message| told(message)));
    let states = run.node_states();
    let messages: BTreeSet<&String> =
        run.observations.iter().flat_map(|o| o.waiting_messages.iter()).collect();
    ensure!(node_told, "the node said Azure tokens fail while they did; it said: {states:?}");
    ensure!(pods_told, "waiting pods said they wait for a token; they said: {messages:?}");
    let token_requests = run.counters.get("OAuth2_Token").copied().unwrap_or_default();
    let refused = run.counters.get("fault:error503:OAuth2_Token").copied().unwrap_or_default();
    ensure!(refused == token_requests && refused > 0, "every token request was refused: {:?}", run.counters);
    let injected = format!(
        "token endpoint answered 503 to all {token_requests} token requests for {} s (tokens live 30 s)",
        outage.as_secs()
    );
    run.finish("token endpoint down for 60 s during a 30-pod burst", &injected, None).await
}
