//! Run-time handles of groups: the lifecycle task, each running container's exit and stdin channels, and
//! the containers' working directories (process runtime).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use crate::groups::GroupKey;

/// Run-time handles of one container instance.
#[derive(Debug, Clone)]
pub(super) struct ContainerControl {
    pub(super) exit: mpsc::UnboundedSender<i32>,
    pub(super) stdin: mpsc::UnboundedSender<Bytes>,
}

#[derive(Debug, Default)]
pub(super) struct GroupControl {
    pub(super) task: Option<AbortHandle>,
    pub(super) containers: HashMap<String, ContainerControl>,
    workdirs: HashMap<String, Arc<tempfile::TempDir>>,
}

/// Lifecycle tasks and per-container controls of every group.
#[derive(Debug, Default)]
pub struct Controls {
    groups: Mutex<HashMap<GroupKey, GroupControl>>,
}

impl Controls {
    pub(super) fn with<R>(&self, key: &GroupKey, f: impl FnOnce(&mut GroupControl) -> R) -> Option<R> {
        let mut groups = self.groups.lock().ok()?;
        Some(f(groups.entry(key.clone()).or_default()))
    }

    /// Stops the group's tasks (and so its processes); keeps working directories.
    pub(super) fn abort(&self, key: &GroupKey) {
        self.with(key, |g| {
            if let Some(task) = g.task.take() {
                task.abort();
            }
            g.containers.clear();
        });
    }

    /// Stops every group's tasks (on shutdown), so no process outlives the emulator.
    pub fn abort_all(&self) {
        if let Ok(mut groups) = self.groups.lock() {
            for group in groups.values_mut() {
                if let Some(task) = group.task.take() {
                    task.abort();
                }
            }
            groups.clear();
        }
    }

    /// Forgets the group entirely (on delete).
    pub fn forget(&self, key: &GroupKey) {
        self.abort(key);
        if let Ok(mut groups) = self.groups.lock() {
            groups.remove(key);
        }
    }

    /// Makes a running container exit with `code`; false when it is not running.
    pub fn request_exit(&self, key: &GroupKey, container: &str) -> Option<mpsc::UnboundedSender<i32>> {
        self.with(key, |g| g.containers.get(container).map(|c| c.exit.clone())).flatten()
    }

    /// Stdin of a running container (attach).
    pub fn stdin(&self, key: &GroupKey, container: &str) -> Option<mpsc::UnboundedSender<Bytes>> {
        self.with(key, |g| g.containers.get(container).map(|c| c.stdin.clone())).flatten()
    }

    /// The container's working directory, made on first use.
    pub fn workdir(&self, key: &GroupKey, container: &str) -> Option<PathBuf> {
        self.with(key, |g| {
            if let Some(dir) = g.workdirs.get(container) {
                return Some(dir.path().to_path_buf());
            }
            let dir = tempfile::Builder::new().prefix("aci-emulator-").tempdir().ok()?;
            let path = dir.path().to_path_buf();
            g.workdirs.insert(container.to_owned(), Arc::new(dir));
            Some(path)
        })
        .flatten()
    }
}
