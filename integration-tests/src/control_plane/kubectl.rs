//! Running the real `kubectl` against a control plane as its admin.

use std::process::Stdio;

use super::error::Error;
use super::instance::ControlPlane;

impl ControlPlane {
    /// A `kubectl` command preset with the admin kubeconfig, for callers that need stdin,
    /// streaming output or the exit status. Killed when dropped.
    pub fn kubectl_command(&self) -> tokio::process::Command {
        let mut command = tokio::process::Command::new("kubectl");
        command
            .arg("--kubeconfig")
            .arg(self.kubeconfig_path())
            .env_remove("KUBECONFIG")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        command
    }

    /// Runs `kubectl <args>` and returns its stdout; a non-zero exit is an error carrying
    /// stderr. Async, so servers running in the caller's runtime (node-agent answering
    /// `kubectl logs` via the apiserver) keep being served meanwhile.
    pub async fn kubectl(&self, args: &[&str]) -> Result<String, Error> {
        let shown = args.join(" ");
        let output = self
            .kubectl_command()
            .args(args)
            .output()
            .await
            .map_err(|source| Error::SpawnKubectl { args: shown.clone(), source })?;
        if !output.status.success() {
            return Err(Error::KubectlFailed {
                args: shown,
                status: output.status,
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            });
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }
}
