//! Supervised server processes that never outlive the test process.
//!
//! Each server runs under a small `sh` watchdog in its own process group. The watchdog
//! polls the test process's PID and terminates the server when it disappears, so nothing
//! is left behind when a test binary exits without dropping statics or after a panic.
//! [`Supervised::stop`] asks the watchdog to terminate the server and waits for it.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use std::os::unix::process::CommandExt;

/// `$1` is the PID to watch, `$2` how many seconds the server outlives it, the rest is the
/// server's command line. Exits with the server's status; SIGTERM to the watchdog is
/// forwarded to the server.
const WATCHDOG: &str = r#"
watched=$1; linger=$2; shift 2
child=
trap 'kill -TERM "$child" 2>/dev/null' TERM INT HUP
"$@" &
child=$!
(
    while kill -0 "$watched" 2>/dev/null; do sleep 0.5; done
    sleep "$linger"
    kill -TERM "$child" 2>/dev/null
    sleep 10
    kill -KILL "$child" 2>/dev/null
) &
watcher=$!
while :; do
    wait "$child"; status=$?
    kill -0 "$child" 2>/dev/null || break
done
kill -KILL "$watcher" 2>/dev/null
exit "$status"
"#;

/// Starting, stopping or inspecting a supervised process failed.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("opening the log file {path} for {name}")]
    OpenLog {
        name: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("spawning {name}")]
    Spawn {
        name: String,
        #[source]
        source: std::io::Error,
    },
    #[error("signalling {name}")]
    Signal {
        name: String,
        #[source]
        source: std::io::Error,
    },
    #[error("waiting for {name} to exit")]
    Wait {
        name: String,
        #[source]
        source: std::io::Error,
    },
}

/// What to run and where its output goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessSpec {
    /// Short name used in errors and as the log file stem.
    pub name: String,
    pub program: PathBuf,
    pub args: Vec<String>,
    /// Receives stdout and stderr (appended, so restarts keep earlier output).
    pub log_path: PathBuf,
    /// How long the server outlives the test process, so that servers depending on it
    /// (the apiserver on etcd) can shut down cleanly first.
    pub linger: Duration,
    /// How long [`Supervised::stop`] waits after SIGTERM before killing the process group.
    pub stop_grace: Duration,
}

impl ProcessSpec {
    /// The default [`ProcessSpec::stop_grace`].
    pub const DEFAULT_STOP_GRACE: Duration = Duration::from_secs(15);
}

/// A running server under its watchdog.
#[derive(Debug)]
pub struct Supervised {
    spec: ProcessSpec,
    watchdog: Child,
    exit: Option<ExitStatus>,
}

impl Supervised {
    /// Starts `spec` under a watchdog that ends it when this process ends.
    pub fn spawn(spec: &ProcessSpec) -> Result<Self, ProcessError> {
        let open_log =
            |source| ProcessError::OpenLog { name: spec.name.clone(), path: spec.log_path.clone(), source };
        let stdout = File::options().create(true).append(true).open(&spec.log_path).map_err(open_log)?;
        let stderr = stdout.try_clone().map_err(open_log)?;
        let watchdog = Command::new("sh")
            .arg("-c")
            .arg(WATCHDOG)
            .arg("vk-aci-watchdog")
            .arg(std::process::id().to_string())
            .arg(spec.linger.as_secs().to_string())
            .arg(&spec.program)
            .args(&spec.args)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .process_group(0)
            .spawn()
            .map_err(|source| ProcessError::Spawn { name: spec.name.clone(), source })?;
        Ok(Self { spec: spec.clone(), watchdog, exit: None })
    }

    pub fn spec(&self) -> &ProcessSpec {
        &self.spec
    }

    /// `Some(status)` once the server has exited.
    pub fn exit_status(&mut self) -> Result<Option<ExitStatus>, ProcessError> {
        if self.exit.is_none() {
            self.exit = self.watchdog.try_wait().map_err(|source| self.wait_error(source))?;
        }
        Ok(self.exit)
    }

    /// Terminates the server (SIGTERM, then SIGKILL to the whole group after a grace period)
    /// and waits until it has exited. Blocking; idempotent.
    pub fn stop(&mut self) -> Result<ExitStatus, ProcessError> {
        if let Some(status) = self.exit_status()? {
            return Ok(status);
        }
        self.signal(&["-TERM", &self.watchdog.id().to_string()])?;
        let deadline = Instant::now() + self.spec.stop_grace;
        while Instant::now() < deadline {
            if let Some(status) = self.exit_status()? {
                return Ok(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        tracing::warn!(name = %self.spec.name, "did not stop after SIGTERM; killing its process group");
        self.signal(&["-KILL", "--", &format!("-{}", self.watchdog.id())])?;
        let status = self.watchdog.wait().map_err(|source| self.wait_error(source))?;
        self.exit = Some(status);
        Ok(status)
    }

    /// Sends `signal` (`-KILL`, `-STOP`, `-CONT`, ...) to the whole process group: the
    /// server, its watchdog and anything the server started. A SIGKILL ends them at once,
    /// as `kill -9` or the OOM killer would.
    pub fn signal_group(&self, signal: &str) -> Result<(), ProcessError> {
        self.signal(&[signal, "--", &format!("-{}", self.watchdog.id())])
    }

    /// The last `lines` lines of the log file (for error messages).
    pub fn log_tail(&self, lines: usize) -> String {
        log_tail(&self.spec.log_path, lines)
    }

    fn signal(&self, args: &[&str]) -> Result<(), ProcessError> {
        let signal_error = |source| ProcessError::Signal { name: self.spec.name.clone(), source };
        // The watchdog may exit between our check and the signal; that is not a failure.
        Command::new("kill")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(signal_error)?;
        Ok(())
    }

    fn wait_error(&self, source: std::io::Error) -> ProcessError {
        ProcessError::Wait { name: self.spec.name.clone(), source }
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        if let Err(error) = self.stop() {
            tracing::warn!(%error, "stopping a supervised process");
        }
    }
}

/// The last `lines` lines of a log file, reading at most its last 64 KiB.
pub fn log_tail(path: &Path, lines: usize) -> String {
    const WINDOW: u64 = 64 * 1024;
    let Ok(mut file) = File::open(path) else {
        return format!("(no log at {})", path.display());
    };
    let length = file.metadata().map(|meta| meta.len()).unwrap_or(0);
    if file.seek(SeekFrom::Start(length.saturating_sub(WINDOW))).is_err() {
        return String::new();
    }
    let mut bytes = Vec::new();
    if file.read_to_end(&mut bytes).is_err() {
        return String::new();
    }
    let text = String::from_utf8_lossy(&bytes);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(dir: &Path, name: &str, program: &str, args: &[&str]) -> ProcessSpec {
        ProcessSpec {
            name: name.into(),
            program: program.into(),
            args: args.iter().map(|arg| arg.to_string()).collect(),
            log_path: dir.join(format!("{name}.log")),
            linger: Duration::ZERO,
            stop_grace: ProcessSpec::DEFAULT_STOP_GRACE,
        }
    }

    fn is_alive(pid: &str) -> bool {
        Command::new("kill").args(["-0", pid]).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
    }

    #[test]
    fn the_server_output_lands_in_its_log_file_and_its_status_is_reported() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let mut process = Supervised::spawn(&spec(dir.path(), "echo", "sh", &["-c", "echo hello; exit 3"]))
            .expect("spawning");
        let deadline = Instant::now() + Duration::from_secs(5);
        while process.exit_status().expect("polling").is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(process.exit_status().expect("polling").and_then(|s| s.code()), Some(3));
        assert_eq!(process.log_tail(5), "hello");
    }

    #[test]
    fn stopping_terminates_the_server_itself() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let pid_file = dir.path().join("pid");
        let script = format!("echo $$ > {}; exec sleep 300", pid_file.display());
        let mut process =
            Supervised::spawn(&spec(dir.path(), "sleeper", "sh", &["-c", &script])).expect("spawning");
        let deadline = Instant::now() + Duration::from_secs(5);
        while !pid_file.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let pid = std::fs::read_to_string(&pid_file).expect("the server wrote its pid");
        let pid = pid.trim();
        assert!(is_alive(pid));
        let started = Instant::now();
        process.stop().expect("stopping");
        assert!(started.elapsed() < ProcessSpec::DEFAULT_STOP_GRACE, "SIGTERM was not forwarded");
        assert!(!is_alive(pid), "the server {pid} survived stop()");
    }

    #[test]
    fn the_server_dies_with_the_process_it_watches() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let pid_file = dir.path().join("pid");
        // Watch a short-lived `sleep` instead of this test process.
        let mut watched = Command::new("sleep").arg("1").spawn().expect("spawning the watched process");
        let script = format!("echo $$ > {}; exec sleep 300", pid_file.display());
        let mut watchdog = Command::new("sh")
            .args(["-c", WATCHDOG, "vk-aci-watchdog", &watched.id().to_string(), "1", "sh", "-c", &script])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("spawning the watchdog");
        watched.wait().expect("the watched process exits");
        let gone = Instant::now();
        let status = watchdog.wait().expect("the watchdog exits");
        assert!(gone.elapsed() >= Duration::from_secs(1), "the server did not linger");
        let pid = std::fs::read_to_string(&pid_file).expect("the server wrote its pid");
        assert!(!status.success(), "the server was terminated by a signal");
        assert!(!is_alive(pid.trim()), "the server outlived the watched process");
    }

    #[test]
    fn the_log_tail_keeps_only_the_last_lines() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("log");
        std::fs::write(&path, "one\ntwo\nthree\n").expect("writing");
        assert_eq!(log_tail(&path, 2), "two\nthree");
        assert!(log_tail(&dir.path().join("missing"), 2).contains("no log"));
    }
}
