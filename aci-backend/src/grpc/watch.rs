//! WatchPods: the scope's snapshot, then its changes, with bookmarks while quiet.

use std::pin::Pin;
use std::time::Duration;

use futures::Stream;
use tokio::sync::broadcast::error::RecvError;
use tonic::Status;
use vk_proto::v1;
use vk_proto::v1::watch_pods_response::Event;

use crate::engine::{Engine, PodChange};
use crate::pods::CallScope;

/// The stream type of WatchPods.
pub type WatchStream = Pin<Box<dyn Stream<Item = Result<v1::WatchPodsResponse, Status>> + Send>>;

fn now() -> prost_types::Timestamp {
    let t = chrono::Utc::now();
    prost_types::Timestamp { seconds: t.timestamp(), nanos: t.timestamp_subsec_nanos() as i32 }
}

/// The stream of one watcher.
pub fn watch(engine: &Engine, scope: CallScope, bookmark_every: Duration) -> WatchStream {
    let (snapshot, mut changes) = engine.subscribe(&scope.cluster_id, &scope.node_name);
    Box::pin(async_stream::stream! {
        let mut sequence = 0u64;
        let mut next = |event: Event| {
            sequence += 1;
            v1::WatchPodsResponse { sequence, event: Some(event) }
        };
        let count = snapshot.len() as u32;
        for state in snapshot {
            yield Ok(next(Event::Initial(state)));
        }
        yield Ok(next(Event::SnapshotComplete(v1::SnapshotComplete { pod_count: count })));
        loop {
            match tokio::time::timeout(bookmark_every, changes.recv()).await {
                Err(_) => yield Ok(next(Event::Bookmark(v1::Bookmark { time: Some(now()) }))),
                Ok(Ok(change)) if change.is_for(&scope.cluster_id, &scope.node_name) => match change {
                    PodChange::Changed { state, .. } => yield Ok(next(Event::Changed(*state))),
                    PodChange::Removed { pod, .. } => yield Ok(next(Event::Removed(pod))),
                },
                Ok(Ok(_)) => {}
                Ok(Err(RecvError::Lagged(missed))) => {
                    yield Err(Status::unavailable(format!("this watcher fell {missed} changes behind; reconnect to resync")));
                    break;
                }
                Ok(Err(RecvError::Closed)) => break,
            }
        }
    })
}
