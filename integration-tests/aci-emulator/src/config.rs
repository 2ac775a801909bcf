//! Emulator settings, parsed from the command line (every flag also has a default for in-process use).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, ValueEnum};

/// How containers are run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Runtime {
    /// Every container is simulated: states change on timers, logs are synthetic.
    Simulate,
    /// Linux containers with a command run it as a local process; exec runs local executables under a pty.
    Process,
}

/// An ARM-compatible emulator of Azure Container Instances (api-version 2025-09-01). Loopback only:
/// a development and test tool, never a production service.
#[derive(Clone, Debug, Parser)]
#[command(name = "aci-emulator", version, about)]
pub struct Config {
    /// Address to listen on; must be a loopback address. Port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Container runtime.
    #[arg(long, value_enum, default_value_t = Runtime::Simulate)]
    pub runtime: Runtime,
    /// Serve HTTPS with a self-signed certificate for 127.0.0.1/localhost.
    #[arg(long)]
    pub tls: bool,
    /// With --tls: write the CA certificate (PEM) that signed the serving certificate to this file.
    #[arg(long)]
    pub tls_ca_out: Option<PathBuf>,
    /// Accepted api-version values (repeatable).
    #[arg(long = "api-version", default_value = "2025-09-01")]
    pub api_versions: Vec<String>,
    /// Delay before a new group leaves provisioningState Pending.
    #[arg(long, default_value_t = 100)]
    pub pending_delay_ms: u64,
    /// Time spent pulling each image.
    #[arg(long, default_value_t = 300)]
    pub pull_delay_ms: u64,
    /// Time from Pulled to Running.
    #[arg(long, default_value_t = 100)]
    pub start_delay_ms: u64,
    /// Wait before a terminated container is restarted by its restart policy.
    #[arg(long, default_value_t = 1000)]
    pub restart_backoff_ms: u64,
    /// How long a `crash-loop` image runs before it exits with code 1.
    #[arg(long, default_value_t = 1000)]
    pub crash_after_ms: u64,
    /// How long DELETE keeps the group in provisioningState Deleting (0: synchronous 200).
    #[arg(long, default_value_t = 0)]
    pub delete_delay_ms: u64,
    /// Multiplies every simulated delay and every quota window (0.01 makes 5 minutes last 3 s).
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
    /// Lifetime of issued access tokens, in seconds.
    #[arg(long, default_value_t = 3600)]
    pub token_lifetime_secs: u64,
    /// Known service principal `CLIENT_ID=SECRET` (repeatable). With none, any non-empty secret is accepted.
    #[arg(long = "client")]
    pub clients: Vec<String>,
    /// Secret that managed-identity requests must carry in `X-IDENTITY-HEADER` (App Service style).
    #[arg(long)]
    pub identity_header: Option<String>,
    /// Accept any bearer token, not only those the emulator issued (each distinct token is a principal).
    #[arg(long)]
    pub accept_any_token: bool,
    /// Switch off ARM's per-principal token buckets.
    #[arg(long)]
    pub no_arm_throttling: bool,
    /// ARM read bucket size per principal.
    #[arg(long, default_value_t = 250)]
    pub arm_read_burst: u32,
    /// ARM read refill per second.
    #[arg(long, default_value_t = 25.0)]
    pub arm_read_rate: f64,
    /// ARM write bucket size per principal.
    #[arg(long, default_value_t = 200)]
    pub arm_write_burst: u32,
    /// ARM write refill per second.
    #[arg(long, default_value_t = 10.0)]
    pub arm_write_rate: f64,
    /// Switch off ACI quotas (groups, cores, create and delete rates).
    #[arg(long)]
    pub no_quotas: bool,
    /// Container groups per subscription and region.
    #[arg(long, default_value_t = 100)]
    pub quota_groups: u32,
    /// Standard cores per subscription and region.
    #[arg(long, default_value_t = 100)]
    pub quota_cores: u32,
    /// Container group creates per 5 minutes per subscription and region.
    #[arg(long, default_value_t = 100)]
    pub quota_creates_per_5min: u32,
    /// Container group creates per hour per subscription and region.
    #[arg(long, default_value_t = 300)]
    pub quota_creates_per_hour: u32,
    /// Container group deletes per 5 minutes per subscription and region.
    #[arg(long, default_value_t = 100)]
    pub quota_deletes_per_5min: u32,
    /// Container group deletes per hour per subscription and region.
    #[arg(long, default_value_t = 300)]
    pub quota_deletes_per_hour: u32,
    /// Largest CPU request of one group (cores).
    #[arg(long, default_value_t = 4.0)]
    pub max_cpu_per_group: f64,
    /// Largest memory request of one group (GB).
    #[arg(long, default_value_t = 16.0)]
    pub max_memory_per_group: f64,
    /// Fault rule `OPERATION:KIND:RATE[:ARG]`; OPERATION is an operationId such as ContainerGroups_Get or `*`;
    /// KIND is error429, error500, error503, latency (ARG = milliseconds) or drop (repeatable).
    #[arg(long = "fault")]
    pub faults: Vec<String>,
    /// Items per page of list results before a nextLink is given.
    #[arg(long, default_value_t = 100)]
    pub page_size: usize,
    /// Start with Microsoft.ContainerInstance NotRegistered for every subscription.
    #[arg(long)]
    pub not_registered: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self::parse_from(["aci-emulator"])
    }
}

impl Config {
    /// Settings suited to fast in-process tests: short delays, everything else as in Azure.
    pub fn fast() -> Self {
        Self {
            pending_delay_ms: 10,
            pull_delay_ms: 20,
            start_delay_ms: 10,
            restart_backoff_ms: 50,
            crash_after_ms: 50,
            ..Self::default()
        }
    }
}
