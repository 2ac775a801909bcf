//! The benchmark's world: one private control plane and one ACI emulator for the whole run,
//! and fresh connectors (aci-backend + node-agent processes) per case or run, each with its
//! own node, resource group and namespace so runs never see each other's pods.

use std::path::PathBuf;
use std::time::Duration;

use integration_tests::control_plane::{ControlPlane, Options, unique_name};
use integration_tests::local_stack::{
    AgentOptions, AgentProcess, AzureTarget, BackendProcess, EmulatorProcess, Listen, Os,
};

use crate::emulator_admin::EmulatorAdmin;
use crate::error::BenchError;

/// Flags that lift aci-backend's own create/delete budget (ACI's default quotas), for the
/// cases that measure everything but quota pacing.
pub fn unpaced_backend() -> Vec<String> {
    ["--creates-per-5min", "--creates-per-hour", "--deletes-per-5min", "--deletes-per-hour"]
        .iter()
        .map(|flag| format!("{flag}=1000000"))
        .collect()
}

pub struct World {
    pub plane: ControlPlane,
    pub client: kube::Client,
    pub emulator: EmulatorProcess,
    pub admin: EmulatorAdmin,
    pub dir: tempfile::TempDir,
    kubelet_client_ca: PathBuf,
}

impl World {
    /// Starts the control plane and the emulator (group, core and delete quotas raised so
    /// thousands of pods fit; ACI's default create quota kept for the pacing case).
    pub async fn start(keep: bool) -> Result<Self, BenchError> {
        let dir = tempfile::Builder::new()
            .prefix("vk-bench-")
            .disable_cleanup(keep)
            .tempdir()
            .map_err(|source| BenchError::File { what: "creating", path: "vk-bench-*".into(), source })?;
        if keep {
            eprintln!("keeping {} (process logs in logs/)", dir.path().display());
        }
        let options = Options { state_parent: Some(dir.path().to_path_buf()), ..Options::default() };
        let plane = ControlPlane::start(options).await?;
        let client = plane.client()?;
        let extra: Vec<String> = [
            "--quota-groups=100000",
            "--quota-cores=1000000",
            "--quota-deletes-per-5min=1000000",
            "--quota-deletes-per-hour=1000000",
        ]
        .map(String::from)
        .to_vec();
        let emulator =
            EmulatorProcess::start_with(&dir.path().join("emulator"), &dir.path().join("logs"), &extra)
                .await?;
        let admin = EmulatorAdmin::new(emulator.base_url(), emulator.ca_path())?;
        let kubelet_client_ca = dir.path().join("kubelet-client-ca.crt");
        std::fs::write(&kubelet_client_ca, plane.kubelet_client_ca_pem()).map_err(|source| {
            BenchError::File { what: "writing", path: kubelet_client_ca.clone(), source }
        })?;
        Ok(Self { plane, client, emulator, admin, dir, kubelet_client_ca })
    }

    /// A fresh Linux connector: its own node, resource group and namespace; the backend gets
    /// `backend_args` besides the usual flags.
    pub async fn connector(&self, prefix: &str, backend_args: &[String]) -> Result<Connector, BenchError> {
        let node = unique_name(prefix);
        let namespace = self.plane.create_namespace(prefix).await?;
        // Its own subscription: ACI quotas count per subscription and region, so no
        // connector inherits another's spent create quota.
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let serial = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let target = AzureTarget {
            subscription_id: format!("00000000-0000-0000-{:04x}-{serial:012x}", std::process::id() & 0xffff),
            ..AzureTarget::local(&namespace)
        };
        let logs = self.dir.path().join("logs");
        let socket = self.dir.path().join("run").join(format!("{node}.sock"));
        let mut backend = BackendProcess::start_with(
            &format!("aci-backend-{node}"),
            Os::Linux,
            Listen::Unix(socket.clone()),
            &self.emulator,
            &target,
            &logs,
            backend_args,
        )
        .await?;
        let mut options =
            AgentOptions::new(&node, Os::Linux, backend.listen().endpoint(), self.plane.kubeconfig_path());
        options.kubelet_client_ca = Some(self.kubelet_client_ca.clone());
        let agent = match AgentProcess::start(&options, &self.client, &logs, Duration::from_secs(120)).await {
            Ok(agent) => agent,
            Err(error) => {
                let _ = backend.stop().await;
                return Err(error.into());
            }
        };
        Ok(Connector { node, namespace, target, socket, backend, agent })
    }

    /// Stops the emulator and the control plane.
    pub async fn stop(mut self) {
        if let Err(error) = self.emulator.stop().await {
            tracing::warn!(%error, "stopping the emulator");
        }
        let plane = self.plane;
        let _ = tokio::task::spawn_blocking(move || drop(plane)).await;
    }
}

/// A running aci-backend + node-agent pair with its node, namespace and resource group.
pub struct Connector {
    pub node: String,
    pub namespace: String,
    pub target: AzureTarget,
    pub socket: PathBuf,
    pub backend: BackendProcess,
    pub agent: AgentProcess,
}

impl Connector {
    /// Stops the agent (it removes its node) and the backend.
    pub async fn stop(mut self) {
        if let Err(error) = self.agent.stop().await {
            tracing::warn!(%error, "stopping a node-agent");
        }
        if let Err(error) = self.backend.stop().await {
            tracing::warn!(%error, "stopping an aci-backend");
        }
    }

    /// `--nodename=<node>`: finds the agent in /proc.
    pub fn agent_arg(&self) -> String {
        format!("--nodename={}", self.node)
    }

    /// `--listen=unix://<socket>`: finds the backend in /proc.
    pub fn backend_arg(&self) -> String {
        format!("--listen=unix://{}", self.socket.display())
    }
}
