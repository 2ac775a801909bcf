//! Command-line flags, each with its environment variable (the usual `AZURE_*` names where
//! Azure tools already define one).

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

/// How the backend authenticates to Azure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CredentialKind {
    /// Client secret when `AZURE_CLIENT_SECRET` is set, else workload identity when
    /// `AZURE_FEDERATED_TOKEN_FILE` is set, else managed identity.
    Auto,
    /// Managed identity (system-assigned, or user-assigned with `--client-id`).
    ManagedIdentity,
    /// Workload identity (federated service account token).
    WorkloadIdentity,
    /// Service principal with a client secret.
    ClientSecret,
    /// The developer's `az login`.
    AzureCli,
}

/// Operating system of the virtual node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NodeOs {
    /// Linux container groups.
    Linux,
    /// Windows container groups.
    Windows,
}

/// `aci-backend`: the provider API on Azure Container Instances.
#[derive(Debug, Clone, Parser)]
#[command(name = "aci-backend", version, about)]
pub struct Flags {
    /// Where to serve: `unix:///path/to/socket` or `tcp://ADDR:PORT`.
    #[arg(long, env = "VK_ACI_LISTEN")]
    pub listen: vk_proto::Endpoint,
    /// Azure subscription of the container groups.
    #[arg(long, env = "AZURE_SUBSCRIPTION_ID")]
    pub subscription_id: String,
    /// Resource group of the container groups.
    #[arg(long, env = "AZURE_RESOURCE_GROUP")]
    pub resource_group: String,
    /// Azure region of the container groups, for example `westeurope`.
    #[arg(long, env = "AZURE_LOCATION")]
    pub region: String,
    /// ARM endpoint (sovereign clouds, the emulator).
    #[arg(long, env = "AZURE_ARM_ENDPOINT", default_value = "https://management.azure.com")]
    pub arm_endpoint: reqwest::Url,
    /// Token authority (sovereign clouds, the emulator).
    #[arg(long, env = "AZURE_AUTHORITY_HOST", default_value = "https://login.microsoftonline.com")]
    pub authority_host: reqwest::Url,
    /// How to authenticate.
    #[arg(long, env = "VK_ACI_CREDENTIAL", value_enum, default_value_t = CredentialKind::Auto)]
    pub credential: CredentialKind,
    /// Tenant of the service principal or workload identity.
    #[arg(long, env = "AZURE_TENANT_ID")]
    pub tenant_id: Option<String>,
    /// Client id of the service principal, workload identity or user-assigned managed identity.
    #[arg(long, env = "AZURE_CLIENT_ID")]
    pub client_id: Option<String>,
    /// Client secret (prefer the environment variable: flags show up in process lists).
    #[arg(long, env = "AZURE_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: Option<String>,
    /// Federated token file of workload identity.
    #[arg(long, env = "AZURE_FEDERATED_TOKEN_FILE")]
    pub federated_token_file: Option<PathBuf>,
    /// Extra CA certificate (PEM) trusted for ARM and the authority (for example the emulator's).
    #[arg(long, env = "VK_ACI_CA_FILE")]
    pub ca_file: Option<PathBuf>,
    /// Operating system of the virtual node's container groups.
    #[arg(long, env = "VK_ACI_NODE_OS", value_enum, default_value_t = NodeOs::Linux)]
    pub node_os: NodeOs,
    /// Subnet resource id every group joins (repeatable; none: public IPs).
    #[arg(long = "subnet-id", env = "VK_ACI_SUBNET_IDS", value_delimiter = ',')]
    pub subnet_ids: Vec<String>,
    /// Cluster DNS service IP for ClusterFirst pods (only when groups reach it through a VNet).
    #[arg(long, env = "VK_ACI_CLUSTER_DNS")]
    pub cluster_dns: Option<String>,
    /// Cluster domain used with --cluster-dns.
    #[arg(long, env = "VK_ACI_CLUSTER_DOMAIN", default_value = "cluster.local")]
    pub cluster_domain: String,
    /// Server certificate (PEM) for tcp:// listening.
    #[arg(long, env = "VK_ACI_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// Server key (PEM) for tcp:// listening.
    #[arg(long, env = "VK_ACI_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// CA (PEM) that signs callers' client certificates.
    #[arg(long, env = "VK_ACI_CLIENT_CA")]
    pub client_ca: Option<PathBuf>,
    /// Caller identities file (client certificate names and bearer tokens mapped to cluster ids).
    #[arg(long, env = "VK_ACI_CALLERS")]
    pub callers: Option<PathBuf>,
    /// ACI container group creates allowed per 5 minutes.
    #[arg(long, env = "VK_ACI_CREATES_PER_5MIN", default_value_t = 100)]
    pub creates_per_5min: usize,
    /// ACI container group creates allowed per hour.
    #[arg(long, env = "VK_ACI_CREATES_PER_HOUR", default_value_t = 300)]
    pub creates_per_hour: usize,
    /// ACI container group deletes allowed per 5 minutes.
    #[arg(long, env = "VK_ACI_DELETES_PER_5MIN", default_value_t = 100)]
    pub deletes_per_5min: usize,
    /// ACI container group deletes allowed per hour.
    #[arg(long, env = "VK_ACI_DELETES_PER_HOUR", default_value_t = 300)]
    pub deletes_per_hour: usize,
    /// Multiplies the create and delete quota windows (5 minutes, 1 hour). Only for an
    /// emulator whose time is scaled the same way; keep 1 against Azure.
    #[arg(long, env = "VK_ACI_QUOTA_TIME_SCALE", default_value_t = 1.0, hide = true)]
    pub quota_time_scale: f64,
    /// ARM reads per minute that pod stats (`kubectl top`, from Azure Monitor) may spend; the
    /// rest of the read budget stays with status reads. 0 turns stats off.
    #[arg(long, env = "VK_ACI_STATS_READS_PER_MINUTE", default_value_t = 300)]
    pub stats_reads_per_minute: u32,
    /// Address of the HTTP health port for Kubernetes probes (`/healthz` liveness, `/readyz`
    /// readiness), for example `0.0.0.0:8080`. Not served when unset.
    #[arg(long, env = "VK_ACI_HEALTH_ADDR")]
    pub health_addr: Option<std::net::SocketAddr>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_setting_is_named() {
        let err = Flags::try_parse_from([
            "aci-backend",
            "--listen",
            "unix:///tmp/x.sock",
            "--region",
            "westeurope",
        ])
        .expect_err("subscription and resource group are missing");
        let text = err.to_string();
        assert!(text.contains("--subscription-id") && text.contains("--resource-group"), "{text}");
    }

    #[test]
    fn a_complete_command_line_parses() {
        let flags = Flags::try_parse_from([
            "aci-backend",
            "--listen",
            "tcp://127.0.0.1:7443",
            "--subscription-id",
            "sub",
            "--resource-group",
            "rg",
            "--region",
            "westeurope",
            "--subnet-id",
            "/a,/b",
        ])
        .expect("parses");
        assert_eq!(flags.subnet_ids, vec!["/a", "/b"]);
        assert_eq!(flags.arm_endpoint.as_str(), "https://management.azure.com/");
    }
}
