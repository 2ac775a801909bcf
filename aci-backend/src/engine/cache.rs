//! What the engine knows about each container group of the resource group that this
//! backend created, keyed by group name.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;
use vk_proto::v1;

use crate::model::ContainerGroup;
use crate::translate::tags::GroupOwner;

/// How often a group is read while it settles, and once it has.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pace {
    /// GET interval while starting, changing or deleting.
    pub unsettled: Duration,
    /// GET interval of a steady group.
    pub settled: Duration,
    /// List interval (new and vanished groups).
    pub list: Duration,
}

impl Default for Pace {
    fn default() -> Self {
        Pace {
            unsettled: Duration::from_secs(2),
            settled: Duration::from_secs(50),
            list: Duration::from_secs(5),
        }
    }
}

/// One known group.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Group name.
    pub name: String,
    /// Scope and pod it belongs to.
    pub owner: GroupOwner,
    /// Latest state from a GET (or from the PUT answer).
    pub state: Option<v1::PodState>,
    /// What the list showed last (provisioning state and spec hash).
    pub fingerprint: String,
    /// When to GET it next.
    pub next_read: Instant,
}

/// A list entry's fingerprint: changes of it make the engine read the group soon.
pub fn fingerprint(group: &ContainerGroup) -> String {
    format!(
        "{}|{}",
        group.properties.provisioning_state.as_deref().unwrap_or(""),
        group.tags.get(crate::translate::tags::SPEC_HASH).map(String::as_str).unwrap_or("")
    )
}

/// True when a pod's state needs no frequent reads: running and ready, or finished for good.
pub fn settled(state: &v1::PodState) -> bool {
    let Some(status) = state.status.as_ref() else { return false };
    if state.deleting {
        return false;
    }
    let phase = v1::PodPhase::try_from(status.phase).unwrap_or(v1::PodPhase::Unknown);
    match phase {
        v1::PodPhase::Succeeded | v1::PodPhase::Failed => true,
        v1::PodPhase::Running => status.container_statuses.iter().all(|c| c.ready),
        _ => false,
    }
}

/// Every known group.
#[derive(Debug, Default)]
pub struct Cache {
    pub(crate) entries: HashMap<String, Entry>,
}

impl Cache {
    /// The entry of a pod in a scope.
    pub fn find(&self, cluster_id: &str, node_name: &str, uid: &str) -> Option<&Entry> {
        self.entries.values().find(|e| {
            e.owner.cluster_id == cluster_id && e.owner.node_name == node_name && e.owner.uid == uid
        })
    }

    /// Entries of a scope, ordered by pod UID.
    pub fn of_scope(&self, cluster_id: &str, node_name: &str) -> Vec<&Entry> {
        let mut out: Vec<&Entry> = self
            .entries
            .values()
            .filter(|e| e.owner.cluster_id == cluster_id && e.owner.node_name == node_name)
            .collect();
        out.sort_by(|a, b| a.owner.uid.cmp(&b.owner.uid));
        out
    }
}
