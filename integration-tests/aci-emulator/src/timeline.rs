//! When each container group's creating PUT arrived, read by benchmarks through the admin API
//! (`GET /_emulator/timeline`) together with the time each container started running.

use std::collections::BTreeMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::groups::{GroupKey, Store};

#[derive(Debug, Default)]
pub struct Timeline {
    created: Mutex<BTreeMap<GroupKey, DateTime<Utc>>>,
}

/// One group's moments, as the admin API shows them.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupTimeline {
    pub resource_group: String,
    pub name: String,
    pub tags: serde_json::Value,
    /// Arrival of the PUT that created the group.
    pub put_at: Option<DateTime<Utc>>,
    /// When the last container to start is Running (None until every container runs).
    pub running_at: Option<DateTime<Utc>>,
}

impl Timeline {
    /// Records the arrival of a PUT that created the group `key` (a re-creation replaces it).
    pub fn created(&self, key: &GroupKey, at: DateTime<Utc>) {
        if let Ok(mut created) = self.created.lock() {
            created.insert(key.clone(), at);
        }
    }

    /// Every group in `store` with its PUT arrival and running time.
    pub fn groups(&self, store: &Store) -> Vec<GroupTimeline> {
        let created = self.created.lock().map(|c| c.clone()).unwrap_or_default();
        store
            .list(|_| true)
            .into_iter()
            .map(|group| {
                let running = group
                    .containers
                    .iter()
                    .map(|c| (c.current.state == "Running").then_some(c.current.start_time).flatten());
                let running_at = running.collect::<Option<Vec<_>>>().and_then(|t| t.into_iter().max());
                GroupTimeline {
                    resource_group: group.gref.resource_group.clone(),
                    name: group.gref.name.clone(),
                    tags: group.raw.get("tags").cloned().unwrap_or_default(),
                    put_at: created.get(&group.gref.key()).copied(),
                    running_at,
                }
            })
            .collect()
    }
}
