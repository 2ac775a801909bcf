//! `aci-backend` entry point: wires the library together (serving lands with the gRPC module).

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).init();
    anyhow::bail!("aci-backend cannot serve yet: the provider service is not wired in this build")
}
