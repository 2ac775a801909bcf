//! A small time-bounded cache for objects many pods read at once (a namespace's Services
//! for service links), so a burst of pods does not become a burst of identical LISTs.
//! Never used for Secrets.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Values kept for at most `ttl` after they were read.
pub struct TtlCache<K, V> {
    ttl: Duration,
    entries: Mutex<HashMap<K, (Instant, V)>>,
}

impl<K: Eq + Hash, V: Clone> TtlCache<K, V> {
    /// An empty cache.
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, entries: Mutex::new(HashMap::new()) }
    }

    /// The value for `key` if it is younger than the ttl.
    pub fn get(&self, key: &K) -> Option<V> {
        let entries = self.entries.lock().ok()?;
        entries.get(key).filter(|(at, _)| at.elapsed() < self.ttl).map(|(_, value)| value.clone())
    }

    /// Stores a fresh value (and drops expired ones).
    pub fn put(&self, key: K, value: V) {
        if let Ok(mut entries) = self.entries.lock() {
            let ttl = self.ttl;
            entries.retain(|_, (at, _)| at.elapsed() < ttl);
            entries.insert(key, (Instant::now(), value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn values_expire_after_the_ttl() {
        let cache = TtlCache::new(Duration::from_secs(5));
        cache.put("shop", 3);
        assert_eq!(cache.get(&"shop"), Some(3));
        assert_eq!(cache.get(&"other"), None);
        tokio::time::advance(Duration::from_secs(4)).await;
        assert_eq!(cache.get(&"shop"), Some(3));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(cache.get(&"shop"), None);
    }
}
