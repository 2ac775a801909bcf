//! A work queue of pod UIDs: each UID is worked on by at most one worker at a time; a UID
//! added while it is being worked on is worked on again afterwards; a UID waiting in the
//! queue is there once however often it is added.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;

#[derive(Default)]
struct State {
    queue: VecDeque<String>,
    queued: HashSet<String>,
    active: HashSet<String>,
    dirty: HashSet<String>,
    closed: bool,
}

/// The queue. Share it in an `Arc`.
#[derive(Default)]
pub struct WorkQueue {
    state: Mutex<State>,
    notify: Notify,
}

impl WorkQueue {
    fn state(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means a worker panicked mid-update; the sets stay usable.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Asks for `uid` to be worked on.
    pub fn add(&self, uid: &str) {
        let mut state = self.state();
        if state.active.contains(uid) {
            state.dirty.insert(uid.to_owned());
        } else if state.queued.insert(uid.to_owned()) {
            state.queue.push_back(uid.to_owned());
            drop(state);
            self.notify.notify_waiters();
        }
    }

    /// Adds `uid` after `delay` (retries with backoff).
    pub fn add_after(self: &Arc<Self>, uid: &str, delay: Duration) {
        let queue = Arc::clone(self);
        let uid = uid.to_owned();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            queue.add(&uid);
        });
    }

    /// The next UID to work on, marked active; `None` once closed.
    pub async fn next(&self) -> Option<String> {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut state = self.state();
                if state.closed {
                    return None;
                }
                if let Some(uid) = state.queue.pop_front() {
                    state.queued.remove(&uid);
                    state.active.insert(uid.clone());
                    return Some(uid);
                }
            }
            notified.await;
        }
    }

    /// Marks the work on `uid` finished; requeues it when it was added meanwhile.
    pub fn done(&self, uid: &str) {
        let mut state = self.state();
        state.active.remove(uid);
        if state.dirty.remove(uid) && state.queued.insert(uid.to_owned()) {
            state.queue.push_back(uid.to_owned());
            drop(state);
            self.notify.notify_waiters();
        }
    }

    /// Stops handing out work.
    pub fn close(&self) {
        self.state().closed = true;
        self.notify.notify_waiters();
    }

    /// Number of UIDs waiting.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.state().queue.len()
    }

    /// True when nothing waits.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn a_uid_is_queued_once_and_requeued_when_added_while_active() {
        let queue = WorkQueue::default();
        queue.add("a");
        queue.add("a");
        queue.add("b");
        assert_eq!(queue.len(), 2);
        let first = queue.next().await.expect("open");
        assert_eq!(first, "a");
        queue.add("a");
        assert_eq!(queue.len(), 1, "an active uid is not queued twice");
        assert_eq!(queue.next().await.as_deref(), Some("b"));
        queue.done("a");
        assert_eq!(queue.next().await.as_deref(), Some("a"), "added while active, so worked on again");
        queue.close();
        assert_eq!(queue.next().await, None);
    }

    #[tokio::test(start_paused = true)]
    async fn workers_never_overlap_on_one_uid_and_respect_the_bound() {
        let queue = Arc::new(WorkQueue::default());
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let per_uid = Arc::new(Mutex::new(HashSet::new()));
        let mut workers = Vec::new();
        for _ in 0..3 {
            let (queue, running, peak, per_uid) =
                (queue.clone(), running.clone(), peak.clone(), per_uid.clone());
            workers.push(tokio::spawn(async move {
                while let Some(uid) = queue.next().await {
                    assert!(per_uid.lock().expect("lock").insert(uid.clone()), "two workers on {uid}");
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    running.fetch_sub(1, Ordering::SeqCst);
                    per_uid.lock().expect("lock").remove(&uid);
                    queue.done(&uid);
                }
            }));
        }
        for round in 0..20 {
            queue.add(&format!("pod-{}", round % 5));
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        queue.close();
        for worker in workers {
            worker.await.expect("worker finished");
        }
        assert_eq!(peak.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn add_after_waits_for_the_delay() {
        let queue = Arc::new(WorkQueue::default());
        queue.add_after("late", Duration::from_secs(5));
        tokio::time::sleep(Duration::from_secs(4)).await;
        assert!(queue.is_empty());
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(queue.len(), 1);
    }
}
