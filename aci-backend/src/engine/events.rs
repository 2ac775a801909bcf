//! What the engine tells WatchPods streams.

use vk_proto::v1;

/// A change of one pod of one scope.
#[derive(Debug, Clone, PartialEq)]
pub enum PodChange {
    /// Created or its state changed.
    Changed {
        /// Cluster id of the scope.
        cluster_id: String,
        /// Node name of the scope.
        node_name: String,
        /// The full current state.
        state: Box<v1::PodState>,
    },
    /// Gone from Azure.
    Removed {
        /// Cluster id of the scope.
        cluster_id: String,
        /// Node name of the scope.
        node_name: String,
        /// What was removed.
        pod: v1::PodRemoved,
    },
}

impl PodChange {
    /// True when the change belongs to the scope.
    pub fn is_for(&self, cluster: &str, node: &str) -> bool {
        match self {
            PodChange::Changed { cluster_id, node_name, .. }
            | PodChange::Removed { cluster_id, node_name, .. } => cluster_id == cluster && node_name == node,
        }
    }
}
