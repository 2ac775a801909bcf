//! WatchPods: the scope's snapshot, `snapshot_complete`, then its changes, with bookmarks
//! while nothing happens.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;
use vk_proto::Scope;
use vk_proto::v1::watch_pods_response::Event;
use vk_proto::v1::{Bookmark, SnapshotComplete, WatchPodsResponse};

use super::lifecycle::now;
use super::store::{Change, Store};

/// The stream of one WatchPods call.
pub fn stream(
    store: Arc<Store>,
    scope: Scope,
    bookmark_interval: Duration,
) -> ReceiverStream<Result<WatchPodsResponse, Status>> {
    let (tx, rx) = mpsc::channel(64);
    // Snapshot and subscription under one lock, so no change falls between them.
    let (snapshot, mut changes) = {
        let state = store.lock();
        let pods: Vec<_> = state
            .scopes
            .get(&scope)
            .map(|pods| pods.values().map(|record| record.state(&scope)).collect())
            .unwrap_or_default();
        (pods, store.subscribe())
    };
    let skip_snapshot = store.config.faults.watch_without_snapshot;
    tokio::spawn(async move {
        let mut sequence = 0u64;
        let mut next = |event| {
            sequence += 1;
            Ok(WatchPodsResponse { sequence, event: Some(event) })
        };
        if !skip_snapshot {
            let count = u32::try_from(snapshot.len()).unwrap_or(u32::MAX);
            for pod in snapshot {
                if tx.send(next(Event::Initial(pod))).await.is_err() {
                    return;
                }
            }
            if tx.send(next(Event::SnapshotComplete(SnapshotComplete { pod_count: count }))).await.is_err() {
                return;
            }
        }
        let mut quiet_until = tokio::time::Instant::now() + bookmark_interval;
        loop {
            let event = tokio::select! {
                change = changes.recv() => match change {
                    Ok(Change::Changed(of, state)) if of == scope => Event::Changed(*state),
                    Ok(Change::Removed(of, removed)) if of == scope => Event::Removed(removed),
                    Ok(_) => continue,
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        let _ = tx.send(Err(Status::unavailable("the watch fell behind; reconnect to resync"))).await;
                        return;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                () = tokio::time::sleep_until(quiet_until) => Event::Bookmark(Bookmark { time: Some(now()) }),
                () = tx.closed() => return,
            };
            if tx.send(next(event)).await.is_err() {
                return;
            }
            quiet_until = tokio::time::Instant::now() + bookmark_interval;
        }
    });
    ReceiverStream::new(rx)
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::*;
    use crate::reference::ReferenceConfig;

    #[tokio::test(start_paused = true)]
    async fn a_quiet_watch_gets_a_bookmark_after_the_interval_and_not_before() {
        let store = Store::new(ReferenceConfig::default());
        let mut watch = stream(store.clone(), Scope::new("c", "n"), Duration::from_secs(30));
        let first = watch.next().await.expect("a message").expect("ok");
        assert!(matches!(first.event, Some(Event::SnapshotComplete(SnapshotComplete { pod_count: 0 }))));
        assert_eq!(first.sequence, 1);
        assert!(
            tokio::time::timeout(Duration::from_secs(29), watch.next()).await.is_err(),
            "no bookmark before 30s"
        );
        let bookmark =
            tokio::time::timeout(Duration::from_secs(2), watch.next()).await.expect("a bookmark at 30s");
        let bookmark = bookmark.expect("a message").expect("ok");
        assert!(matches!(bookmark.event, Some(Event::Bookmark(_))));
        assert_eq!(bookmark.sequence, 2);
    }
}
