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
    /// Latest state from a GET (or from the PUT answer). Boxed: a `PodState` is about 1 KB
    /// inline, and the table keeps a third of its slots empty (twice that while it grows).
    pub state: Option<Box<v1::PodState>>,
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

    /// Names of the groups whose read is due at `now`, in the order to read them: groups that
    /// are starting, changing or deleting first (their state is what people wait for), then
    /// steady ones, each class longest-waiting first. With more due groups than the read budget
    /// covers, steady groups therefore slow down evenly while the urgent ones keep their pace.
    pub fn due(&self, now: Instant) -> Vec<String> {
        let mut due: Vec<(bool, Instant, &str)> = self
            .entries
            .values()
            .filter(|e| e.next_read <= now)
            .map(|e| (e.state.as_deref().is_some_and(settled), e.next_read, e.name.as_str()))
            .collect();
        due.sort_unstable();
        due.into_iter().map(|(_, _, name)| name.to_owned()).collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, phase: Option<v1::PodPhase>, next_read: Instant) -> Entry {
        let state = phase.map(|phase| v1::PodState {
            status: Some(v1::PodStatus { phase: phase as i32, ..Default::default() }),
            ..Default::default()
        });
        Entry {
            name: name.to_owned(),
            owner: GroupOwner {
                cluster_id: "c".into(),
                node_name: "n".into(),
                namespace: "ns".into(),
                pod_name: name.to_owned(),
                uid: name.to_owned(),
                spec_hash: String::new(),
                accepted_at: None,
            },
            state: state.map(Box::new),
            fingerprint: String::new(),
            next_read,
        }
    }

    fn cache(entries: Vec<Entry>) -> Cache {
        Cache { entries: entries.into_iter().map(|e| (e.name.clone(), e)).collect() }
    }

    #[test]
    fn groups_whose_turn_has_not_come_are_not_due() {
        let now = Instant::now();
        let c = cache(vec![
            entry("later", Some(v1::PodPhase::Pending), now + Duration::from_secs(1)),
            entry("now", Some(v1::PodPhase::Pending), now),
        ]);
        assert_eq!(c.due(now), vec!["now".to_owned()]);
    }

    #[test]
    fn starting_and_unread_groups_come_before_steady_ones_even_when_these_waited_longer() {
        let now = Instant::now();
        let old = now - Duration::from_secs(300);
        let c = cache(vec![
            entry("steady", Some(v1::PodPhase::Succeeded), old),
            entry("starting", Some(v1::PodPhase::Pending), now),
            entry("unread", None, now - Duration::from_secs(1)),
        ]);
        assert_eq!(c.due(now), vec!["unread".to_owned(), "starting".to_owned(), "steady".to_owned()]);
    }

    #[test]
    fn steady_groups_are_read_longest_waiting_first() {
        let now = Instant::now();
        let c = cache(vec![
            entry("b", Some(v1::PodPhase::Failed), now - Duration::from_secs(10)),
            entry("a", Some(v1::PodPhase::Failed), now - Duration::from_secs(5)),
            entry("c", Some(v1::PodPhase::Failed), now - Duration::from_secs(20)),
        ]);
        assert_eq!(c.due(now), vec!["c".to_owned(), "b".to_owned(), "a".to_owned()]);
    }
}
