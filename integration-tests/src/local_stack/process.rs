//! A component of the stack running as a supervised process (see
//! [`crate::control_plane::Supervised`]: it ends with the process that started it).

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::Duration;

use crate::control_plane::{ProcessSpec, Supervised};

use super::error::LocalStackError;

/// A running component with its log file.
#[derive(Debug)]
pub struct Process {
    name: String,
    log_path: PathBuf,
    spec: ProcessSpec,
    supervised: Option<Supervised>,
}

impl Process {
    /// Starts `program args` with stdout and stderr appended to `<log_dir>/<name>.log`.
    pub fn spawn(
        name: &str,
        program: &Path,
        args: Vec<String>,
        log_dir: &Path,
    ) -> Result<Self, LocalStackError> {
        std::fs::create_dir_all(log_dir)
            .map_err(|source| LocalStackError::CreateDir { path: log_dir.to_path_buf(), source })?;
        let spec = ProcessSpec {
            name: name.to_string(),
            program: program.to_path_buf(),
            args,
            log_path: log_dir.join(format!("{name}.log")),
            linger: Duration::ZERO,
            stop_grace: ProcessSpec::DEFAULT_STOP_GRACE,
        };
        let supervised = Supervised::spawn(&spec)
            .map_err(|source| LocalStackError::Spawn { name: name.to_string(), source })?;
        Ok(Self {
            name: name.to_string(),
            log_path: spec.log_path.clone(),
            spec,
            supervised: Some(supervised),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The last `lines` lines of the log.
    pub fn log_tail(&self, lines: usize) -> String {
        crate::control_plane::log_tail(&self.log_path, lines)
    }

    /// Fails with the log tail once the process has exited.
    pub fn check_alive(&mut self) -> Result<(), LocalStackError> {
        let Some(supervised) = self.supervised.as_mut() else {
            return Err(LocalStackError::ExitedEarly {
                name: self.name.clone(),
                status: ExitStatus::default(),
                log_tail: "(stopped)".into(),
            });
        };
        let status = supervised
            .exit_status()
            .map_err(|source| LocalStackError::Stop { name: self.name.clone(), source })?;
        match status {
            None => Ok(()),
            Some(status) => Err(LocalStackError::ExitedEarly {
                name: self.name.clone(),
                status,
                log_tail: self.log_tail(30),
            }),
        }
    }

    /// Polls `check` every 100 ms until it is true, failing when the process exits or after
    /// `timeout`.
    pub async fn wait_until<F, Fut>(
        &mut self,
        what: &str,
        timeout: Duration,
        mut check: F,
    ) -> Result<(), LocalStackError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = bool>,
    {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            self.check_alive()?;
            if check().await {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(LocalStackError::StartTimeout {
                    what: format!("{what} ({})", self.name),
                    seconds: timeout.as_secs(),
                    log_tail: self.log_tail(30),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `kill -9`: SIGKILL to the process (and its process group), then waits until it is
    /// gone. It gets no chance to clean up; [`Process::respawn`] starts it again.
    pub async fn kill9(&mut self) -> Result<(), LocalStackError> {
        self.signal_group("-KILL")?;
        self.stop().await.map(|_| ())
    }

    /// SIGSTOP: the process is frozen (its connections stay open, nothing is read).
    pub fn pause(&self) -> Result<(), LocalStackError> {
        self.signal_group("-STOP")
    }

    /// SIGCONT after [`Process::pause`].
    pub fn resume(&self) -> Result<(), LocalStackError> {
        self.signal_group("-CONT")
    }

    fn signal_group(&self, signal: &'static str) -> Result<(), LocalStackError> {
        let Some(supervised) = self.supervised.as_ref() else {
            return Ok(());
        };
        supervised.signal_group(signal).map_err(|source| LocalStackError::Signal {
            name: self.name.clone(),
            signal,
            source,
        })
    }

    /// Starts the same command line again (same flags and ports, the log appended) after
    /// the process was stopped or killed.
    pub fn respawn(&mut self) -> Result<(), LocalStackError> {
        if self.supervised.is_some() {
            return Err(LocalStackError::StillRunning { name: self.name.clone() });
        }
        let supervised = Supervised::spawn(&self.spec)
            .map_err(|source| LocalStackError::Spawn { name: self.name.clone(), source })?;
        self.supervised = Some(supervised);
        Ok(())
    }

    /// Sends SIGTERM, waits for the exit (SIGKILL after the grace period) and returns the
    /// status. Idempotent.
    pub async fn stop(&mut self) -> Result<Option<ExitStatus>, LocalStackError> {
        let Some(mut supervised) = self.supervised.take() else {
            return Ok(None);
        };
        let name = self.name.clone();
        let status = tokio::task::spawn_blocking(move || supervised.stop())
            .await
            .map_err(LocalStackError::StopTask)?
            .map_err(|source| LocalStackError::Stop { name, source })?;
        Ok(Some(status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_killed_process_is_gone_and_respawns_with_the_same_command_line() {
        let logs = tempfile::tempdir().expect("a temp dir");
        let mut process = Process::spawn("sleeper", Path::new("/bin/sleep"), vec!["60".into()], logs.path())
            .expect("spawn");
        process.check_alive().expect("running after spawn");
        assert!(process.respawn().is_err(), "a running process is not started twice");
        process.pause().expect("SIGSTOP");
        process.resume().expect("SIGCONT");
        process.check_alive().expect("running after a pause and a resume");
        process.kill9().await.expect("kill -9");
        assert!(process.check_alive().is_err(), "gone after kill -9");
        process.respawn().expect("respawn");
        process.check_alive().expect("running again");
        // The watchdog forwards SIGTERM once it has started its child.
        tokio::time::sleep(Duration::from_millis(300)).await;
        process.stop().await.expect("stop");
    }
}
