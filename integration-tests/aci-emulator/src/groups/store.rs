//! The container groups the emulator holds, with their simulated instance state.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::model::GroupRequest;
use crate::arm::GroupRef;
use crate::logs::LogBuffer;

pub type GroupKey = (String, String, String);

/// provisioningState of a group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provisioning {
    Pending,
    Creating,
    Succeeded,
    Failed,
    Deleting,
}

impl Provisioning {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Creating => "Creating",
            Self::Succeeded => "Succeeded",
            Self::Failed => "Failed",
            Self::Deleting => "Deleting",
        }
    }
}

/// One ARM event (group or container), deduplicated by name and message with a count.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub count: u32,
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
    pub name: String,
    pub message: String,
    pub kind: String,
}

/// Records an event, counting repeats as Kubernetes and ACI do.
pub fn record_event(events: &mut Vec<Event>, name: &str, message: &str, kind: &str) {
    let now = Utc::now();
    if let Some(e) = events.iter_mut().find(|e| e.name == name && e.message == message) {
        e.count += 1;
        e.last = now;
        return;
    }
    events.push(Event {
        count: 1,
        first: now,
        last: now,
        name: name.to_owned(),
        message: message.to_owned(),
        kind: kind.to_owned(),
    });
}

/// currentState / previousState of a container.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ContainerState {
    pub state: String,
    pub detail_status: String,
    pub start_time: Option<DateTime<Utc>>,
    pub finish_time: Option<DateTime<Utc>>,
    pub exit_code: Option<i32>,
}

impl ContainerState {
    pub fn waiting(detail: &str) -> Self {
        Self { state: "Waiting".into(), detail_status: detail.into(), ..Self::default() }
    }
}

/// Instance view of one container.
#[derive(Clone, Debug, Default)]
pub struct ContainerStatus {
    pub name: String,
    pub restart_count: u32,
    pub current: ContainerState,
    pub previous: Option<ContainerState>,
    pub events: Vec<Event>,
    pub logs: Arc<LogBuffer>,
}

/// One container group.
#[derive(Clone, Debug)]
pub struct Group {
    pub gref: GroupRef,
    pub location: String,
    /// The PUT body as received (secrets included; rendering strips them).
    pub raw: Value,
    pub spec: GroupRequest,
    pub provisioning: Provisioning,
    pub state: String,
    pub ip: String,
    pub containers: Vec<ContainerStatus>,
    pub init_containers: Vec<ContainerStatus>,
    pub events: Vec<Event>,
    /// Bumped on every (re)deployment; lifecycle tasks of older generations stop writing.
    pub generation: u64,
}

impl Group {
    pub fn container_mut(&mut self, name: &str) -> Option<&mut ContainerStatus> {
        self.containers.iter_mut().chain(self.init_containers.iter_mut()).find(|c| c.name == name)
    }

    pub fn container(&self, name: &str) -> Option<&ContainerStatus> {
        self.containers.iter().chain(self.init_containers.iter()).find(|c| c.name == name)
    }
}

/// ARM location names compare without case and spaces ("West US" is "westus").
pub fn normalize_location(location: &str) -> String {
    location.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_lowercase()
}

/// All groups, keyed case-insensitively.
#[derive(Debug, Default)]
pub struct Store {
    groups: Mutex<BTreeMap<GroupKey, Group>>,
}

impl Store {
    pub fn get(&self, key: &GroupKey) -> Option<Group> {
        self.groups.lock().ok()?.get(key).cloned()
    }

    pub fn insert(&self, group: Group) {
        if let Ok(mut groups) = self.groups.lock() {
            groups.insert(group.gref.key(), group);
        }
    }

    pub fn remove(&self, key: &GroupKey) -> Option<Group> {
        self.groups.lock().ok()?.remove(key)
    }

    /// Changes a group in place; returns what `f` returned, or None when the group is gone.
    pub fn update<R>(&self, key: &GroupKey, f: impl FnOnce(&mut Group) -> R) -> Option<R> {
        let mut groups = self.groups.lock().ok()?;
        groups.get_mut(key).map(f)
    }

    /// Like `update`, but only while the group is still at `generation`.
    pub fn update_at<R>(
        &self,
        key: &GroupKey,
        generation: u64,
        f: impl FnOnce(&mut Group) -> R,
    ) -> Option<R> {
        let mut groups = self.groups.lock().ok()?;
        groups.get_mut(key).filter(|g| g.generation == generation).map(f)
    }

    /// Groups matching a filter, in name order.
    pub fn list(&self, filter: impl Fn(&Group) -> bool) -> Vec<Group> {
        self.groups.lock().map(|g| g.values().filter(|g| filter(g)).cloned().collect()).unwrap_or_default()
    }

    /// Number of groups and sum of CPU requests in one subscription and region.
    pub fn usage(&self, subscription: &str, location: &str) -> (u32, f64) {
        let location = normalize_location(location);
        let groups =
            self.list(|g| g.gref.subscription.eq_ignore_ascii_case(subscription) && g.location == location);
        (groups.len() as u32, groups.iter().map(|g| g.spec.cpu()).sum())
    }
}
