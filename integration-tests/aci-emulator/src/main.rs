//! `aci-emulator --listen 127.0.0.1:PORT [--runtime process] [--tls --tls-ca-out ca.pem] ...`

use aci_emulator::{Config, Emulator};
use anyhow::Context;
use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let config = Config::parse();
    let mut emulator = Emulator::start(config).await.context("starting the ACI emulator")?;
    tracing::info!(base_url = emulator.base_url(), "ACI emulator listening");
    println!("{}", emulator.base_url());
    tokio::select! {
        _ = emulator.wait() => {}
        result = tokio::signal::ctrl_c() => result.context("waiting for Ctrl-C")?,
    }
    Ok(())
}
