//! Resident memory of our processes, from `/proc/<pid>/status` (VmHWM: peak, VmRSS: now).

use serde::{Deserialize, Serialize};

use crate::error::BenchError;

/// One reading, in MiB.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rss {
    pub peak_mib: f64,
    pub now_mib: f64,
}

/// The pid of the process whose program is named `binary` and whose arguments include `arg`
/// (the watchdog shell around it carries the same arguments but another program name).
pub fn find_pid(binary: &str, arg: &str) -> Result<u32, BenchError> {
    let entries = std::fs::read_dir("/proc").map_err(|source| BenchError::File {
        what: "listing",
        path: "/proc".into(),
        source,
    })?;
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|name| name.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else { continue };
        if matches_command(&cmdline, binary, arg) {
            return Ok(pid);
        }
    }
    Err(BenchError::NoProcess(format!("{binary} {arg}")))
}

fn matches_command(cmdline: &[u8], binary: &str, arg: &str) -> bool {
    let mut parts = cmdline.split(|b| *b == 0).map(String::from_utf8_lossy);
    let Some(program) = parts.next() else { return false };
    program.rsplit('/').next() == Some(binary) && parts.any(|part| part == arg)
}

/// The current reading of `pid`.
pub fn read(pid: u32) -> Result<Rss, BenchError> {
    let path = std::path::PathBuf::from(format!("/proc/{pid}/status"));
    let text = std::fs::read_to_string(&path).map_err(|source| BenchError::File {
        what: "reading",
        path: path.clone(),
        source,
    })?;
    Ok(parse(&text))
}

fn parse(status: &str) -> Rss {
    let kib = |field: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    Rss { peak_mib: kib("VmHWM:") / 1024.0, now_mib: kib("VmRSS:") / 1024.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_and_current_rss_are_read_in_mib() {
        let rss = parse("Name:\tnode-agent\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\n");
        assert_eq!(rss, Rss { peak_mib: 20.0, now_mib: 10.0 });
    }

    #[test]
    fn the_program_name_not_the_watchdog_shell_is_matched() {
        assert!(matches_command(b"/t/release/node-agent\0--nodename=n1\0", "node-agent", "--nodename=n1"));
        assert!(!matches_command(
            b"sh\0-c\0/t/release/node-agent\0--nodename=n1\0",
            "node-agent",
            "--nodename=n1"
        ));
        assert!(!matches_command(b"/t/release/node-agent\0--nodename=n2\0", "node-agent", "--nodename=n1"));
    }

    #[test]
    fn this_process_is_found_and_read() {
        let me = read(std::process::id()).expect("our own status");
        assert!(me.peak_mib > 0.0 && me.peak_mib >= me.now_mib);
    }
}
