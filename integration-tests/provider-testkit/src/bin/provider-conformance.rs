//! Runs the provider API contract against a backend and prints PASS / FAIL / SKIP per case.
//!
//! ```text
//! provider-conformance --backend unix:///run/vk/provider.sock
//! provider-conformance --backend tcp://backend.example:7443 --ca ca.pem --token "$TOKEN" --cluster-id my-cluster
//! ```

use std::time::Duration;

use clap::Parser;
use provider_testkit::conformance::{self, Settings};
use provider_testkit::connect::{ConnectArgs, Connection};

/// Checks that a provider backend keeps the vk.provider.v1 contract. Exits 1 when any case
/// fails; skipped cases (the backend cannot offer them) do not fail the run.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    connect: ConnectArgs,
    /// Cluster id the suite acts for (a remote backend must allow it for the caller).
    #[arg(long, default_value = "provider-conformance")]
    cluster_id: String,
    /// Base node name; the suite uses it and a few suffixed names as separate scopes.
    #[arg(long, default_value = "conformance-node")]
    node_name: String,
    /// Seconds to wait for a pod to reach Running and for other changes to show.
    #[arg(long, default_value_t = 60)]
    timeout_seconds: u64,
    /// A cluster id the caller may NOT act for; the suite then expects PERMISSION_DENIED for it.
    #[arg(long)]
    forbidden_cluster_id: Option<String>,
    /// Only run cases whose name contains this text.
    #[arg(long)]
    only: Option<String>,
    /// List the cases and exit (needs no --backend).
    #[arg(long)]
    list: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<std::process::ExitCode> {
    if std::env::args().skip(1).any(|arg| arg == "--list") {
        for case in conformance::cases() {
            println!("{}", case.name);
        }
        return Ok(std::process::ExitCode::SUCCESS);
    }
    let args = Args::parse();
    let connection = Connection::open(&args.connect)?;
    let settings = Settings {
        cluster_id: args.cluster_id,
        node_name: args.node_name,
        timeout: Duration::from_secs(args.timeout_seconds),
        forbidden_cluster_id: args.forbidden_cluster_id,
    };
    let report =
        conformance::run(connection, settings, args.only.as_deref(), |line| println!("{line}")).await;
    Ok(if report.failed() == 0 { std::process::ExitCode::SUCCESS } else { std::process::ExitCode::FAILURE })
}
