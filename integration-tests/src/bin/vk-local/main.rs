//! `vk-local`: the whole product on this machine, for trying it out.
//!
//! - `vk-local up` starts a local Kubernetes control plane, the ACI emulator, and a Linux and a
//!   Windows connector (aci-backend + node-agent each), applies the example Deployments and
//!   prints the nodes and pods. Everything keeps running in the background.
//! - `vk-local status` prints the nodes and pods again.
//! - `vk-local down` stops everything.
//!
//! It builds nothing: run `cargo build --workspace --bins` first (the quick-start script does).

/// `println!` that ignores a closed stdout (`vk-local status | head`) instead of panicking.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

mod down;
mod owner;
mod run;
mod up;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use integration_tests::local_stack::StackPaths;

#[derive(Debug, Parser)]
#[command(name = "vk-local", about = "Run the virtual kubelet for ACI locally against the ACI emulator")]
struct Cli {
    /// Where the stack keeps its certificates, kubeconfig, logs and process ids.
    #[arg(long, global = true, default_value = ".vk-local")]
    state_dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the stack in the background, apply the example Deployments, show nodes and pods.
    Up,
    /// Show nodes and pods of a running stack.
    Status,
    /// Stop everything the stack started.
    Down,
    /// Run the stack in the foreground until SIGTERM (what `up` starts in the background).
    #[command(hide = true)]
    Run,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    use std::io::IsTerminal as _;
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                // The harness polls the apiserver while it starts; kube logs each refusal.
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,kube_client=off")),
        )
        .init();
    // kube's TLS needs a process-wide rustls provider; a workspace build enables two.
    vk_proto::tls::install_crypto_provider();
    let cli = Cli::parse();
    let root = std::path::absolute(&cli.state_dir)
        .with_context(|| format!("resolving {}", cli.state_dir.display()))?;
    let paths = StackPaths::new(root);
    match cli.command {
        Command::Up => up::up(&paths).await,
        Command::Status => up::status(&paths).await,
        Command::Down => down::down(&paths).await,
        Command::Run => run::run(&paths).await,
    }
}
