//! node-agent run with nothing but the chart's ServiceAccount token and the args the chart
//! renders, against the in-memory reference backend, through the kubelet flow in named parts.
//! Proves the chart's RBAC sufficient (the flow passes) and each rule needed (without it a
//! named part fails).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use serde_json::{Value, json};

use crate::support::{Release, args, container, repo_root};

/// How long one part of the flow may take (generous: the machine may be busy).
const PART_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a part expected to fail is watched not to happen.
const FAILING_PART_WATCH: Duration = Duration::from_secs(20);

/// The named parts of the flow, in order.
pub const PARTS: [&str; 5] = ["registration", "lease", "readiness", "pod start", "pod deletion"];

/// Where cargo puts debug binaries.
fn target_debug() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"))
        .join("debug")
}

/// Builds (if needed, once per test process) and locates the binaries the flow runs.
async fn binaries() -> Result<(PathBuf, PathBuf)> {
    static BUILT: tokio::sync::OnceCell<(PathBuf, PathBuf)> = tokio::sync::OnceCell::const_new();
    BUILT.get_or_try_init(build).await.cloned()
}

async fn build() -> Result<(PathBuf, PathBuf)> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = tokio::process::Command::new(cargo)
        .current_dir(repo_root())
        .args(["build", "-p", "node-agent", "--bin", "node-agent", "-p", "provider-testkit"])
        .args(["--bin", "reference-backend", "--bin", "vkctl"])
        .status()
        .await
        .context("running cargo build for node-agent, reference-backend and vkctl")?;
    if !status.success() {
        bail!("building node-agent, reference-backend and vkctl failed ({status})");
    }
    let target = target_debug();
    Ok((target.join("node-agent"), target.join("reference-backend")))
}

/// The token of the release's ServiceAccount (1.20 creates a token Secret for it).
async fn service_account_token(release: &Release, account: &str) -> Result<String> {
    let deadline = tokio::time::Instant::now() + PART_TIMEOUT;
    loop {
        let secrets =
            release.plane.kubectl(&["get", "secrets", "-n", &release.namespace, "-o", "json"]).await?;
        let secrets: Value = serde_json::from_str(&secrets)?;
        let token = secrets["items"].as_array().into_iter().flatten().find(|s| {
            s["type"] == "kubernetes.io/service-account-token"
                && s["metadata"]["annotations"]["kubernetes.io/service-account.name"] == account
        });
        if let Some(token) = token.and_then(|s| s["data"]["token"].as_str()) {
            return Ok(String::from_utf8(base64::engine::general_purpose::STANDARD.decode(token)?)?);
        }
        if tokio::time::Instant::now() > deadline {
            bail!("no token Secret for ServiceAccount {account}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Removes from the release's `kind` named `name` (in `namespace`, if any) every rule for which
/// `drop` is true, as an administrator would edit it.
pub async fn remove_rules(
    release: &Release,
    kind: &str,
    name: &str,
    namespace: Option<&str>,
    drop: impl Fn(&Value) -> bool,
) -> Result<()> {
    let mut get = vec!["get", kind, name, "-o", "json"];
    if let Some(namespace) = namespace {
        get.extend(["-n", namespace]);
    }
    let mut role: Value = serde_json::from_str(&release.plane.kubectl(&get).await?)?;
    let rules = role["rules"].as_array().cloned().unwrap_or_default();
    let kept: Vec<Value> = rules.iter().filter(|r| !drop(r)).cloned().collect();
    if kept.len() == rules.len() {
        bail!("no rule of {kind} {name} matched");
    }
    role["rules"] = Value::Array(kept);
    let file = tempfile::Builder::new().suffix(".json").tempfile()?;
    std::fs::write(file.path(), serde_json::to_vec(&role)?)?;
    release.plane.kubectl(&["replace", "-f", &file.path().display().to_string()]).await?;
    Ok(())
}

/// Whether a rule covers `verb` on `resource`.
pub fn grants(rule: &Value, verb: &str, resource: &str) -> bool {
    let has = |key: &str, wanted: &str| rule[key].as_array().into_iter().flatten().any(|v| v == wanted);
    has("verbs", verb) && has("resources", resource)
}

/// The running agent and backend; both are killed when this is dropped.
pub struct AgentRun {
    _backend: tokio::process::Child,
    agent: tokio::process::Child,
    _dir: tempfile::TempDir,
    log: PathBuf,
    /// The node the agent serves.
    pub node: String,
    /// The backend's socket.
    pub socket: PathBuf,
}

impl AgentRun {
    /// Stops the agent as its pod's termination would; the backend keeps running.
    pub async fn stop_agent(&mut self) -> Result<()> {
        self.agent.start_kill()?;
        self.agent.wait().await?;
        Ok(())
    }

    /// The pods (container groups) the backend holds for this node in `cluster_id`.
    pub async fn backend_pods(&self, cluster_id: &str) -> Result<usize> {
        let output = tokio::process::Command::new(target_debug().join("vkctl"))
            .arg("--backend")
            .arg(format!("unix://{}", self.socket.display()))
            .args(["--cluster-id", cluster_id, "--node-name", &self.node, "-o", "json", "list"])
            .output()
            .await
            .context("running vkctl")?;
        if !output.status.success() {
            bail!("vkctl list failed: {}", String::from_utf8_lossy(&output.stderr));
        }
        let pods: Value = serde_json::from_slice(&output.stdout)?;
        Ok(pods.as_array().map_or(0, Vec::len))
    }

    /// The agent's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The end of the agent's log, for failure messages.
    pub fn log_tail(&self) -> String {
        let text = self.log();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }
}

async fn wait_for_socket(path: &Path) -> Result<()> {
    for _ in 0..100 {
        if path.exists() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("the reference backend did not create {}", path.display())
}

/// Writes a kubeconfig at `path` whose only credential is the token of the release's
/// ServiceAccount `account`.
pub async fn write_kubeconfig(release: &Release, account: &str, path: &Path) -> Result<()> {
    let token = service_account_token(release, account).await?;
    let ca = base64::engine::general_purpose::STANDARD.encode(release.plane.cluster_ca_pem());
    let config = json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{ "name": "c", "cluster": { "server": release.plane.server_url(), "certificate-authority-data": ca } }],
        "users": [{ "name": "sa", "user": { "token": token } }],
        "contexts": [{ "name": "c", "context": { "cluster": "c", "user": "sa" } }],
        "current-context": "c",
    });
    std::fs::write(path, config.to_string())?;
    Ok(())
}

/// Starts the release's node-agent for `os` as the chart renders it, with the chart's
/// ServiceAccount token as its only credential, and a reference backend on its socket.
pub async fn start_agent(release: &Release, os: &str) -> Result<AgentRun> {
    let (agent_bin, backend_bin) = binaries().await?;
    let deployment = release.one("Deployment", &format!("-{os}"))?;
    let account = deployment["spec"]["template"]["spec"]["serviceAccountName"]
        .as_str()
        .context("serviceAccountName")?
        .to_string();
    let dir = tempfile::tempdir()?;
    let kubeconfig = dir.path().join("kubeconfig");
    write_kubeconfig(release, &account, &kubeconfig).await?;
    let socket = dir.path().join("provider.sock");
    let backend = tokio::process::Command::new(backend_bin)
        .arg("--listen")
        .arg(format!("unix://{}", socket.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("starting reference-backend")?;
    wait_for_socket(&socket).await?;
    let metrics = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let kubelet_port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    // The chart's args, with what only differs on this machine (several agents share it): the
    // socket path, the metrics and kubelet ports.
    let mut agent_args: Vec<String> = args(container(deployment, "node-agent")?)
        .into_iter()
        .map(|arg| {
            if arg.starts_with("--backend=") {
                format!("--backend=unix://{}", socket.display())
            } else if arg.starts_with("--metrics-addr=") {
                format!("--metrics-addr={metrics}")
            } else if arg.starts_with("--kubelet-port=") {
                format!("--kubelet-port={kubelet_port}")
            } else {
                arg
            }
        })
        .collect();
    agent_args.extend(["--kubeconfig".to_string(), kubeconfig.display().to_string()]);
    agent_args.extend(["--lease-renew-seconds=2".to_string(), "--node-status-poll-seconds=1".to_string()]);
    let node = agent_args
        .iter()
        .find_map(|a| a.strip_prefix("--nodename="))
        .context("the chart names the node")?
        .to_string();
    let log = dir.path().join("agent.log");
    // tracing writes to stdout.
    let log_file = std::fs::File::create(&log)?;
    let agent = tokio::process::Command::new(agent_bin)
        .args(&agent_args)
        .env_remove("KUBECONFIG")
        .env("VKUBELET_POD_IP", "127.0.0.1")
        .env("RUST_LOG", "info")
        .stdout(Stdio::from(log_file.try_clone()?))
        .stderr(log_file)
        .kill_on_drop(true)
        .spawn()
        .context("starting node-agent")?;
    Ok(AgentRun { _backend: backend, agent, _dir: dir, log, node, socket })
}

async fn kubectl_json(release: &Release, args: &[&str]) -> Option<Value> {
    let out = release.plane.kubectl(args).await.ok()?;
    serde_json::from_str(&out).ok()
}

async fn part<F, Fut>(timeout: Duration, check: F) -> bool
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    false
}

/// Whether `node` turns Ready within `timeout`.
pub async fn node_ready(release: &Release, node: &str, timeout: Duration) -> bool {
    part(timeout, || async {
        kubectl_json(release, &["get", "node", node, "-o", "json"]).await.is_some_and(|n| {
            n["status"]["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
    })
    .await
}

/// Whether the release namespace's pod `name` runs within `timeout`.
pub async fn pod_running(release: &Release, name: &str, timeout: Duration) -> bool {
    let ns = release.namespace.as_str();
    part(timeout, || async {
        kubectl_json(release, &["get", "pod", name, "-n", ns, "-o", "json"])
            .await
            .is_some_and(|p| p["status"]["phase"] == "Running")
    })
    .await
}

/// Runs the flow; returns the parts that passed and the first that failed, if any. The part
/// `expected_to_fail` is watched for [`FAILING_PART_WATCH`], the others get [`PART_TIMEOUT`].
pub async fn run_flow(
    release: &Release,
    run: &AgentRun,
    expected_to_fail: Option<&str>,
) -> Result<(Vec<&'static str>, Option<&'static str>)> {
    let ns = release.namespace.as_str();
    let node = run.node.as_str();
    let mut passed = Vec::new();
    for name in PARTS {
        let timeout = if expected_to_fail == Some(name) { FAILING_PART_WATCH } else { PART_TIMEOUT };
        let ok = match name {
            "registration" => {
                part(timeout, || async {
                    kubectl_json(release, &["get", "node", node, "-o", "json"])
                        .await
                        .is_some_and(|n| n["metadata"]["labels"]["type"] == "virtual-kubelet")
                })
                .await
            }
            "lease" => {
                part(timeout, || async {
                    kubectl_json(release, &["get", "lease", node, "-n", "kube-node-lease", "-o", "json"])
                        .await
                        .is_some_and(|l| l["spec"]["holderIdentity"] == node)
                })
                .await
            }
            "readiness" => node_ready(release, node, timeout).await,
            "pod start" => {
                create_pod(release, node).await?;
                pod_running(release, "app", timeout).await
            }
            _ => {
                release.plane.kubectl(&["delete", "pod", "app", "-n", ns, "--wait=false"]).await?;
                part(timeout, || async {
                    release.plane.kubectl(&["get", "pod", "app", "-n", ns]).await.is_err()
                })
                .await
            }
        };
        if !ok {
            return Ok((passed, Some(name)));
        }
        passed.push(name);
    }
    Ok((passed, None))
}

/// A pod bound to the node that references a ConfigMap, a Secret and a projected token.
async fn create_pod(release: &Release, node: &str) -> Result<()> {
    let ns = release.namespace.as_str();
    let objects = json!({ "apiVersion": "v1", "kind": "List", "items": [
        { "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "settings", "namespace": ns },
          "data": { "MODE": "fast" } },
        { "apiVersion": "v1", "kind": "Secret", "metadata": { "name": "db", "namespace": ns },
          "stringData": { "PASSWORD": "hunter2" } },
        { "apiVersion": "v1", "kind": "Pod", "metadata": { "name": "app", "namespace": ns },
          "spec": {
            "nodeName": node,
            "tolerations": [{ "key": "virtual-kubelet.io/provider", "operator": "Exists" }],
            "containers": [{
                "name": "app", "image": "busybox", "command": ["sleep", "3600"],
                "env": [
                    { "name": "MODE", "valueFrom": { "configMapKeyRef": { "name": "settings", "key": "MODE" } } },
                    { "name": "PW", "valueFrom": { "secretKeyRef": { "name": "db", "key": "PASSWORD" } } },
                ],
                "volumeMounts": [{ "name": "token", "mountPath": "/var/run/token" }],
            }],
            "volumes": [{ "name": "token", "projected": { "sources": [
                { "serviceAccountToken": { "path": "token", "audience": "api://test" } },
            ] } }],
          } },
    ] });
    let file = tempfile::Builder::new().suffix(".json").tempfile()?;
    std::fs::write(file.path(), objects.to_string())?;
    release.plane.kubectl(&["create", "-f", &file.path().display().to_string()]).await?;
    Ok(())
}

/// Deletes the node (the agent does not remove it on a kill).
pub async fn forget_node(release: &Release, node: &str) -> Result<()> {
    release.plane.kubectl(&["delete", "node", node, "--ignore-not-found", "--wait=false"]).await?;
    release
        .plane
        .kubectl(&["delete", "lease", node, "-n", "kube-node-lease", "--ignore-not-found", "--wait=false"])
        .await?;
    Ok(())
}

/// A plain pod `name` bound to `node`.
pub async fn create_plain_pod(release: &Release, name: &str, node: &str) -> Result<()> {
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": { "name": name, "namespace": release.namespace },
        "spec": {
            "nodeName": node,
            "tolerations": [{ "key": "virtual-kubelet.io/provider", "operator": "Exists" }],
            "containers": [{ "name": "app", "image": "busybox", "command": ["sleep", "3600"] }],
        },
    });
    let file = tempfile::Builder::new().suffix(".json").tempfile()?;
    std::fs::write(file.path(), pod.to_string())?;
    release.plane.kubectl(&["create", "-f", &file.path().display().to_string()]).await?;
    Ok(())
}
