//! How a reference backend behaves: delays of its simulated lifecycle, node size, who may call
//! it, and deliberate contract violations used to prove the conformance suite catches them.

use std::collections::HashMap;
use std::time::Duration;

/// Settings of a [`super::ReferenceBackend`].
#[derive(Debug, Clone)]
pub struct ReferenceConfig {
    /// Time a new pod stays Pending before its containers start.
    pub start_delay: Duration,
    /// Time between a container's exit and its restart (when the restart policy restarts it).
    pub restart_delay: Duration,
    /// Time a deleted pod stays visible (with `deleting = true`) before it is removed.
    /// Zero removes it at once (`gone = true`).
    pub delete_delay: Duration,
    /// Bookmark interval used when a WatchPods request asks for 0.
    pub default_bookmark_interval: Duration,
    /// Region reported in the node info.
    pub region: String,
    /// Node capacity: CPU in millicores.
    pub cpu_millis: i64,
    /// Node capacity: memory in bytes.
    pub memory_bytes: i64,
    /// Node capacity: pods.
    pub max_pods: i64,
    /// Bearer tokens accepted, each with the cluster ids it may act for (`*` for any). Empty:
    /// no authentication (the sidecar shape).
    pub tokens: HashMap<String, Vec<String>>,
    /// Deliberate contract violations; all off by default.
    pub faults: Faults,
}

impl Default for ReferenceConfig {
    fn default() -> Self {
        Self {
            start_delay: Duration::from_millis(100),
            restart_delay: Duration::from_millis(500),
            delete_delay: Duration::from_millis(100),
            default_bookmark_interval: Duration::from_secs(30),
            region: "reference-1".to_owned(),
            cpu_millis: 64_000,
            memory_bytes: 256 * 1024 * 1024 * 1024,
            max_pods: 200,
            tokens: HashMap::new(),
            faults: Faults::default(),
        }
    }
}

/// Contract violations the backend can be told to commit, so tests can prove that the
/// conformance suite notices them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults {
    /// DeletePod of an unknown UID answers NOT_FOUND instead of succeeding.
    pub non_idempotent_delete: bool,
    /// ListPods returns the pods of every scope.
    pub unscoped_list: bool,
    /// WatchPods sends no snapshot: it starts with the changes.
    pub watch_without_snapshot: bool,
    /// Exec reports an exit code one higher than the command's.
    pub wrong_exit_code: bool,
}
