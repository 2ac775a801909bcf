//! The process that owns a running stack (`vk-local run`), found through its PID file.

use std::path::Path;
use std::process::{Command, Stdio};

use integration_tests::local_stack::StackPaths;

/// The owner's PID when the PID file names a live `vk-local` process.
pub fn running(paths: &StackPaths) -> Option<u32> {
    let pid: u32 = std::fs::read_to_string(paths.pid_file()).ok()?.trim().parse().ok()?;
    is_vk_local(pid).then_some(pid)
}

/// `true` while `pid` is alive and runs `vk-local` (a reused PID is not mistaken for it).
pub fn is_vk_local(pid: u32) -> bool {
    let Ok(command_line) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let is_zombie = stat(pid).is_none_or(|(_, zombie)| zombie);
    !is_zombie && String::from_utf8_lossy(&command_line).contains("vk-local")
}

/// Sends `signal` (`-TERM`, `-KILL`) to `pid`.
pub fn signal(signal: &str, pid: u32) -> std::io::Result<()> {
    Command::new("kill")
        .args([signal, &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|_| ())
}

/// The parent PID and whether the process is a zombie, from `/proc/<pid>/stat`.
fn stat(pid: u32) -> Option<(u32, bool)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(") ")?;
    let mut fields = rest.split_whitespace();
    let state = fields.next()?;
    let parent = fields.next()?.parse().ok()?;
    Some((parent, state == "Z"))
}

/// This process and its ancestors (their command lines may name the state directory too).
fn this_process_and_ancestors() -> Vec<u32> {
    let mut chain = vec![std::process::id()];
    while let Some((parent, _)) = chain.last().and_then(|pid| stat(*pid)) {
        if parent == 0 || chain.contains(&parent) {
            break;
        }
        chain.push(parent);
    }
    chain
}

/// PIDs of live processes whose command line mentions `dir` (the stack's processes all take
/// files under its state directory), this process and its ancestors excluded.
pub fn processes_mentioning(dir: &Path) -> Vec<u32> {
    let needle = dir.display().to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mine = this_process_and_ancestors();
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| !mine.contains(pid))
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|line| String::from_utf8_lossy(&line).contains(&needle))
        })
        .filter(|pid| stat(*pid).is_some_and(|(_, zombie)| !zombie))
        .collect()
}
