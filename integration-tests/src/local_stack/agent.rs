//! node-agent as a process: one virtual node talking to one backend.

use std::path::{Path, PathBuf};
use std::time::Duration;

use k8s_openapi::api::core::v1::Node;
use kube::Api;

use super::binaries::binary;
use super::error::LocalStackError;
use super::os::Os;
use super::ports::free_ports;
use super::process::Process;
use super::remote_tls::CallerFiles;

/// How a node-agent is started.
#[derive(Clone, Debug)]
pub struct AgentOptions {
    pub node_name: String,
    pub os: Os,
    pub connector_name: String,
    pub region: String,
    /// `--backend`: `unix://...` or `tcp://...`.
    pub backend: String,
    /// TLS and identity towards a remote backend.
    pub backend_credentials: Option<CallerFiles>,
    /// The kubeconfig the agent uses.
    pub kubeconfig: PathBuf,
    /// `--cluster-id`; `None` lets the agent use the kube-system namespace's UID.
    pub cluster_id: Option<String>,
    /// CA of the apiserver's kubelet client certificate, for the kubelet API.
    pub kubelet_client_ca: Option<PathBuf>,
    pub remove_node_on_exit: bool,
    /// Further flags, appended last.
    pub extra_args: Vec<String>,
}

impl AgentOptions {
    /// A sidecar agent named `node_name` for `os` on the backend at `backend`.
    pub fn new(node_name: &str, os: Os, backend: String, kubeconfig: &Path) -> Self {
        Self {
            node_name: node_name.to_string(),
            os,
            connector_name: "local".into(),
            region: "local".into(),
            backend,
            backend_credentials: None,
            kubeconfig: kubeconfig.to_path_buf(),
            cluster_id: None,
            kubelet_client_ca: None,
            remove_node_on_exit: true,
            extra_args: Vec::new(),
        }
    }

    fn args(&self, kubelet_port: u16, metrics_port: u16) -> Vec<String> {
        let mut args = vec![
            format!("--nodename={}", self.node_name),
            format!("--os={}", self.os),
            format!("--connector-name={}", self.connector_name),
            format!("--region={}", self.region),
            format!("--kubeconfig={}", self.kubeconfig.display()),
            format!("--backend={}", self.backend),
            format!("--kubelet-port={kubelet_port}"),
            "--internal-ip=127.0.0.1".into(),
            format!("--metrics-addr=127.0.0.1:{metrics_port}"),
        ];
        if let Some(files) = &self.backend_credentials {
            args.push(format!("--backend-tls-ca={}", files.server_ca.display()));
            if let Some((cert, key)) = &files.cert_and_key {
                args.push(format!("--backend-tls-cert={}", cert.display()));
                args.push(format!("--backend-tls-key={}", key.display()));
            }
            if let Some(token) = &files.token_file {
                args.push(format!("--backend-token-file={}", token.display()));
            }
        }
        if let Some(cluster_id) = &self.cluster_id {
            args.push(format!("--cluster-id={cluster_id}"));
        }
        if let Some(ca) = &self.kubelet_client_ca {
            args.push(format!("--client-ca-file={}", ca.display()));
        }
        if self.remove_node_on_exit {
            args.push("--remove-node-on-exit".into());
        }
        args.extend(self.extra_args.iter().cloned());
        args
    }
}

/// A running node-agent.
#[derive(Debug)]
pub struct AgentProcess {
    process: Process,
    node_name: String,
    kubelet_port: u16,
}

impl AgentProcess {
    /// Starts the agent and waits until its Node is Ready.
    pub async fn start(
        options: &AgentOptions,
        client: &kube::Client,
        log_dir: &Path,
        ready_timeout: Duration,
    ) -> Result<Self, LocalStackError> {
        let ports = free_ports(2)?;
        let args = options.args(ports[0], ports[1]);
        let name = format!("node-agent-{}", options.node_name);
        let process = Process::spawn(&name, &binary("node-agent")?, args, log_dir)?;
        let mut agent = Self { process, node_name: options.node_name.clone(), kubelet_port: ports[0] };
        agent.wait_ready(client, ready_timeout).await?;
        Ok(agent)
    }

    /// Waits until the Node exists with condition Ready=True.
    pub async fn wait_ready(
        &mut self,
        client: &kube::Client,
        timeout: Duration,
    ) -> Result<(), LocalStackError> {
        let nodes: Api<Node> = Api::all(client.clone());
        let name = self.node_name.clone();
        self.process
            .wait_until(&format!("node {name} to be Ready"), timeout, || {
                let (nodes, name) = (nodes.clone(), name.clone());
                async move { matches!(nodes.get_opt(&name).await, Ok(Some(node)) if node_is_ready(&node)) }
            })
            .await
    }

    pub fn node_name(&self) -> &str {
        &self.node_name
    }

    /// The port of its kubelet API on 127.0.0.1.
    pub fn kubelet_port(&self) -> u16 {
        self.kubelet_port
    }

    pub fn process(&mut self) -> &mut Process {
        &mut self.process
    }

    /// SIGTERM (with `--remove-node-on-exit` the agent deletes its Node) and wait.
    pub async fn stop(&mut self) -> Result<Option<std::process::ExitStatus>, LocalStackError> {
        self.process.stop().await
    }
}

/// `true` when the Node's Ready condition is True.
pub fn node_is_ready(node: &Node) -> bool {
    node.status
        .as_ref()
        .and_then(|status| status.conditions.as_ref())
        .is_some_and(|conditions| conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remote_agent_is_given_its_tls_files_and_token() {
        let mut options = AgentOptions::new("n", Os::Windows, "tcp://127.0.0.1:1".into(), Path::new("/k"));
        options.backend_credentials = Some(CallerFiles {
            name: "b".into(),
            server_ca: "/ca".into(),
            cert_and_key: None,
            token_file: Some("/token".into()),
        });
        options.cluster_id = Some("c2".into());
        let args = options.args(10250, 10255);
        for expected in [
            "--os=windows",
            "--backend=tcp://127.0.0.1:1",
            "--backend-tls-ca=/ca",
            "--backend-token-file=/token",
            "--cluster-id=c2",
            "--kubelet-port=10250",
            "--metrics-addr=127.0.0.1:10255",
            "--remove-node-on-exit",
        ] {
            assert!(args.iter().any(|arg| arg == expected), "{expected} missing from {args:?}");
        }
        assert!(!args.iter().any(|arg| arg.starts_with("--backend-tls-cert")));
    }
}
