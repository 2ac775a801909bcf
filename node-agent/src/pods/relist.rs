//! A snapshot applied in place: each watch writes the entries of a new snapshot (a relist of the
//! API, a WatchPods reconnect) straight into its view and, when the snapshot is complete, drops
//! the entries it did not contain. A separate map swapped in at the end would hold two copies
//! of every pod until then.

use std::collections::HashSet;

/// The UIDs a snapshot in progress has delivered.
#[derive(Debug, Default)]
pub(crate) struct Relist {
    seen: HashSet<String>,
}

impl Relist {
    /// Notes that the snapshot contains `uid`.
    pub fn saw(&mut self, uid: &str) {
        self.seen.insert(uid.to_owned());
    }

    /// True when the entry of `uid` stays once the snapshot is complete.
    pub fn keeps(&self, uid: &str) -> bool {
        self.seen.contains(uid)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn entries_the_snapshot_did_not_deliver_are_dropped_and_the_rest_replaced() {
        let mut view: HashMap<String, &str> =
            [("gone".to_owned(), "old"), ("kept".to_owned(), "old")].into_iter().collect();
        let mut relist = Relist::default();
        for uid in ["kept", "new"] {
            view.insert(uid.to_owned(), "fresh");
            relist.saw(uid);
        }
        view.retain(|uid, _| relist.keeps(uid));
        let mut left: Vec<_> = view.into_iter().collect();
        left.sort();
        assert_eq!(left, vec![("kept".to_owned(), "fresh"), ("new".to_owned(), "fresh")]);
    }
}
