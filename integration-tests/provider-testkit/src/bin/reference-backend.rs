//! Runs the in-memory reference backend of the provider API.
//!
//! ```text
//! reference-backend --listen unix:///tmp/provider.sock
//! reference-backend --listen tcp://127.0.0.1:7443 --tls-cert server.pem --tls-key server-key.pem \
//!     --token s3cret=cluster-a,cluster-b
//! ```

use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use provider_testkit::reference::{Faults, ReferenceBackend, ReferenceConfig, ServerTls};
use vk_proto::Endpoint;

/// An in-memory backend of the provider API (vk.provider.v1) with a simulated lifecycle,
/// scripted logs and an exec that interprets a few shell commands.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Where to listen: unix:///path/to/socket or tcp://host:port.
    #[arg(long, env = "REFERENCE_BACKEND_LISTEN")]
    listen: Endpoint,
    /// Server certificate (PEM) for TLS on tcp://.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<std::path::PathBuf>,
    /// Server private key (PEM) for TLS on tcp://.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<std::path::PathBuf>,
    /// Require client certificates signed by this CA (PEM).
    #[arg(long, requires = "tls_cert")]
    client_ca: Option<std::path::PathBuf>,
    /// Accept `Authorization: Bearer TOKEN` for these cluster ids: TOKEN=ID[,ID...] (`*` for
    /// any). Repeatable. Without any, calls are not authenticated.
    #[arg(long = "token", value_name = "TOKEN=IDS")]
    tokens: Vec<String>,
    /// Milliseconds a new pod stays Pending.
    #[arg(long, default_value_t = 100)]
    start_delay_ms: u64,
    /// Milliseconds between a container's exit and its restart.
    #[arg(long, default_value_t = 500)]
    restart_delay_ms: u64,
    /// Break a rule of the contract on purpose, to see the conformance suite catch it.
    /// Repeatable.
    #[arg(long = "fault", value_enum)]
    faults: Vec<Fault>,
}

/// A deliberate contract violation.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Fault {
    /// DeletePod of an unknown UID answers NOT_FOUND.
    NonIdempotentDelete,
    /// ListPods returns every scope's pods.
    UnscopedList,
    /// WatchPods sends no snapshot.
    WatchWithoutSnapshot,
    /// Exec reports the exit code plus one.
    WrongExitCode,
}

fn faults(chosen: &[Fault]) -> Faults {
    let mut faults = Faults::default();
    for fault in chosen {
        match fault {
            Fault::NonIdempotentDelete => faults.non_idempotent_delete = true,
            Fault::UnscopedList => faults.unscoped_list = true,
            Fault::WatchWithoutSnapshot => faults.watch_without_snapshot = true,
            Fault::WrongExitCode => faults.wrong_exit_code = true,
        }
    }
    faults
}

fn read(path: &std::path::Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).init();
    let args = Args::parse();
    let mut config = ReferenceConfig {
        start_delay: Duration::from_millis(args.start_delay_ms),
        restart_delay: Duration::from_millis(args.restart_delay_ms),
        faults: faults(&args.faults),
        ..ReferenceConfig::default()
    };
    for token in &args.tokens {
        let (token, ids) = token.split_once('=').context("--token must look like TOKEN=ID[,ID...]")?;
        config.tokens.insert(token.to_owned(), ids.split(',').map(str::to_owned).collect());
    }
    let backend = ReferenceBackend::new(config);
    let server = match &args.listen {
        Endpoint::Unix(path) => backend.serve_unix(path).await?,
        Endpoint::Tcp(address) => {
            let tls = match (&args.tls_cert, &args.tls_key) {
                (Some(cert), Some(key)) => Some(ServerTls {
                    cert_pem: read(cert)?,
                    key_pem: read(key)?,
                    client_ca_pem: args.client_ca.as_deref().map(read).transpose()?,
                }),
                _ => None,
            };
            backend.serve_tcp(address, tls).await?
        }
    };
    tracing::info!(endpoint = %server.endpoint(), "reference backend serving");
    println!("listening on {}", server.endpoint());
    tokio::select! {
        result = tokio::signal::ctrl_c() => result.context("waiting for ctrl-c")?,
        result = async { let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?; term.recv().await; Ok::<_, std::io::Error>(()) } => result.context("waiting for SIGTERM")?,
    }
    server.shutdown().await?;
    Ok(())
}
