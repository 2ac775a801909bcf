//! Where log text comes from: ACI's logs API, always with timestamps (they tell identical lines
//! apart and serve `since`; they are stripped again unless the client asked for them).

use crate::arm::{ArmClient, ArmError};

/// Reads the newest lines of one container's log.
#[async_trait::async_trait]
pub trait LogSource: Send + Sync {
    /// The last `tail` lines (all when None), each prefixed with its RFC 3339 time and a space.
    async fn fetch(&self, tail: Option<u64>) -> Result<String, ArmError>;
}

/// One ACI container's log.
#[derive(Debug, Clone)]
pub struct AciLogs {
    arm: ArmClient,
    group: String,
    container: String,
}

impl AciLogs {
    /// The log of `container` in the container group `group`.
    pub fn new(arm: ArmClient, group: &str, container: &str) -> Self {
        AciLogs { arm, group: group.to_owned(), container: container.to_owned() }
    }
}

#[async_trait::async_trait]
impl LogSource for AciLogs {
    async fn fetch(&self, tail: Option<u64>) -> Result<String, ArmError> {
        self.arm.container_logs(&self.group, &self.container, tail, true).await
    }
}
