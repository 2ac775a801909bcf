//! Reliability, restarts (issue 11): with the real processes (node-agent and aci-backend in the
//! sidecar shape over a Unix socket, the ACI emulator, the local control plane), `kill -9` of
//! node-agent, of aci-backend and of both, once during a pod burst and once during the mass
//! deletion of those pods; the apiserver restarted mid-burst; and the agent's pod watch
//! expiring (410 Gone) while it was frozen. After each, every pod converges (Running, or gone
//! after deletion), each pod has exactly one container group and no group is left without a
//! pod, and no pod stays Terminating. Each scenario prints a `RELIABILITY | ...` line: what
//! was injected and what was lost (zero).
//!
//! Bursts have 200 pods, as in the issue; the four tests take about two minutes on two cores
//! (`VK_RELIABILITY_PODS=N` changes the size):
//!
//! ```sh
//! cargo build --workspace --bins
//! cargo test -p integration-tests --test reliability_restarts -- --nocapture
//! ```

mod e2e_support;
mod reliability_support;

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use e2e_support::{E2e, READY_TIMEOUT, pinned_deployment};
use integration_tests::control_plane::{ControlPlane, Options, unique_name};
use integration_tests::local_stack::{
    AgentOptions, AgentProcess, AzureTarget, BackendProcess, EmulatorProcess, Listen, Os, SidecarConnector,
};
use reliability_support::{Admin, converge, no_panics, pods_from_env, report, wait_for};

/// Pods of a burst (the issue's figure).
const BURST: usize = 200;
/// How long a killed process stays down before it is started again.
const DOWN: Duration = Duration::from_secs(3);
const APP: &str = "burst";

/// Room for 200 pods in the emulator (groups, cores, create and delete rates) and in the
/// backend's own create/delete budget, so that a restart, not ACI's pacing, is what is tested.
fn emulator_quota_args() -> Vec<String> {
    ["groups", "cores", "creates-per-5min", "creates-per-hour", "deletes-per-5min", "deletes-per-hour"]
        .iter()
        .map(|quota| format!("--quota-{quota}=5000"))
        .collect()
}

fn backend_budget_args() -> Vec<String> {
    ["creates-per-5min", "creates-per-hour", "deletes-per-5min", "deletes-per-hour"]
        .iter()
        .map(|budget| format!("--{budget}=5000"))
        .collect()
}

/// How long `pods` pods may take to converge after an injection.
fn converge_timeout(pods: usize) -> Duration {
    READY_TIMEOUT + Duration::from_secs(pods as u64)
}

/// The test's world on the shared control plane, with an emulator that has room for big
/// bursts.
async fn roomy_e2e(prefix: &str) -> Result<E2e> {
    let mut e2e = E2e::start(prefix).await?;
    e2e.emulator.stop().await?;
    let dir = e2e.dir.path().join("emulator-roomy");
    e2e.emulator = EmulatorProcess::start_with(&dir, &e2e.dir.path().join("logs"), &emulator_quota_args())
        .await
        .context("starting the emulator with room for big bursts")?;
    Ok(e2e)
}

/// The same on a private control plane (whose apiserver the test restarts).
async fn roomy_e2e_on(plane: &'static ControlPlane, prefix: &str) -> Result<E2e> {
    let namespace = plane.create_namespace(prefix).await?;
    plane.wait_for_default_service_account(&namespace).await?;
    let keep = std::env::var(e2e_support::KEEP_ENV).is_ok_and(|value| value == "1");
    let dir = tempfile::Builder::new().prefix("vk-rel-").disable_cleanup(keep).tempdir()?;
    if keep {
        eprintln!("keeping {} (logs in logs/)", dir.path().display());
    }
    let emulator = EmulatorProcess::start_with(
        &dir.path().join("emulator"),
        &dir.path().join("logs"),
        &emulator_quota_args(),
    )
    .await?;
    let kubelet_client_ca = dir.path().join("kubelet-client-ca.crt");
    std::fs::write(&kubelet_client_ca, plane.kubelet_client_ca_pem())?;
    Ok(E2e {
        plane,
        client: plane.client()?,
        target: AzureTarget::local(&namespace),
        namespace,
        emulator,
        dir,
        kubelet_client_ca,
    })
}

/// A Linux sidecar connector whose backend has the big budget.
async fn connector(e2e: &E2e, prefix: &str) -> Result<SidecarConnector> {
    let node_name = unique_name(prefix);
    let logs = e2e.dir.path().join("logs");
    let socket = e2e.dir.path().join(format!("{node_name}.sock"));
    let mut backend = BackendProcess::start_with(
        &format!("aci-backend-{node_name}"),
        Os::Linux,
        Listen::Unix(socket),
        &e2e.emulator,
        &e2e.target,
        &logs,
        &backend_budget_args(),
    )
    .await?;
    let mut options =
        AgentOptions::new(&node_name, Os::Linux, backend.listen().endpoint(), e2e.plane.kubeconfig_path());
    options.kubelet_client_ca = Some(e2e.kubelet_client_ca.clone());
    match AgentProcess::start(&options, &e2e.client, &logs, READY_TIMEOUT).await {
        Ok(agent) => Ok(SidecarConnector { backend, agent }),
        Err(error) => {
            let _ = backend.stop().await;
            Err(error.into())
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Agent,
    Backend,
    Both,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::Agent => "node-agent",
            Target::Backend => "aci-backend",
            Target::Both => "node-agent and aci-backend",
        }
    }
    fn agent(self) -> bool {
        self != Target::Backend
    }
    fn backend(self) -> bool {
        self != Target::Agent
    }
}

async fn kill(connector: &mut SidecarConnector, target: Target) -> Result<()> {
    if target.agent() {
        connector.agent.process().kill9().await?;
    }
    if target.backend() {
        connector.backend.process().kill9().await?;
    }
    Ok(())
}

/// Starts what was killed again with the same flags: the backend first (it must answer on
/// its socket), then the agent.
async fn restart(connector: &mut SidecarConnector, target: Target) -> Result<()> {
    if target.backend() {
        let Listen::Unix(socket) = connector.backend.listen().clone() else {
            anyhow::bail!("the sidecar backend listens on a Unix socket");
        };
        let process = connector.backend.process();
        process.respawn()?;
        process
            .wait_until("the restarted backend to answer", Duration::from_secs(60), || {
                let socket = socket.clone();
                async move { tokio::net::UnixStream::connect(&socket).await.is_ok() }
            })
            .await?;
    }
    if target.agent() {
        connector.agent.process().respawn()?;
    }
    Ok(())
}

/// One target: kill it a third into a burst of `pods` pods, then a third into their deletion.
async fn kill_during_burst_and_deletion(target: Target, pods: usize) -> Result<()> {
    let e2e = roomy_e2e("rel-kill").await?;
    let mut connector = connector(&e2e, "vk-rel-kill").await?;
    let admin = Admin::new(&e2e.emulator)?;
    let node = connector.agent.node_name().to_string();
    let timeout = converge_timeout(pods);

    e2e.apply(&pinned_deployment(APP, &node, i32::try_from(pods)?, None)).await?;
    let at = wait_for(&e2e, &admin, APP, "a third of its groups", timeout, |a| a.groups >= pods / 3).await?;
    kill(&mut connector, target).await?;
    tokio::time::sleep(DOWN).await;
    restart(&mut connector, target).await?;
    let (audit, took) = converge(&e2e, &admin, APP, pods, timeout).await?;
    let injected = format!(
        "SIGKILL with {}/{pods} groups created and {} pods Running, down {} s",
        at.groups,
        at.running,
        DOWN.as_secs()
    );
    report(&format!("kill -9 {} during a {pods}-pod burst", target.name()), &injected, &audit, pods, took)?;

    e2e.kubectl(&["delete", "deployment", APP, "--wait=false"]).await?;
    let at = wait_for(&e2e, &admin, APP, "a third of its groups deleted", timeout, |a| {
        a.groups <= pods - pods / 3
    })
    .await?;
    kill(&mut connector, target).await?;
    tokio::time::sleep(DOWN).await;
    restart(&mut connector, target).await?;
    let (audit, took) = converge(&e2e, &admin, APP, 0, timeout).await?;
    let injected = format!(
        "SIGKILL with {}/{pods} groups left and {} pods Terminating, down {} s",
        at.groups,
        at.terminating,
        DOWN.as_secs()
    );
    report(
        &format!("kill -9 {} during the deletion of {pods} pods", target.name()),
        &injected,
        &audit,
        0,
        took,
    )?;

    connector.stop().await?;
    no_panics(&e2e)?;
    e2e.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_node_agent_during_a_burst_and_a_mass_deletion_loses_nothing() -> Result<()> {
    kill_during_burst_and_deletion(Target::Agent, pods_from_env(BURST)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_aci_backend_during_a_burst_and_a_mass_deletion_loses_nothing() -> Result<()> {
    kill_during_burst_and_deletion(Target::Backend, pods_from_env(BURST)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_both_during_a_burst_and_a_mass_deletion_loses_nothing() -> Result<()> {
    kill_during_burst_and_deletion(Target::Both, pods_from_env(BURST)).await
}

/// The apiserver restarted a third into a burst; then the agent frozen (SIGSTOP) while pods
/// are force-deleted and replaced and the apiserver restarts again, so its pod watch resumes
/// from a resourceVersion the new apiserver no longer has: 410 Gone. The agent must relist,
/// delete the groups of the pods it never saw go, and create the new ones. Last, the apiserver
/// restarted a third into the deletion of every pod.
async fn apiserver_restart_and_expired_watch(pods: usize) -> Result<()> {
    // The plane lives until the test process ends (its servers end with it); its files go
    // with `state` when the test returns.
    let state = tempfile::Builder::new().prefix("vk-rel-plane-").tempdir()?;
    let options = Options { state_parent: Some(state.path().to_path_buf()), ..Options::default() };
    let plane: &'static ControlPlane = Box::leak(Box::new(ControlPlane::start(options).await?));
    let e2e = roomy_e2e_on(plane, "rel-apiserver").await?;
    let mut connector = connector(&e2e, "vk-rel-api").await?;
    let admin = Admin::new(&e2e.emulator)?;
    let node = connector.agent.node_name().to_string();
    let timeout = converge_timeout(pods);

    e2e.apply(&pinned_deployment(APP, &node, i32::try_from(pods)?, None)).await?;
    let at = wait_for(&e2e, &admin, APP, "a third of its groups", timeout, |a| a.groups >= pods / 3).await?;
    let down = Duration::from_secs(5);
    plane.stop_apiserver().await?;
    tokio::time::sleep(down).await;
    plane.start_apiserver().await?;
    let (audit, took) = converge(&e2e, &admin, APP, pods, timeout).await?;
    let log = connector.agent.process().log_path().to_path_buf();
    let retried = std::fs::read_to_string(&log)?.matches("writing the pod status failed; retrying").count();
    let injected = format!(
        "apiserver stopped with {}/{pods} groups created, down {} s (+ its start-up); {retried} status writes \
         failed meanwhile and were retried",
        at.groups,
        down.as_secs()
    );
    report(&format!("apiserver restart during a {pods}-pod burst"), &injected, &audit, pods, took)?;

    let replaced = 5.min(pods);
    let log_before = std::fs::read_to_string(&log)?.len();
    connector.agent.process().pause()?;
    let victims: Vec<String> =
        e2e.pods_of(APP).await?.iter().take(replaced).filter_map(|pod| pod.metadata.name.clone()).collect();
    let mut args = vec!["delete", "pod", "--grace-period=0", "--force"];
    args.extend(victims.iter().map(String::as_str));
    e2e.kubectl(&args).await?;
    e2e_support::eventually("the replacements to be bound", timeout, || async {
        let now = e2e.pods_of(APP).await?;
        let bound = now.iter().filter(|pod| e2e_support::node_of(pod).is_some()).count();
        let gone =
            now.iter().all(|pod| pod.metadata.name.as_ref().is_none_or(|name| !victims.contains(name)));
        Ok((bound == pods && gone).then_some(()))
    })
    .await?;
    plane.restart_apiserver().await?;
    connector.agent.process().resume()?;
    let (audit, took) = converge(&e2e, &admin, APP, pods, timeout).await?;
    let text = std::fs::read_to_string(&log)?;
    let after = text.get(log_before..).unwrap_or_default();
    let expired = after.matches("too old resource version").count();
    ensure!(
        expired > 0,
        "the agent's pod watch got 410 Gone after the freeze (its log since then has no 'too old resource \
         version'):\n{}",
        after.lines().filter(|line| line.contains("watch")).take(20).collect::<Vec<_>>().join("\n")
    );
    let injected = format!(
        "agent frozen while {replaced} pods were force-deleted and replaced and the apiserver restarted; its \
         watch resumed with 410 Gone ({expired} in its log)"
    );
    report("expired pod watch (410 Gone) → relist", &injected, &audit, pods, took)?;

    e2e.kubectl(&["delete", "deployment", APP, "--wait=false"]).await?;
    let at = wait_for(&e2e, &admin, APP, "a third of its groups deleted", timeout, |a| {
        a.groups <= pods - pods / 3
    })
    .await?;
    plane.stop_apiserver().await?;
    tokio::time::sleep(down).await;
    plane.start_apiserver().await?;
    let (audit, took) = converge(&e2e, &admin, APP, 0, timeout).await?;
    let injected = format!(
        "apiserver stopped with {}/{pods} groups left, down {} s (+ its start-up)",
        at.groups,
        down.as_secs()
    );
    report(&format!("apiserver restart during the deletion of {pods} pods"), &injected, &audit, 0, took)?;

    connector.stop().await?;
    no_panics(&e2e)?;
    e2e.finish().await?;
    drop(state);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apiserver_restarts_in_a_burst_and_a_deletion_and_an_expired_watch_lose_nothing() -> Result<()> {
    apiserver_restart_and_expired_watch(pods_from_env(BURST)).await
}
