//! Shared by the chart tests: running the real Helm v4 library (helm-sdkpy, through
//! `charts-test/helm.py` in a venv that `charts-test/setup.sh` creates), and looking into what
//! it rendered.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use integration_tests::control_plane::{ControlPlane, unique_name};
use serde_json::{Value, json};
use tokio::sync::OnceCell;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

/// A chart directory under `charts/`.
pub fn chart(name: &str) -> String {
    repo_root().join("charts").join(name).display().to_string()
}

fn venv() -> PathBuf {
    match std::env::var_os("VK_ACI_HELM_VENV") {
        Some(path) => PathBuf::from(path),
        None => {
            let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/root"));
            home.join(".cache/vk-aci/helm-venv")
        }
    }
}

/// Creates the venv once per test process (the script itself is idempotent).
async fn ensure_venv() -> Result<&'static PathBuf> {
    static PYTHON: OnceCell<PathBuf> = OnceCell::const_new();
    PYTHON
        .get_or_try_init(|| async {
            let script = repo_root().join("integration-tests/charts-test/setup.sh");
            let output = tokio::process::Command::new("bash")
                .arg(&script)
                .output()
                .await
                .with_context(|| format!("running {}", script.display()))?;
            if !output.status.success() {
                bail!(
                    "{} failed ({}): {}",
                    script.display(),
                    output.status,
                    String::from_utf8_lossy(&output.stderr)
                );
            }
            Ok(venv().join("bin/python"))
        })
        .await
}

/// What one run of helm.py printed.
pub struct HelmOutput {
    /// Its JSON answer (`{"error": ...}` when Helm failed).
    pub json: Value,
    /// Its stderr (Helm logs warnings there).
    pub stderr: String,
}

/// Runs `helm.py <args>`.
pub async fn helm_py(args: &[&str]) -> Result<HelmOutput> {
    let python = ensure_venv().await?;
    let script = repo_root().join("integration-tests/charts-test/helm.py");
    let output = tokio::process::Command::new(python)
        .arg(&script)
        .args(args)
        .kill_on_drop(true)
        .output()
        .await
        .context("running helm.py")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let json: Value = serde_json::from_str(stdout.trim())
        .with_context(|| format!("helm.py {} printed no JSON: {stdout}\n{stderr}", args[0]))?;
    Ok(HelmOutput { json, stderr })
}

/// Lint findings of at least warning severity, as `path: message` (Helm's lint serializes
/// most errors without their text, so the path and severity carry the meaning).
pub async fn lint(chart_name: &str, values: &Value) -> Result<(Vec<String>, Vec<String>, String)> {
    let out = helm_py(&["lint", &chart(chart_name), &values.to_string()]).await?;
    if let Some(error) = out.json.get("error") {
        bail!("helm lint {chart_name} failed: {error}");
    }
    let mut warnings = Vec::new();
    let mut errors = Vec::new();
    for message in out.json["Messages"].as_array().into_iter().flatten() {
        let text = format!("{}: {}", message["Path"].as_str().unwrap_or("?"), message["Err"]);
        match message["Severity"].as_i64() {
            Some(2) => warnings.push(text),
            Some(severity) if severity >= 3 => errors.push(text),
            _ => {}
        }
    }
    Ok((warnings, errors, out.stderr))
}

/// A release installed by the real Helm library into its own namespace of the shared local
/// control plane. Cleaned up by [`Release::remove`].
pub struct Release {
    /// The control plane.
    pub plane: &'static ControlPlane,
    /// Release name.
    pub name: String,
    /// Its namespace.
    pub namespace: String,
    /// The objects Helm applied.
    pub objects: Vec<Value>,
    /// The hook objects (not applied at install).
    pub hooks: Vec<Value>,
    /// The rendered NOTES.txt.
    pub notes: String,
}

/// Why an install failed, when it was expected to.
pub async fn install_error(chart_name: &str, values: &Value) -> Result<String> {
    let plane = ControlPlane::shared().await?;
    let namespace = plane.create_namespace("chart-refused").await?;
    let kubeconfig = plane.kubeconfig_path().display().to_string();
    let release = unique_name("r");
    let out =
        helm_py(&["install", &chart(chart_name), &release, &namespace, &kubeconfig, &values.to_string()])
            .await?;
    plane.kubectl(&["delete", "namespace", &namespace, "--wait=false"]).await?;
    match out.json.get("error").and_then(Value::as_str) {
        Some(error) => Ok(error.to_string()),
        None => bail!("installing {chart_name} with {values} succeeded but should have been refused"),
    }
}

impl Release {
    /// Checks the rendered objects (hooks included) with the apiserver's own schema
    /// (server-side dry run, strict validation), then installs the chart for real.
    pub async fn install(chart_name: &str, values: &Value) -> Result<Self> {
        let plane = ControlPlane::shared().await?;
        let namespace = plane.create_namespace(&format!("chart-{chart_name}")).await?;
        let kubeconfig = plane.kubeconfig_path().display().to_string();
        let name = unique_name("r");
        let out =
            helm_py(&["install", &chart(chart_name), &name, &namespace, &kubeconfig, &values.to_string()])
                .await?;
        if let Some(error) = out.json.get("error") {
            bail!("helm install {chart_name} with {values} failed: {error}\n{}", out.stderr);
        }
        let list = |key: &str| out.json[key].as_array().cloned().unwrap_or_default();
        let release = Self {
            plane,
            name,
            namespace,
            objects: list("manifest"),
            hooks: list("hooks"),
            notes: out.json["notes"].as_str().unwrap_or_default().to_string(),
        };
        release.server_dry_run(&release.objects).await.context("the installed objects")?;
        release.server_dry_run(&release.hooks).await.context("the hook objects")?;
        Ok(release)
    }

    /// `kubectl apply --dry-run=server --validate=strict`: the apiserver (1.20) accepts every
    /// object, and no field is unknown to its schema (the install itself skips that check, and
    /// the apiserver would silently drop unknown fields). Every object names its namespace.
    pub async fn server_dry_run(&self, objects: &[Value]) -> Result<()> {
        if objects.is_empty() {
            return Ok(());
        }
        let file = tempfile::Builder::new().suffix(".json").tempfile()?;
        let list = json!({ "apiVersion": "v1", "kind": "List", "items": objects });
        std::fs::write(file.path(), serde_json::to_vec(&list)?)?;
        let path = file.path().display().to_string();
        self.plane.kubectl(&["apply", "--dry-run=server", "--validate=strict", "-f", &path]).await?;
        Ok(())
    }

    /// Objects of `kind`.
    pub fn all(&self, kind: &str) -> Vec<&Value> {
        self.objects.iter().filter(|o| o["kind"] == kind).collect()
    }

    /// The one object of `kind` whose name ends with `suffix`.
    pub fn one(&self, kind: &str, suffix: &str) -> Result<&Value> {
        let found: Vec<&Value> = self
            .all(kind)
            .into_iter()
            .filter(|o| o["metadata"]["name"].as_str().is_some_and(|n| n.ends_with(suffix)))
            .collect();
        match found.as_slice() {
            [one] => Ok(one),
            _ => bail!("expected one {kind} named *{suffix}, found {}", found.len()),
        }
    }

    /// Removes what the release created: its namespace (with the release record) and the
    /// cluster-scoped and kube-node-lease objects carrying its instance label.
    pub async fn remove(self) -> Result<()> {
        let selector = format!("app.kubernetes.io/instance={}", self.name);
        self.plane
            .kubectl(&["delete", "clusterrole,clusterrolebinding", "-l", &selector, "--wait=false"])
            .await?;
        self.plane
            .kubectl(&[
                "delete",
                "role,rolebinding",
                "-n",
                "kube-node-lease",
                "-l",
                &selector,
                "--wait=false",
            ])
            .await?;
        self.plane.kubectl(&["delete", "namespace", &self.namespace, "--wait=false"]).await?;
        Ok(())
    }
}

/// A container of a Deployment's pod template.
pub fn container<'a>(deployment: &'a Value, name: &str) -> Result<&'a Value> {
    deployment["spec"]["template"]["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["name"] == name)
        .with_context(|| format!("no container {name} in {}", deployment["metadata"]["name"]))
}

/// A container's args as strings.
pub fn args(container: &Value) -> Vec<String> {
    container["args"].as_array().into_iter().flatten().filter_map(|a| a.as_str().map(str::to_owned)).collect()
}

/// The names of a Deployment's containers.
pub fn container_names(deployment: &Value) -> Vec<String> {
    deployment["spec"]["template"]["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str().map(str::to_owned))
        .collect()
}
