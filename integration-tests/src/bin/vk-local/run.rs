//! `vk-local run`: starts the stack, marks it ready, and keeps it running until SIGTERM or
//! SIGINT (SIGHUP is ignored so closing the terminal does not stop it).

use anyhow::Context;
use integration_tests::local_stack::{LocalStack, StackPaths};
use tokio::signal::unix::{SignalKind, signal};

pub async fn run(paths: &StackPaths) -> anyhow::Result<()> {
    std::fs::write(paths.pid_file(), std::process::id().to_string())
        .with_context(|| format!("writing {}", paths.pid_file().display()))?;
    let mut hangup = signal(SignalKind::hangup()).context("ignoring SIGHUP")?;
    tokio::spawn(async move { while hangup.recv().await.is_some() {} });
    let mut terminate = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("listening for SIGINT")?;

    let started = tokio::select! {
        started = LocalStack::start(paths) => Some(started),
        _ = terminate.recv() => None,
        _ = interrupt.recv() => None,
    };
    let stack = match started {
        Some(Ok(stack)) => stack,
        Some(Err(error)) => {
            let _ = std::fs::remove_file(paths.pid_file());
            return Err(error).context("starting the local stack");
        }
        None => {
            let _ = std::fs::remove_file(paths.pid_file());
            return Ok(());
        }
    };
    std::fs::write(paths.ready_file(), "ready\n")
        .with_context(|| format!("writing {}", paths.ready_file().display()))?;
    tracing::info!("the local stack is up");
    tokio::select! {
        _ = terminate.recv() => {}
        _ = interrupt.recv() => {}
    }
    tracing::info!("stopping the local stack");
    let _ = std::fs::remove_file(paths.ready_file());
    stack.stop().await;
    let _ = std::fs::remove_file(paths.pid_file());
    tracing::info!("the local stack has stopped");
    Ok(())
}
