//! The connector chart's pre-delete cleanup Job, run step by step with the real kubectl as
//! the Job's own ServiceAccount (its hook RBAC applied as Helm would), against agents started
//! from the chart's args. No kubelet runs here, so the steps run on this machine; each
//! "stop-agent" step is followed by stopping that agent, as the Deployment controller would.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::agent_flow::{AgentRun, write_kubeconfig};
use crate::support::{Release, args};

/// Creates the hook objects except the Job, as Helm does before running the Job.
async fn create_hook_rbac(release: &Release) -> Result<()> {
    let items: Vec<&Value> = release.hooks.iter().filter(|o| o["kind"] != "Job").collect();
    let file = tempfile::Builder::new().suffix(".json").tempfile()?;
    std::fs::write(file.path(), json!({ "apiVersion": "v1", "kind": "List", "items": items }).to_string())?;
    release.plane.kubectl(&["create", "-f", &file.path().display().to_string()]).await?;
    Ok(())
}

/// Runs every container of the cleanup Job in order (init containers, then the main one) as
/// `kubectl <args>` with the Job's ServiceAccount token. Returns the step names.
pub async fn run_cleanup_job(
    release: &Release,
    agents: &mut BTreeMap<String, AgentRun>,
) -> Result<Vec<String>> {
    create_hook_rbac(release).await?;
    let job = release.hooks.iter().find(|o| o["kind"] == "Job").context("no cleanup Job")?;
    let spec = &job["spec"]["template"]["spec"];
    let account = spec["serviceAccountName"].as_str().context("the Job's ServiceAccount")?;
    let dir = tempfile::tempdir()?;
    let kubeconfig = dir.path().join("kubeconfig");
    write_kubeconfig(release, account, &kubeconfig).await?;
    let steps: Vec<&Value> = spec["initContainers"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(spec["containers"].as_array().into_iter().flatten())
        .collect();
    let mut done = Vec::new();
    for step in steps {
        let name = step["name"].as_str().unwrap_or_default().to_string();
        let output = tokio::time::timeout(
            Duration::from_secs(120),
            tokio::process::Command::new("kubectl")
                .arg("--kubeconfig")
                .arg(&kubeconfig)
                .args(args(step))
                .env_remove("KUBECONFIG")
                .kill_on_drop(true)
                .output(),
        )
        .await
        .with_context(|| format!("cleanup step {name} timed out"))??;
        if !output.status.success() {
            bail!("cleanup step {name} failed: {}", String::from_utf8_lossy(&output.stderr));
        }
        if let Some(os) = name.strip_prefix("stop-agent-") {
            agents.get_mut(os).with_context(|| format!("no agent for {os}"))?.stop_agent().await?;
        }
        done.push(name);
    }
    Ok(done)
}
