//! WatchPods: snapshot, snapshot_complete, changes, bookmarks, resync after reconnect.

use std::time::Duration;

use tonic::Streaming;
use vk_proto::v1::watch_pods_response::Event;
use vk_proto::v1::{self as pb, WatchPodsResponse};

use crate::conformance::context::{CaseError, CaseResult, Context, Expect, broken, ensure};
use crate::conformance::fixtures;
use crate::connect::Client;

/// Reads one watch stream, checking sequence numbers as it goes.
struct Watch {
    stream: Streaming<WatchPodsResponse>,
    last_sequence: u64,
    rule: &'static str,
}

impl Watch {
    async fn open(client: &mut Client, bookmark_seconds: u32, rule: &'static str) -> Result<Self, CaseError> {
        let stream = client
            .watch_pods(pb::WatchPodsRequest { bookmark_interval_seconds: bookmark_seconds })
            .await
            .under(rule)?;
        Ok(Self { stream, last_sequence: 0, rule })
    }

    async fn next(&mut self, within: Duration) -> Result<Event, CaseError> {
        let message = tokio::time::timeout(within, self.stream.message())
            .await
            .map_err(|_| broken(self.rule, format!("no WatchPods message within {within:?}")))?
            .map_err(|status| broken(self.rule, format!("the stream failed: {status}")))?
            .ok_or_else(|| broken(self.rule, "the stream ended"))?;
        ensure(message.sequence > self.last_sequence, self.rule, || {
            format!("sequence {} after {} is not strictly increasing", message.sequence, self.last_sequence)
        })?;
        self.last_sequence = message.sequence;
        message.event.ok_or_else(|| broken(self.rule, "a message without an event"))
    }

    /// Reads the snapshot up to snapshot_complete; returns the UIDs of its `initial` pods.
    async fn snapshot(&mut self, within: Duration) -> Result<Vec<String>, CaseError> {
        let mut uids = Vec::new();
        loop {
            match self.next(within).await? {
                Event::Initial(state) => uids.push(uid_of(&state)),
                Event::SnapshotComplete(complete) => {
                    ensure(complete.pod_count as usize == uids.len(), self.rule, || {
                        format!(
                            "snapshot_complete says {} pods after {} initial messages",
                            complete.pod_count,
                            uids.len()
                        )
                    })?;
                    return Ok(uids);
                }
                other => {
                    return Err(broken(self.rule, format!("{} before snapshot_complete", kind(&other))));
                }
            }
        }
    }

    /// Reads until `wanted` matches, failing on a second snapshot_complete or initial.
    async fn until(&mut self, within: Duration, what: &str, wanted: impl Fn(&Event) -> bool) -> CaseResult {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let event = self.next(left).await.map_err(|e| match e {
                CaseError::Broken { rule, detail } => broken(rule, format!("waiting for {what}: {detail}")),
                skipped => skipped,
            })?;
            if matches!(event, Event::Initial(_) | Event::SnapshotComplete(_)) {
                return Err(broken(self.rule, format!("{} after the snapshot was complete", kind(&event))));
            }
            if wanted(&event) {
                return Ok(());
            }
        }
    }
}

fn uid_of(state: &pb::PodState) -> String {
    state.pod.as_ref().and_then(|p| p.meta.as_ref()).map(|m| m.uid.clone()).unwrap_or_default()
}

fn kind(event: &Event) -> &'static str {
    match event {
        Event::Initial(_) => "initial",
        Event::SnapshotComplete(_) => "snapshot_complete",
        Event::Changed(_) => "changed",
        Event::Removed(_) => "removed",
        Event::Bookmark(_) => "bookmark",
    }
}

pub async fn watch_snapshot_then_changes(context: &Context) -> CaseResult {
    const RULE: &str = "WatchPods sends the scope's snapshot, exactly one snapshot_complete, then changed/removed per change";
    let scope = context.scope("watch");
    let mut client = context.client(&scope)?;
    let before = context.uid("watched");
    context.create(&mut client, &scope, fixtures::sleeper(&before, "watched"), RULE).await?;
    let timeout = context.settings.timeout;
    let mut watch = Watch::open(&mut client, 1, RULE).await?;
    let snapshot = watch.snapshot(timeout).await?;
    ensure(snapshot.contains(&before), RULE, || {
        format!("the snapshot {snapshot:?} lacks the existing pod {before}")
    })?;
    let after = context.uid("added");
    context.create(&mut client, &scope, fixtures::sleeper(&after, "added"), RULE).await?;
    watch
        .until(
            timeout,
            "`changed` for a created pod",
            |e| matches!(e, Event::Changed(s) if uid_of(s) == after),
        )
        .await?;
    client
        .delete_pod(pb::DeletePodRequest { uid: after.clone(), grace_period_seconds: Some(0) })
        .await
        .under(RULE)?;
    watch
        .until(timeout, "`removed` for a deleted pod", |e| matches!(e, Event::Removed(r) if r.uid == after))
        .await
}

pub async fn watch_resyncs_after_reconnect(context: &Context) -> CaseResult {
    const RULE: &str = "after a reconnect, WatchPods' new snapshot reflects what changed meanwhile";
    let scope = context.scope("resync");
    let mut client = context.client(&scope)?;
    let timeout = context.settings.timeout;
    let gone = context.uid("gone");
    context.create(&mut client, &scope, fixtures::sleeper(&gone, "gone"), RULE).await?;
    let mut first = Watch::open(&mut client, 1, RULE).await?;
    let snapshot = first.snapshot(timeout).await?;
    ensure(snapshot.contains(&gone), RULE, || format!("the first snapshot {snapshot:?} lacks {gone}"))?;
    drop(first);
    client
        .delete_pod(pb::DeletePodRequest { uid: gone.clone(), grace_period_seconds: Some(0) })
        .await
        .under(RULE)?;
    let new = context.uid("new");
    context.create(&mut client, &scope, fixtures::sleeper(&new, "new"), RULE).await?;
    context
        .eventually(RULE, "the deleted pod leaving the snapshot", || {
            let mut client = client.clone();
            let (gone, new) = (gone.clone(), new.clone());
            async move {
                let mut watch = Watch::open(&mut client, 1, RULE).await?;
                let snapshot = watch.snapshot(timeout).await?;
                ensure(snapshot.contains(&new), RULE, || {
                    format!("the new snapshot {snapshot:?} lacks {new}")
                })?;
                Ok((!snapshot.contains(&gone)).then_some(()))
            }
        })
        .await
}

pub async fn watch_bookmarks(context: &Context) -> CaseResult {
    const RULE: &str =
        "WatchPods sends a bookmark at least every bookmark_interval_seconds while nothing changes";
    let scope = context.scope("quiet");
    let mut client = context.client(&scope)?;
    let mut watch = Watch::open(&mut client, 1, RULE).await?;
    let snapshot = watch.snapshot(context.settings.timeout).await?;
    ensure(snapshot.is_empty(), RULE, || format!("an empty scope's snapshot holds {snapshot:?}"))?;
    watch
        .until(Duration::from_secs(5), "a bookmark in an empty scope", |e| matches!(e, Event::Bookmark(_)))
        .await
}
