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

fn uid_of(state: &PodState) -> Option<String> {
    state.pod.as_ref().and_then(|p| p.meta.as_ref()).map(|m| m.uid.clone()).filter(|u| !u.is_empty())
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
    let mut snapshot: HashMap<String, PodState> = HashMap::new();
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
                    snapshot.insert(uid, state);
                }
            }
            Some(Event::SnapshotComplete(done)) => {
                {
                    let mut views = shared.views();
                    views.backend = std::mem::take(&mut snapshot);
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
