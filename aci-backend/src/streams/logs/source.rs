//! Where log text comes from: ACI's logs API, always with timestamps (they tell identical lines
//! apart and serve `since`; they are stripped again unless the client asked for them).

use std::sync::Arc;

use crate::arm::{ArmClient, ArmError};

/// Reads the newest lines of one container's log.
#[async_trait::async_trait]
pub trait LogSource: Send + Sync {
    /// The last `tail` lines (all when None), each prefixed with its RFC 3339 time and a space.
    async fn fetch(&self, tail: Option<u64>) -> Result<String, ArmError>;

    /// False once the container stopped for good: following reads once more, then ends (as the
    /// kubelet ends `logs -f` when the container exits). Unknown: true.
    async fn running(&self) -> bool {
        true
    }
}

/// Tells whether a container still runs (for example from the status engine's cache).
pub type RunningProbe = Arc<dyn Fn() -> bool + Send + Sync>;

/// One ACI container's log.
#[derive(Clone)]
pub struct AciLogs {
    arm: ArmClient,
    group: String,
    container: String,
    running: Option<RunningProbe>,
}

impl std::fmt::Debug for AciLogs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AciLogs").field("group", &self.group).field("container", &self.container).finish()
    }
}

impl AciLogs {
    /// The log of `container` in the container group `group`.
    pub fn new(arm: ArmClient, group: &str, container: &str) -> Self {
        AciLogs { arm, group: group.to_owned(), container: container.to_owned(), running: None }
    }

    /// Ends following once `probe` says the container stopped (no ARM reads of its own).
    pub fn until_stopped(mut self, probe: RunningProbe) -> Self {
        self.running = Some(probe);
        self
    }
}

#[async_trait::async_trait]
impl LogSource for AciLogs {
    async fn fetch(&self, tail: Option<u64>) -> Result<String, ArmError> {
        self.arm.container_logs(&self.group, &self.container, tail, true).await
    }

    async fn running(&self) -> bool {
        self.running.as_ref().is_none_or(|probe| probe())
    }
}
