//! `node-agent` entry point: parse flags, set up logging, run until SIGTERM or Ctrl-C.

use clap::Parser;
use node_agent::app::{AgentConfig, kube_client, run_agent_with};
use node_agent::flags::Flags;
use node_agent::kubelet_api::server::run_for_agent;
use tokio_util::sync::CancellationToken;

/// mimalloc instead of glibc's malloc, as in aci-backend (where glibc's arenas kept hundreds of
/// MiB of freed list buffers): pod relists here allocate the same way.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,kube=warn,tower=warn".into()),
        )
        .init();
    vk_proto::tls::install_crypto_provider();
    let flags = Flags::parse();
    let config = AgentConfig::from_flags(&flags)?;
    let client = kube_client(flags.kubeconfig.as_deref()).await?;
    let shutdown = CancellationToken::new();
    let trigger = shutdown.clone();
    tokio::spawn(async move {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                let _ = tokio::signal::ctrl_c().await;
                trigger.cancel();
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
        trigger.cancel();
    });
    let (kubelet_api, access) = flags.kubelet_api();
    run_agent_with(client, config, shutdown, move |parts| async move {
        let stop = parts.shutdown.clone();
        // A kubelet that cannot serve its API (logs, exec) is broken: stop rather than limp on.
        if let Err(error) = run_for_agent(parts, kubelet_api, access).await {
            tracing::error!(%error, "the kubelet API failed; stopping");
            stop.cancel();
        }
    })
    .await?;
    Ok(())
}
