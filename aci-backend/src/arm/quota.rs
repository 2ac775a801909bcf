//! ACI's create and delete quotas (by default 100 per 5 minutes and 300 per hour each): the
//! slots taken are remembered per window, and a call that finds no slot free is told when one
//! frees up. Calls refused that way wait in a line, so slots go in the order pods first asked
//! for one, and each is told how many wait ahead of it and when its own turn comes; a pod then
//! asks again once, at its turn, instead of every pod at every freed slot.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

/// A quota window: at most `limit` operations in any `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Operations allowed.
    pub limit: usize,
    /// Window length.
    pub period: Duration,
}

/// Windows per quota at most (ACI has two: 5 minutes and an hour).
const MAX_WINDOWS: usize = 4;

/// How long a place in the line is kept after its turn came without the pod asking again
/// (the pod went away, or its caller is busy): after that, those behind move up.
const KEPT_AFTER_TURN: Duration = Duration::from_secs(5);

/// The answer to "may this pod take a slot now?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// Yes: a slot is free for it (taken by the call itself).
    Go,
    /// Not yet: `ahead` pods wait before it, and its turn comes `after` from now.
    Wait {
        /// Pods ahead of this one in the line.
        ahead: usize,
        /// When to ask again.
        after: Duration,
        /// The quota (not the other limits) sets the time.
        by_quota: bool,
    },
}

#[derive(Debug)]
struct Place {
    key: String,
    /// When this pod's turn comes (as last told).
    due: Instant,
}

/// The slots taken within the longest window, and the line of pods waiting for one.
#[derive(Debug)]
pub(crate) struct QuotaWindows {
    windows: Vec<Window>,
    /// When each slot was taken, oldest first.
    history: VecDeque<Instant>,
    line: VecDeque<Place>,
    /// Scratch space of [`QuotaWindows::slot`].
    imagined: Vec<Instant>,
}

impl QuotaWindows {
    pub fn new(windows: Vec<Window>) -> Self {
        let windows = windows.into_iter().take(MAX_WINDOWS).collect();
        QuotaWindows { windows, history: VecDeque::new(), line: VecDeque::new(), imagined: Vec::new() }
    }

    fn longest(&self) -> Duration {
        self.windows.iter().map(|w| w.period).max().unwrap_or(Duration::ZERO)
    }

    fn forget_old(&mut self, now: Instant) {
        let longest = self.longest();
        while self.history.front().is_some_and(|t| now.saturating_duration_since(*t) >= longest) {
            self.history.pop_front();
        }
    }

    /// Takes a slot, or says when one frees up.
    pub fn take(&mut self, now: Instant) -> Result<(), Duration> {
        self.forget_old(now);
        let wait = self.slot(now, 0);
        if !wait.is_zero() {
            return Err(wait);
        }
        self.history.push_back(now);
        Ok(())
    }

    /// Gives back the slot taken at `at`.
    pub fn give_back(&mut self, at: Instant) {
        if let Some(index) = self.history.iter().rposition(|t| *t == at) {
            self.history.remove(index);
        }
    }

    /// How long from `now` until the slot at `index` (0: the next one) is free, if the slots
    /// before it were taken one after another as soon as each freed up. Each window keeps the
    /// index of its oldest slot still inside it, so this is linear in `index` plus the
    /// history; the slots imagined on the way go into a buffer kept between calls (a line of
    /// thousands asks often, and fresh buffers each time fragment the allocator's arenas).
    fn slot(&mut self, now: Instant, index: usize) -> Duration {
        if self.windows.iter().any(|w| w.limit == 0) {
            // A window that allows nothing: no slot ever frees; say so one period at a time.
            return self.longest().max(Duration::from_secs(1));
        }
        let QuotaWindows { windows, history, imagined, .. } = self;
        imagined.clear();
        let taken = |imagined: &[Instant], m: usize| match history.get(m) {
            Some(t) => *t,
            None => imagined[m - history.len()],
        };
        let mut first_inside = [0usize; MAX_WINDOWS];
        let mut at = now;
        loop {
            let total = history.len() + imagined.len();
            let mut wait = Duration::ZERO;
            for (w, start) in windows.iter().zip(first_inside.iter_mut()) {
                while *start < total && at.saturating_duration_since(taken(imagined, *start)) >= w.period {
                    *start += 1;
                }
                if total - *start >= w.limit {
                    let oldest_needed = taken(imagined, total - w.limit);
                    wait = wait.max(w.period.saturating_sub(at.saturating_duration_since(oldest_needed)));
                }
            }
            if !wait.is_zero() {
                at += wait;
            } else if imagined.len() == index {
                return at.saturating_duration_since(now);
            } else {
                imagined.push(at);
            }
        }
    }

    /// Whether `key` may take a slot now; if not, its place in the line and when its turn
    /// comes. Pods whose turn passed more than [`KEPT_AFTER_TURN`] ago without asking again
    /// lose their place. `also` says how long the pod at a given place must wait for the other
    /// limits its call spends (ARM's write bucket); the later of the two is its turn.
    pub fn turn(&mut self, key: &str, now: Instant, also: impl Fn(usize) -> Duration) -> Turn {
        self.forget_old(now);
        self.line
            .retain(|place| place.key == key || now.saturating_duration_since(place.due) <= KEPT_AFTER_TURN);
        let position = match self.line.iter().position(|place| place.key == key) {
            Some(position) => position,
            None => {
                self.line.push_back(Place { key: key.to_owned(), due: now });
                self.line.len() - 1
            }
        };
        let slot = self.slot(now, position);
        let after = slot.max(also(position));
        if after.is_zero() {
            self.line.remove(position);
            return Turn::Go;
        }
        if let Some(place) = self.line.get_mut(position) {
            place.due = now + after;
        }
        Turn::Wait { ahead: position, after, by_quota: slot >= after }
    }

    /// Pods waiting in the line.
    #[cfg(test)]
    fn waiting(&self) -> usize {
        self.line.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn five_per_minute() -> QuotaWindows {
        QuotaWindows::new(vec![Window { limit: 5, period: Duration::from_secs(60) }])
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn none(_: usize) -> Duration {
        Duration::ZERO
    }

    #[test]
    fn the_next_slots_follow_the_tightest_of_several_windows() {
        let mut quota = QuotaWindows::new(vec![
            Window { limit: 2, period: secs(10) },
            Window { limit: 3, period: secs(100) },
        ]);
        let start = Instant::now();
        let slots = |quota: &mut QuotaWindows, at: Instant, n: usize| -> Vec<Duration> {
            (0..n).map(|i| quota.slot(at, i)).collect()
        };
        assert_eq!(slots(&mut quota, start, 4), vec![secs(0), secs(0), secs(10), secs(100)]);
        quota.take(start).expect("first");
        assert_eq!(slots(&mut quota, start + secs(1), 3), vec![secs(0), secs(9), secs(99)]);
    }

    #[test]
    fn a_full_window_refuses_with_the_time_its_oldest_slot_frees() {
        let mut quota = five_per_minute();
        let start = Instant::now();
        for i in 0..5 {
            quota.take(start + secs(i)).expect("room");
        }
        assert_eq!(quota.take(start + secs(10)), Err(secs(50)));
        assert_eq!(quota.take(start + secs(60)), Ok(()));
    }

    #[test]
    fn pods_get_slots_in_the_order_they_first_asked_each_told_its_own_turn() {
        let mut quota = five_per_minute();
        let start = Instant::now();
        for i in 0..5 {
            quota.take(start + secs(i)).expect("room");
        }
        let now = start + secs(10);
        assert_eq!(quota.turn("a", now, none), Turn::Wait { ahead: 0, after: secs(50), by_quota: true });
        assert_eq!(quota.turn("b", now, none), Turn::Wait { ahead: 1, after: secs(51), by_quota: true });
        assert_eq!(quota.turn("c", now, none), Turn::Wait { ahead: 2, after: secs(52), by_quota: true });
        // b comes back early: still behind a.
        assert_eq!(
            quota.turn("b", start + secs(59), none),
            Turn::Wait { ahead: 1, after: secs(2), by_quota: true }
        );
        // At a's turn a slot is free; b, asking at the same moment, still waits for the next.
        let at_a = start + secs(60);
        assert_eq!(quota.turn("b", at_a, none), Turn::Wait { ahead: 1, after: secs(1), by_quota: true });
        assert_eq!(quota.turn("a", at_a, none), Turn::Go);
        quota.take(at_a).expect("a's slot");
        assert_eq!(quota.turn("b", start + secs(61), none), Turn::Go);
        assert_eq!(quota.waiting(), 1);
    }

    #[test]
    fn several_free_slots_let_several_pods_go_without_waiting_for_the_head() {
        let mut quota = five_per_minute();
        let start = Instant::now();
        for i in 0..5 {
            quota.take(start + secs(i)).expect("room");
        }
        assert!(matches!(quota.turn("a", start + secs(10), none), Turn::Wait { .. }));
        // Two slots are free at 61 s: the head has not come back, the second one may go.
        assert_eq!(quota.turn("b", start + secs(61), none), Turn::Go);
        assert_eq!(quota.turn("a", start + secs(62), none), Turn::Go);
    }

    #[test]
    fn a_pod_that_does_not_come_back_loses_its_place() {
        let mut quota = five_per_minute();
        let start = Instant::now();
        for _ in 0..5 {
            quota.take(start).expect("room");
        }
        assert!(matches!(quota.turn("gone", start + secs(1), none), Turn::Wait { ahead: 0, .. }));
        assert!(matches!(quota.turn("b", start + secs(1), none), Turn::Wait { ahead: 1, .. }));
        // Its turn came at 60 s and it never asked again.
        let late = start + secs(60) + KEPT_AFTER_TURN + secs(1);
        quota.take(late).expect("someone else took the freed slots meanwhile");
        for _ in 0..3 {
            quota.take(late).expect("room");
        }
        assert_eq!(quota.turn("b", late, none), Turn::Go);
        assert_eq!(quota.waiting(), 0);
    }

    #[test]
    fn a_turn_also_waits_for_the_other_limits_of_its_place() {
        let mut quota = five_per_minute();
        let now = Instant::now();
        // Slots are free, but the write bucket lets the pod at place n go after n seconds.
        let bucket = |place: usize| secs(place as u64);
        assert_eq!(quota.turn("a", now, bucket), Turn::Go);
        quota.take(now).expect("a's slot");
        assert_eq!(
            quota.turn("b", now, |place| secs(place as u64 + 1)),
            Turn::Wait { ahead: 0, after: secs(1), by_quota: false }
        );
        assert_eq!(
            quota.turn("c", now, |place| secs(place as u64 + 1)),
            Turn::Wait { ahead: 1, after: secs(2), by_quota: false }
        );
    }

    #[test]
    fn a_slot_given_back_is_free_again() {
        let mut quota = QuotaWindows::new(vec![Window { limit: 1, period: secs(300) }]);
        let start = Instant::now();
        quota.take(start).expect("the only slot");
        assert!(quota.take(start).is_err());
        quota.give_back(start);
        assert_eq!(quota.take(start), Ok(()));
    }

    #[test]
    fn a_window_that_allows_nothing_refuses_without_hanging() {
        let mut quota = QuotaWindows::new(vec![Window { limit: 0, period: secs(300) }]);
        assert_eq!(quota.take(Instant::now()), Err(secs(300)));
        assert!(matches!(quota.turn("a", Instant::now(), none), Turn::Wait { ahead: 0, .. }));
    }

    #[test]
    fn an_empty_line_and_a_free_slot_mean_go() {
        let mut quota = five_per_minute();
        assert_eq!(quota.turn("a", Instant::now(), none), Turn::Go);
        assert_eq!(quota.waiting(), 0);
    }
}
