//! `node-agent` entry point: parse flags, set up logging, run until SIGTERM or Ctrl-C.

use clap::Parser;
use node_agent::app::{AgentConfig, install_crypto_provider, kube_client, run_agent};
use node_agent::flags::Flags;
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,kube=warn,tower=warn".into()),
        )
        .init();
    install_crypto_provider();
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
    run_agent(client, config, shutdown).await?;
    Ok(())
}
