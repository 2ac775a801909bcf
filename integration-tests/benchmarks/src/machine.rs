//! Where and on what the benchmark ran: date, cores, memory, commit, load.

use std::process::Command;

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Machine {
    pub date: String,
    pub cores: usize,
    pub ram_gib: f64,
    pub cpu_model: String,
    /// `git rev-parse HEAD` of the working tree (with `-dirty` when it has changes).
    pub commit: String,
    /// /proc/loadavg when the run started (other builds running show here).
    pub load_at_start: String,
}

impl Machine {
    pub fn probe() -> Self {
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        Self {
            date: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            cores: std::thread::available_parallelism().map(usize::from).unwrap_or(1),
            ram_gib: mem_total_kib(&meminfo) as f64 / 1024.0 / 1024.0,
            cpu_model: cpu_model(&cpuinfo),
            commit: commit(),
            load_at_start: std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim().to_string(),
        }
    }
}

impl Machine {
    /// This machine as probed at the start of the run (same commit: the binaries measured were
    /// built before it), with the date and load of now.
    pub fn now(&self) -> Self {
        Self {
            date: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            load_at_start: std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim().to_string(),
            ..self.clone()
        }
    }
}

fn mem_total_kib(meminfo: &str) -> u64 {
    meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .unwrap_or(0)
}

fn cpu_model(cpuinfo: &str) -> String {
    cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .and_then(|rest| rest.split_once(':'))
        .map(|(_, model)| model.trim().to_string())
        .unwrap_or_default()
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn commit() -> String {
    let head = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    if dirty { format!("{head}-dirty") } else { head }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_and_cpu_model_are_read_from_proc_text() {
        assert_eq!(mem_total_kib("MemTotal:        8048576 kB\nMemFree: 1 kB\n"), 8_048_576);
        assert_eq!(mem_total_kib("nothing"), 0);
        assert_eq!(cpu_model("processor\t: 0\nmodel name\t: Some CPU @ 2GHz\n"), "Some CPU @ 2GHz");
    }
}
