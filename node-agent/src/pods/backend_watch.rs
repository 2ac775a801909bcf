//! The backend's WatchPods stream: snapshot, then changes. A lost stream (error, end, or
//! three bookmark intervals of silence) marks the backend view stale until the next
//! snapshot, which then requeues every pod (reconcile on reconnect).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::{info, warn};
use vk_proto::v1::PodState;
use vk_proto::v1::watch_pods_response::Event;

use super::controller::Shared;
use super::relist::Relist;

fn uid_of(state: &PodState) -> Option<String> {
    state.pod.as_ref().and_then(|p| p.meta.as_ref()).map(|m| m.uid.clone()).filter(|u| !u.is_empty())
}

/// The backend's state as kept in memory: without the resolved pod spec, which nothing here
/// reads once sent (the spec hash tells a change) and which carries resolved secrets, file
/// contents and the service account token; lists without spare room.
fn kept(mut state: PodState) -> PodState {
    if let Some(pod) = state.pod.as_mut() {
        pod.spec = None;
    }
    // Decoding grows lists by doubling; keep no spare room.
    state.events.shrink_to_fit();
    if let Some(status) = state.status.as_mut() {
        status.conditions.shrink_to_fit();
        status.container_statuses.shrink_to_fit();
        status.init_container_statuses.shrink_to_fit();
    }
    state
}

/// The backend's pod states by UID. Every insert goes through [`kept`], so no state keeps a spec.
/// Boxed: a `PodState` is about 1 KB inline, and the table keeps a third of its slots empty
/// (twice that while it grows).
#[derive(Debug, Default)]
pub(crate) struct BackendStates(HashMap<String, Box<PodState>>);

impl BackendStates {
    /// Keeps `state` (without its spec) as the backend's state of `uid`.
    pub fn insert(&mut self, uid: String, state: PodState) {
        self.0.insert(uid, Box::new(kept(state)));
    }

    /// Forgets the state of `uid`.
    pub fn remove(&mut self, uid: &str) -> Option<PodState> {
        self.0.remove(uid).map(|state| *state)
    }

    /// The state of `uid`.
    pub fn get(&self, uid: &str) -> Option<&PodState> {
        self.0.get(uid).map(|state| &**state)
    }

    /// Keeps only the states of the UIDs `snapshot` delivered.
    pub fn retain_listed(&mut self, snapshot: &Relist) {
        self.0.retain(|uid, _| snapshot.keeps(uid));
    }

    /// True when the backend has a state for `uid`.
    pub fn contains_key(&self, uid: &str) -> bool {
        self.0.contains_key(uid)
    }

    /// Every UID with a state.
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.keys()
    }
}

/// Follows WatchPods until `shutdown`, reconnecting with backoff.
pub(crate) async fn run(shared: Arc<Shared>, shutdown: CancellationToken) {
    let mut backoff = Duration::from_millis(500);
    let interval = shared.settings.bookmark_interval;
    let silence = interval * 3;
    loop {
        let outcome = tokio::select! {
            () = shutdown.cancelled() => return,
            outcome = follow(&shared, interval, silence, &mut backoff) => outcome,
        };
        shared.views().backend_synced = false;
        warn!(reason = %outcome, "the backend's pod stream was lost; reconnecting");
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(10));
    }
}

/// Reads one stream until it fails; returns why it ended.
async fn follow(shared: &Shared, interval: Duration, silence: Duration, backoff: &mut Duration) -> String {
    let seconds = u32::try_from(interval.as_secs().max(1)).unwrap_or(30);
    let mut stream = match shared.backend.watch_pods(seconds).await {
        Ok(stream) => stream,
        Err(error) => return error.to_string(),
    };
    // The snapshot is written into the view as it arrives (the view counts as stale until it
    // is complete), so the states are never held twice.
    let mut snapshot = Relist::default();
    loop {
        let message = match tokio::time::timeout(silence, stream.message()).await {
            Err(_) => return format!("no message for {silence:?}"),
            Ok(Err(status)) => return format!("{} ({:?})", status.message(), status.code()),
            Ok(Ok(None)) => return "the server closed the stream".to_owned(),
            Ok(Ok(Some(message))) => message,
        };
        match message.event {
            Some(Event::Initial(state)) => {
                if let Some(uid) = uid_of(&state) {
                    snapshot.saw(&uid);
                    shared.views().backend.insert(uid, state);
                }
            }
            Some(Event::SnapshotComplete(done)) => {
                {
                    let mut views = shared.views();
                    views.backend.retain_listed(&std::mem::take(&mut snapshot));
                    views.backend_synced = true;
                }
                info!(pods = done.pod_count, "received the backend's pod snapshot");
                *backoff = Duration::from_millis(500);
                shared.queue_all();
            }
            Some(Event::Changed(state)) => {
                if let Some(uid) = uid_of(&state) {
                    shared.views().backend.insert(uid.clone(), state);
                    shared.queue.add(&uid);
                }
            }
            Some(Event::Removed(removed)) => {
                shared.views().backend.remove(&removed.uid);
                shared.queue.add(&removed.uid);
            }
            Some(Event::Bookmark(_)) | None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use vk_proto::v1::{Pod, PodMeta, PodSpec};

    use super::*;

    #[test]
    fn a_stored_state_has_no_spec_and_keeps_the_uid_and_hash() {
        let state = PodState {
            pod: Some(Pod {
                meta: Some(PodMeta { uid: "u".into(), ..Default::default() }),
                spec: Some(PodSpec::default()),
                spec_hash: "h".into(),
            }),
            deleting: true,
            events: {
                let mut roomy = Vec::with_capacity(8);
                roomy.push(vk_proto::v1::ProviderEvent::default());
                roomy
            },
            ..Default::default()
        };
        let mut states = BackendStates::default();
        states.insert("u".into(), state);
        let kept = states.get("u").expect("kept");
        assert_eq!(uid_of(kept).as_deref(), Some("u"));
        let pod = kept.pod.as_ref().expect("pod");
        assert_eq!((pod.spec.is_none(), pod.spec_hash.as_str(), kept.deleting), (true, "h", true));
        assert_eq!((kept.events.len(), kept.events.capacity()), (1, 1), "lists keep no spare room");
    }
}
