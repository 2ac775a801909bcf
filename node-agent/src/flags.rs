//! Command-line flags, each with an environment variable, named as virtual-kubelet users
//! know them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::kubelet_api::server::{Access, ServerSettings, ServingCertificate};

/// node-agent: a virtual Kubernetes node whose pods run through a provider backend.
#[derive(Debug, Clone, Parser)]
#[command(name = "node-agent", version, about)]
pub struct Flags {
    /// Name of the Node object. Default: `virtual-kubelet-<connector>-<os>-<region>`.
    #[arg(long, env = "VK_NODE_NAME")]
    pub nodename: Option<String>,

    /// Operating system of the node's pods: linux or windows.
    #[arg(long, env = "VK_OS", default_value = "linux", value_parser = ["linux", "windows"])]
    pub os: String,

    /// Kubeconfig file; without it the in-cluster configuration (or the default kubeconfig) is used.
    #[arg(long, env = "KUBECONFIG")]
    pub kubeconfig: Option<PathBuf>,

    /// Connector name, part of the default node name.
    #[arg(long, env = "VK_CONNECTOR_NAME", default_value = "aci")]
    pub connector_name: String,

    /// Region, part of the default node name.
    #[arg(long, env = "VK_REGION", default_value = "local")]
    pub region: String,

    /// Provider backend address: unix:///path/to/socket or tcp://host:port.
    #[arg(long, env = "VK_BACKEND", default_value = "unix:///var/run/vk/provider.sock")]
    pub backend: String,

    /// CA bundle (PEM) that verifies a TCP backend's certificate; enables TLS.
    #[arg(long, env = "VK_BACKEND_TLS_CA")]
    pub backend_tls_ca: Option<PathBuf>,

    /// Client certificate (PEM) for mutual TLS with the backend.
    #[arg(long, env = "VK_BACKEND_TLS_CERT")]
    pub backend_tls_cert: Option<PathBuf>,

    /// Client key (PEM) for mutual TLS with the backend.
    #[arg(long, env = "VK_BACKEND_TLS_KEY")]
    pub backend_tls_key: Option<PathBuf>,

    /// Server name to verify in the backend's certificate, when it differs from the host.
    #[arg(long, env = "VK_BACKEND_TLS_SERVER_NAME")]
    pub backend_tls_server_name: Option<String>,

    /// File holding a bearer token for the backend.
    #[arg(long, env = "VK_BACKEND_TOKEN_FILE")]
    pub backend_token_file: Option<PathBuf>,

    /// Cluster id sent to the backend. Default: the UID of the kube-system namespace.
    #[arg(long, env = "VK_CLUSTER_ID")]
    pub cluster_id: Option<String>,

    /// Port of the kubelet API, published in the Node's daemon endpoints.
    #[arg(long, env = "KUBELET_PORT", default_value_t = 10250)]
    pub kubelet_port: u16,

    /// The node's InternalIP: where the apiserver reaches the kubelet API.
    #[arg(long, env = "VKUBELET_POD_IP", default_value = "127.0.0.1")]
    pub internal_ip: String,

    /// Pods synced concurrently at most.
    #[arg(long, env = "VK_POD_SYNC_WORKERS", default_value_t = 10)]
    pub pod_sync_workers: usize,

    /// Key of the node's taint.
    #[arg(long, env = "VK_TAINT_KEY", default_value = "virtual-kubelet.io/provider")]
    pub taint_key: String,

    /// Value of the node's taint.
    #[arg(long, env = "VK_TAINT_VALUE", default_value = "azure")]
    pub taint_value: String,

    /// Effect of the node's taint: NoSchedule, PreferNoSchedule or NoExecute.
    #[arg(long, env = "VK_TAINT_EFFECT", default_value = "NoSchedule",
          value_parser = ["NoSchedule", "PreferNoSchedule", "NoExecute"])]
    pub taint_effect: String,

    /// Register the node without a taint.
    #[arg(long, env = "VK_DISABLE_TAINT")]
    pub disable_taint: bool,

    /// Delete the Node object when the agent stops (for uninstalling).
    #[arg(long, env = "VK_REMOVE_NODE_ON_EXIT")]
    pub remove_node_on_exit: bool,

    /// Address of the Prometheus metrics endpoint (/metrics).
    #[arg(long, env = "VK_METRICS_ADDR", default_value = "0.0.0.0:10255")]
    pub metrics_addr: SocketAddr,

    /// Seconds between Lease renewals.
    #[arg(long, env = "VK_LEASE_RENEW_SECONDS", default_value_t = 10)]
    pub lease_renew_seconds: u64,

    /// Seconds between backend node-info polls (Ready follows them).
    #[arg(long, env = "VK_NODE_STATUS_POLL_SECONDS", default_value_t = 10)]
    pub node_status_poll_seconds: u64,

    /// Kubelet API serving certificate (PEM chain); needs --tls-private-key-file. Without it
    /// the agent generates a self-signed certificate for the node name and --internal-ip.
    #[arg(long, env = "VK_TLS_CERT_FILE", requires = "tls_private_key_file")]
    pub tls_cert_file: Option<PathBuf>,

    /// Private key (PEM) of --tls-cert-file.
    #[arg(long, env = "VK_TLS_PRIVATE_KEY_FILE", requires = "tls_cert_file")]
    pub tls_private_key_file: Option<PathBuf>,

    /// CA bundle that signs the apiserver's kubelet client certificate
    /// (its --kubelet-client-certificate). Without it, only bearer tokens authenticate.
    #[arg(long, env = "VK_CLIENT_CA_FILE")]
    pub client_ca_file: Option<PathBuf>,

    /// Serve the kubelet API with no authentication or authorization at all. For local
    /// development only: anyone who reaches the port can read logs and exec into pods.
    #[arg(long, env = "VK_INSECURE_KUBELET_API")]
    pub insecure_kubelet_api: bool,
}

impl Flags {
    /// The node name: `--nodename`, else `virtual-kubelet-<connector>-<os>-<region>`.
    pub fn node_name(&self) -> String {
        self.nodename
            .clone()
            .unwrap_or_else(|| format!("virtual-kubelet-{}-{}-{}", self.connector_name, self.os, self.region))
    }

    /// Lease renewal interval.
    pub fn lease_renew(&self) -> Duration {
        Duration::from_secs(self.lease_renew_seconds.max(1))
    }

    /// Node info poll interval.
    pub fn node_status_poll(&self) -> Duration {
        Duration::from_secs(self.node_status_poll_seconds.max(1))
    }

    /// How to serve the kubelet API: on all addresses at --kubelet-port.
    pub fn kubelet_api(&self) -> (ServerSettings, Access) {
        let serving = match (&self.tls_cert_file, &self.tls_private_key_file) {
            (Some(cert), Some(key)) => ServingCertificate::Files { cert: cert.clone(), key: key.clone() },
            _ => ServingCertificate::SelfSigned { names: vec![self.node_name(), self.internal_ip.clone()] },
        };
        let settings = ServerSettings {
            address: SocketAddr::from(([0, 0, 0, 0], self.kubelet_port)),
            serving,
            client_ca: self.client_ca_file.clone(),
        };
        let access = if self.insecure_kubelet_api { Access::Unchecked } else { Access::Reviewed };
        (settings, access)
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_default_node_name_is_built_from_connector_os_and_region() {
        let flags = Flags::try_parse_from(["node-agent", "--os", "windows", "--region", "westeurope"])
            .expect("valid flags");
        assert_eq!(flags.node_name(), "virtual-kubelet-aci-windows-westeurope");
        let named = Flags::try_parse_from(["node-agent", "--nodename", "vk"]).expect("valid flags");
        assert_eq!(named.node_name(), "vk");
    }

    #[test]
    fn defaults_match_a_kubelet() {
        let flags = Flags::try_parse_from(["node-agent"]).expect("valid flags");
        assert_eq!(flags.kubelet_port, 10250);
        assert_eq!(
            (flags.taint_key.as_str(), flags.taint_value.as_str()),
            ("virtual-kubelet.io/provider", "azure")
        );
        assert_eq!(flags.taint_effect, "NoSchedule");
        assert!(Flags::try_parse_from(["node-agent", "--os", "plan9"]).is_err());
    }

    #[test]
    fn the_kubelet_api_is_reviewed_and_self_signed_unless_told_otherwise() {
        let flags = Flags::try_parse_from(["node-agent", "--nodename", "vk", "--internal-ip", "10.1.2.3"])
            .expect("valid flags");
        let (settings, access) = flags.kubelet_api();
        assert_eq!(access, Access::Reviewed);
        assert_eq!(settings.address.port(), 10250);
        assert!(matches!(settings.serving, ServingCertificate::SelfSigned { ref names }
            if names == &["vk".to_owned(), "10.1.2.3".to_owned()]));
        let insecure = Flags::try_parse_from(["node-agent", "--insecure-kubelet-api"]).expect("valid flags");
        assert_eq!(insecure.kubelet_api().1, Access::Unchecked);
        assert!(Flags::try_parse_from(["node-agent", "--tls-cert-file", "c.pem"]).is_err());
    }

    #[test]
    fn every_flag_is_documented() {
        let command = Flags::command();
        for argument in command.get_arguments() {
            let id = argument.get_id().as_str();
            if id != "help" && id != "version" {
                assert!(argument.get_help().is_some(), "--{id} has no help text");
            }
        }
    }
}
