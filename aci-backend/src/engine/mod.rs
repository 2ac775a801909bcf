//! The status engine: learns which groups exist from cheap list calls, reads (GET) only the
//! groups that need it — soon after they appear or change, every couple of seconds while they
//! settle, rarely once steady — and pushes every change of a pod's state to WatchPods streams.
//! All ARM traffic goes through the shared budget, so with very many pods the reads slow down
//! evenly instead of drawing 429s.

mod cache;
mod events;

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::broadcast;
use tokio::time::Instant;
use vk_proto::v1;

pub use cache::{Cache, Entry, Pace, fingerprint, settled};
pub use events::PodChange;

use crate::arm::{ArmClient, ArmError};
use crate::model::ContainerGroup;
use crate::status::{ignored_settings, pod_state};
use crate::translate::TranslateConfig;
use crate::translate::tags::GroupOwner;

/// See the module doc.
pub struct Engine {
    arm: ArmClient,
    pace: Pace,
    /// Translation settings, to report the settings ACI ignores as provider events.
    notes: Option<TranslateConfig>,
    cache: Mutex<Cache>,
    changes: broadcast::Sender<PodChange>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("pace", &self.pace).finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine reading through `arm`; with `notes`, pod states also carry an event for
    /// every setting ACI ignores.
    pub fn new(arm: ArmClient, pace: Pace, notes: Option<TranslateConfig>) -> Arc<Engine> {
        let (changes, _) = broadcast::channel(4096);
        Arc::new(Engine { arm, pace, notes, cache: Mutex::new(Cache::default()), changes })
    }

    /// The ARM client.
    pub fn arm(&self) -> &ArmClient {
        &self.arm
    }

    fn cache(&self) -> MutexGuard<'_, Cache> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        self.cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn emit(&self, change: PodChange) {
        // No receivers is fine: nobody watches right now.
        let _ = self.changes.send(change);
    }

    /// Lists the resource group: learns new groups, notices changed and vanished ones.
    pub async fn refresh_list(&self) -> Result<(), ArmError> {
        let listed = self
            .arm
            .list_groups_map(|group| {
                let owner = GroupOwner::from_tags(&group.tags)?;
                let print = fingerprint(&group);
                Some((group.name?, owner, print))
            })
            .await?;
        let now = Instant::now();
        let mut removed = Vec::new();
        {
            let mut cache = self.cache();
            let mut seen = HashSet::new();
            for (name, owner, print) in listed {
                seen.insert(name.clone());
                let entry = cache.entries.entry(name.clone()).or_insert_with(|| Entry {
                    name,
                    owner: owner.clone(),
                    state: None,
                    fingerprint: String::new(),
                    next_read: now,
                });
                if entry.fingerprint != print {
                    entry.fingerprint = print;
                    entry.owner = owner;
                    entry.next_read = now;
                }
            }
            cache.entries.retain(|name, entry| {
                let keep = seen.contains(name);
                if !keep {
                    removed.push(entry.owner.clone());
                }
                keep
            });
        }
        for owner in removed {
            self.emit_removed(&owner);
        }
        Ok(())
    }

    fn emit_removed(&self, owner: &GroupOwner) {
        self.emit(PodChange::Removed {
            cluster_id: owner.cluster_id.clone(),
            node_name: owner.node_name.clone(),
            pod: v1::PodRemoved {
                uid: owner.uid.clone(),
                namespace: owner.namespace.clone(),
                name: owner.pod_name.clone(),
            },
        });
    }

    /// Records a group as read (GET or PUT answer) and pushes its state when it changed.
    pub fn apply(&self, group: &ContainerGroup) -> Option<v1::PodState> {
        let name = group.name.clone()?;
        let owner = GroupOwner::from_tags(&group.tags)?;
        let state = match pod_state(group) {
            Ok(mut state) => {
                if let (Some(base), Some(pod)) = (self.notes.as_ref(), state.pod.as_ref()) {
                    let mut notes = ignored_settings(pod, base, &owner);
                    notes.append(&mut state.events);
                    state.events = notes;
                }
                state
            }
            Err(e) => {
                tracing::warn!(group = %name, error = %e, "cannot read a group as a pod");
                return None;
            }
        };
        let now = Instant::now();
        let next = if settled(&state) { self.pace.settled } else { self.pace.unsettled };
        let changed = {
            let mut cache = self.cache();
            let entry = cache.entries.entry(name.clone()).or_insert_with(|| Entry {
                name: name.clone(),
                owner: owner.clone(),
                state: None,
                fingerprint: fingerprint(group),
                next_read: now,
            });
            entry.owner = owner.clone();
            entry.next_read = now + next;
            let changed = entry.state.as_deref() != Some(&state);
            entry.state = Some(Box::new(state.clone()));
            changed
        };
        if changed {
            self.emit(PodChange::Changed {
                cluster_id: owner.cluster_id,
                node_name: owner.node_name,
                state: Box::new(state.clone()),
            });
        }
        Some(state)
    }

    /// Forgets a group that is gone and tells the watchers.
    pub fn forget(&self, name: &str) {
        let entry = self.cache().entries.remove(name);
        if let Some(entry) = entry {
            self.emit_removed(&entry.owner);
        }
    }

    /// Marks a group as being deleted and reads it again soon.
    pub fn mark_deleting(&self, name: &str) {
        let update = {
            let mut cache = self.cache();
            cache.entries.get_mut(name).and_then(|e| {
                e.next_read = Instant::now() + self.pace.unsettled;
                let state = e.state.as_mut()?;
                state.deleting = true;
                Some((e.owner.clone(), state.clone()))
            })
        };
        if let Some((owner, state)) = update {
            self.emit(PodChange::Changed { cluster_id: owner.cluster_id, node_name: owner.node_name, state });
        }
    }

    /// GETs one group now; forgets it when it is gone.
    pub async fn read(&self, name: &str) -> Result<Option<v1::PodState>, ArmError> {
        match self.arm.get_group(name).await? {
            Some(group) => Ok(self.apply(&group)),
            None => {
                self.forget(name);
                Ok(None)
            }
        }
    }

    /// GETs every group whose turn has come, urgent ones first; returns how many were read.
    pub async fn read_due(&self) -> usize {
        self.read_due_until(None).await
    }

    /// Like [`Engine::read_due`], but stops starting reads once `until` has passed.
    async fn read_due_until(&self, until: Option<Instant>) -> usize {
        let due = self.cache().due(Instant::now());
        let mut read = 0;
        for name in &due {
            if until.is_some_and(|until| Instant::now() >= until) {
                break;
            }
            read += 1;
            if let Err(e) = self.read(name).await {
                tracing::warn!(group = %name, error = %e, "reading a container group failed");
                if let Some(entry) = self.cache().entries.get_mut(name) {
                    entry.next_read = Instant::now() + self.pace.unsettled;
                }
            }
        }
        read
    }

    /// Name, owner and last state of a pod of a scope.
    pub fn find(&self, cluster_id: &str, node_name: &str, uid: &str) -> Option<Entry> {
        self.cache().find(cluster_id, node_name, uid).cloned()
    }

    /// The states of a scope's pods, ordered by UID (pods not read yet are left out).
    pub fn list(&self, cluster_id: &str, node_name: &str) -> Vec<v1::PodState> {
        self.cache()
            .of_scope(cluster_id, node_name)
            .into_iter()
            .filter_map(|e| e.state.as_deref().cloned())
            .collect()
    }

    /// The running pods of a scope: group name and state (metadata and status only), ordered by
    /// UID.
    pub fn running(&self, cluster_id: &str, node_name: &str) -> Vec<(String, v1::PodState)> {
        let running = v1::PodPhase::Running as i32;
        self.cache()
            .of_scope(cluster_id, node_name)
            .into_iter()
            .filter_map(|e| e.state.as_ref().map(|s| (e, s)))
            .filter(|(_, s)| !s.deleting && s.status.as_ref().is_some_and(|st| st.phase == running))
            .map(|(e, s)| {
                // Without the spec: callers read names and status only.
                let pod = s.pod.as_ref().map(|p| v1::Pod { meta: p.meta.clone(), ..Default::default() });
                (e.name.clone(), v1::PodState { pod, status: s.status.clone(), ..Default::default() })
            })
            .collect()
    }

    /// A scope's snapshot and the changes after it (changes may repeat snapshot entries).
    pub fn subscribe(
        &self,
        cluster_id: &str,
        node_name: &str,
    ) -> (Vec<v1::PodState>, broadcast::Receiver<PodChange>) {
        let receiver = self.changes.subscribe();
        (self.list(cluster_id, node_name), receiver)
    }

    /// One full pass: list, then read everything due (used at start-up and by [`Engine::run`]).
    pub async fn sync_once(&self) -> Result<(), ArmError> {
        self.refresh_list().await?;
        self.read_due().await;
        Ok(())
    }

    /// Runs until the process ends: lists every `pace.list` and, at the same time, reads
    /// whatever is due. The two loops share only the ARM budget, so a long list (thousands of
    /// groups, many pages) never holds back a starting pod's read, and a read backlog never
    /// delays the list.
    pub async fn run(self: Arc<Self>) {
        tokio::join!(self.list_loop(), self.read_loop());
    }

    async fn list_loop(&self) {
        // Start to start, so the pages of a long list do not stretch the interval.
        let mut every = tokio::time::interval(self.pace.list);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if let Err(e) = self.refresh_list().await {
                tracing::warn!(error = %e, "listing container groups failed");
            }
        }
    }

    async fn read_loop(&self) {
        loop {
            // Re-sort the due groups at least every second, so urgent ones never wait behind a
            // long round of steady ones.
            let until = Instant::now() + std::time::Duration::from_secs(1);
            self.read_due_until(Some(until)).await;
            // Finished before the deadline: nothing else is due, so pause; otherwise go on.
            if Instant::now() < until {
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            }
        }
    }
}
