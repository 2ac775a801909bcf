//! `vk-local up` and `vk-local status`.

use std::os::unix::process::CommandExt as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use integration_tests::control_plane::log_tail;
use integration_tests::local_stack::{StackPaths, examples};
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::ListParams;
use kube::config::{KubeConfigOptions, Kubeconfig};

use super::owner;

/// How long the stack may take to come up; the first run builds Kubernetes (~10 minutes).
const START_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// How long the example pods may take to be Running.
const PODS_TIMEOUT: Duration = Duration::from_secs(180);

pub async fn up(paths: &StackPaths) -> anyhow::Result<()> {
    if let Some(pid) = owner::running(paths) {
        say!("The local stack is already running (pid {pid}).");
        return status(paths).await;
    }
    let leftovers = owner::processes_mentioning(paths.root());
    if !leftovers.is_empty() {
        bail!(
            "processes of an earlier stack are still running ({leftovers:?}); run `vk-local down --state-dir {}`",
            paths.root().display()
        );
    }
    if paths.root().exists() {
        std::fs::remove_dir_all(paths.root())
            .with_context(|| format!("removing the old state in {}", paths.root().display()))?;
    }
    std::fs::create_dir_all(paths.logs()).with_context(|| format!("creating {}", paths.logs().display()))?;
    start_owner(paths)?;
    apply_examples(paths).await?;
    wait_for_example_pods(paths).await?;
    status(paths).await?;
    say!();
    say!("Point kubectl at it:  export KUBECONFIG={}", paths.kubeconfig().display());
    say!("Logs:                 {}", paths.logs().display());
    say!("Stop everything:      bash integration-tests/quickstart.sh down");
    Ok(())
}

/// Starts `vk-local run` in the background and waits until it says the stack is ready.
fn start_owner(paths: &StackPaths) -> anyhow::Result<()> {
    let log = std::fs::File::options()
        .create(true)
        .append(true)
        .open(paths.owner_log())
        .with_context(|| format!("opening {}", paths.owner_log().display()))?;
    let exe = std::env::current_exe().context("finding the vk-local executable")?;
    let mut owner = Command::new(exe)
        .arg("--state-dir")
        .arg(paths.root())
        .arg("run")
        .stdin(Stdio::null())
        .stdout(log.try_clone().context("sharing the log file")?)
        .stderr(log)
        .process_group(0)
        .spawn()
        .context("starting `vk-local run` in the background")?;
    std::fs::write(paths.pid_file(), owner.id().to_string())
        .with_context(|| format!("writing {}", paths.pid_file().display()))?;
    eprintln!(
        "Starting the control plane, the ACI emulator and the Linux and Windows connectors \
         (log: {}; the very first run builds Kubernetes 1.20.2 first, about 10 minutes)...",
        paths.owner_log().display()
    );
    let started = Instant::now();
    while !paths.ready_file().exists() {
        if let Some(status) = owner.try_wait().context("checking the background process")? {
            bail!("the local stack failed to start ({status}):\n{}", log_tail(&paths.owner_log(), 40));
        }
        if started.elapsed() > START_TIMEOUT {
            owner::signal("-TERM", owner.id())?;
            bail!(
                "the local stack did not start within {START_TIMEOUT:?}:\n{}",
                log_tail(&paths.owner_log(), 40)
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    Ok(())
}

fn kubectl(paths: &StackPaths) -> Command {
    let mut command = Command::new("kubectl");
    command.arg("--kubeconfig").arg(paths.kubeconfig()).env_remove("KUBECONFIG");
    command
}

async fn apply_examples(paths: &StackPaths) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut apply = kubectl(paths)
        .args(["apply", "-f", "-"])
        .stdin(Stdio::piped())
        .spawn()
        .context("running kubectl apply")?;
    apply
        .stdin
        .take()
        .context("kubectl's stdin")?
        .write_all(examples::all().as_bytes())
        .context("writing the example Deployments to kubectl")?;
    let status = apply.wait().context("waiting for kubectl apply")?;
    if !status.success() {
        bail!("kubectl apply of the example Deployments failed ({status})");
    }
    Ok(())
}

async fn wait_for_example_pods(paths: &StackPaths) -> anyhow::Result<()> {
    let kubeconfig = Kubeconfig::read_from(paths.kubeconfig()).context("reading the kubeconfig")?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .context("loading the kubeconfig")?;
    let pods: Api<Pod> = Api::namespaced(kube::Client::try_from(config)?, "default");
    let selector = ListParams::default().labels("app in (aci-helloworld,nanoserver-iis)");
    let started = Instant::now();
    loop {
        let listed = pods.list(&selector).await.context("listing the example pods")?;
        let running = |app: &str| {
            listed.items.iter().any(|pod| {
                let labels = pod.metadata.labels.as_ref();
                let status = pod.status.as_ref();
                labels.and_then(|l| l.get("app")).is_some_and(|a| a == app)
                    && status.and_then(|s| s.phase.as_deref()) == Some("Running")
                    && status.and_then(|s| s.pod_ip.as_deref()).is_some()
            })
        };
        if running("aci-helloworld") && running("nanoserver-iis") {
            return Ok(());
        }
        if started.elapsed() > PODS_TIMEOUT {
            eprintln!("The example pods are not all Running after {PODS_TIMEOUT:?}; showing what there is.");
            return Ok(());
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

pub async fn status(paths: &StackPaths) -> anyhow::Result<()> {
    if owner::running(paths).is_none() {
        say!("The local stack is not running (state directory {}).", paths.root().display());
        return Ok(());
    }
    for args in [&["get", "nodes", "-o", "wide"][..], &["get", "pods", "-o", "wide"][..]] {
        say!("$ kubectl {}", args.join(" "));
        let status = kubectl(paths).args(args).status().context("running kubectl")?;
        if !status.success() {
            bail!("kubectl {} failed ({status})", args.join(" "));
        }
        say!();
    }
    Ok(())
}
