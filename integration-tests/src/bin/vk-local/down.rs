//! `vk-local down`: stops the owner process, which stops every part it started, and checks
//! that nothing of the stack is left running.

use std::time::{Duration, Instant};

use anyhow::bail;
use integration_tests::local_stack::StackPaths;

use super::owner;

/// The owner stops agents, backends, the emulator and the control plane one by one.
const STOP_TIMEOUT: Duration = Duration::from_secs(120);

/// After the owner is gone, the watchdogs end what it could not stop.
const LEFTOVER_TIMEOUT: Duration = Duration::from_secs(30);

pub async fn down(paths: &StackPaths) -> anyhow::Result<()> {
    match owner::running(paths) {
        None => say!("The local stack is not running."),
        Some(pid) => {
            say!("Stopping the local stack (pid {pid})...");
            owner::signal("-TERM", pid)?;
            let started = Instant::now();
            while owner::is_vk_local(pid) && started.elapsed() < STOP_TIMEOUT {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            if owner::is_vk_local(pid) {
                eprintln!(
                    "It did not stop within {STOP_TIMEOUT:?}; killing it (its watchdogs end the rest)."
                );
                owner::signal("-KILL", pid)?;
            }
        }
    }
    let started = Instant::now();
    let mut leftovers = owner::processes_mentioning(paths.root());
    while !leftovers.is_empty() && started.elapsed() < LEFTOVER_TIMEOUT {
        tokio::time::sleep(Duration::from_millis(500)).await;
        leftovers = owner::processes_mentioning(paths.root());
    }
    let _ = std::fs::remove_file(paths.pid_file());
    let _ = std::fs::remove_file(paths.ready_file());
    if !leftovers.is_empty() {
        bail!("processes of the stack are still running: {leftovers:?}");
    }
    say!("Stopped; nothing of the local stack is running. Logs stay in {}.", paths.logs().display());
    Ok(())
}
