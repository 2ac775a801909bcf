//! `aci-backend` entry point: parses flags, sets up logging, runs the backend until Ctrl-C or SIGTERM.

use clap::Parser as _;

/// mimalloc instead of glibc's malloc: with glibc, the big transient buffers of ARM list
/// answers left arenas holding hundreds of MiB of free memory (1 GiB RSS for 28 MiB in use).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let flags = aci_backend::config::Flags::parse();
    let shutdown = async {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    };
    aci_backend::startup::run(flags, shutdown).await?;
    Ok(())
}
