//! The temporary directory holding a control plane's certificates, kubeconfigs, etcd data
//! and logs. It is removed on drop and, for instances that are never dropped (statics), by a
//! janitor process once the test process has gone.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use std::os::unix::process::CommandExt;

use super::error::Error;

/// Set to `1` to keep state directories (and their logs) after the tests.
pub const KEEP_ENV: &str = "VK_CONTROL_PLANE_KEEP";

/// Waits for the watched PID to disappear, lets the watchdogs stop the servers, then
/// removes the directory.
const JANITOR: &str = r#"
while kill -0 "$1" 2>/dev/null; do sleep 1; done
sleep 10
rm -rf "$2"
"#;

#[derive(Debug)]
pub struct StateDir {
    path: PathBuf,
    keep: bool,
    janitor: Option<Child>,
}

impl StateDir {
    /// Creates `vk-control-plane-*` in `parent` (created if missing), else in the system
    /// temp directory.
    pub fn create(keep: bool, parent: Option<&Path>) -> Result<Self, Error> {
        let base = parent.map(Path::to_path_buf).unwrap_or_else(std::env::temp_dir);
        std::fs::create_dir_all(&base)
            .map_err(|source| Error::CreateStateDir { base: base.clone(), source })?;
        let path = tempfile::Builder::new()
            .prefix("vk-control-plane-")
            .tempdir_in(&base)
            .map_err(|source| Error::CreateStateDir { base, source })?
            .keep();
        let janitor = if keep {
            tracing::info!(dir = %path.display(), "keeping the control plane's state directory");
            None
        } else {
            spawn_janitor(&path)
        };
        Ok(Self { path, keep, janitor })
    }

    /// `true` when [`KEEP_ENV`] asks to keep state directories.
    pub fn keep_requested() -> bool {
        std::env::var(KEEP_ENV).is_ok_and(|value| value == "1")
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn spawn_janitor(path: &Path) -> Option<Child> {
    let spawned = Command::new("sh")
        .args(["-c", JANITOR, "vk-aci-janitor"])
        .arg(std::process::id().to_string())
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn();
    match spawned {
        Ok(child) => Some(child),
        Err(error) => {
            tracing::warn!(%error, "no janitor for the control plane's state directory");
            None
        }
    }
}

impl Drop for StateDir {
    fn drop(&mut self) {
        if let Some(mut janitor) = self.janitor.take() {
            // Best effort: a janitor that already ended needs nothing.
            let _ = janitor.kill();
            let _ = janitor.wait();
        }
        if !self.keep
            && let Err(error) = std::fs::remove_dir_all(&self.path)
        {
            tracing::warn!(%error, dir = %self.path.display(), "removing the state directory");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_directory_is_removed_on_drop_unless_kept() {
        let removed = StateDir::create(false, None).expect("creating");
        let removed_path = removed.path().to_path_buf();
        assert!(removed_path.is_dir());
        drop(removed);
        assert!(!removed_path.exists());

        let kept = StateDir::create(true, None).expect("creating");
        let kept_path = kept.path().to_path_buf();
        drop(kept);
        assert!(kept_path.is_dir());
        std::fs::remove_dir_all(kept_path).expect("cleaning up");
    }

    #[test]
    fn the_directory_is_created_under_the_requested_parent() {
        let parent = tempfile::tempdir().expect("a temp dir");
        let nested = parent.path().join("not").join("yet");
        let state = StateDir::create(false, Some(&nested)).expect("creating");
        assert_eq!(state.path().parent(), Some(nested.as_path()));
        assert!(state.path().is_dir());
    }

    #[test]
    fn the_janitor_removes_the_directory_when_the_watched_process_is_gone() {
        let dir = tempfile::tempdir().expect("a temp dir").keep();
        let mut watched = Command::new("true").spawn().expect("spawning the watched process");
        watched.wait().expect("the watched process exits");
        let status = Command::new("sh")
            .args(["-c", &JANITOR.replace("sleep 10", "sleep 0"), "janitor"])
            .arg(watched.id().to_string())
            .arg(&dir)
            .status()
            .expect("running the janitor");
        assert!(status.success());
        assert!(!dir.exists());
    }
}
