//! `vkctl`: a small CLI over the provider API (see `vkctl --help`).

use clap::Parser;
use provider_testkit::vkctl::{Cli, run};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => std::process::ExitCode::from(u8::try_from(code & 0xff).unwrap_or(1)),
        Err(error) => {
            eprintln!("vkctl: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
