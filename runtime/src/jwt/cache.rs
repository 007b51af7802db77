//! A bounded cache of verified tokens. Platforms send the same token with many calls, and RS256
//! verification costs CPU on each, so a hit skips it; an entry is never used at or past its
//! token's `exp`. [moka](https://crates.io/crates/moka) keeps it fast under many distinct
//! tokens: lookups take no global lock, and a full cache evicts in constant time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::Expiry;
use moka::sync::Cache;

use super::auth::now;

/// Verified tokens and what they were verified to, each until its `exp`.
#[derive(Debug)]
pub struct TokenCache<T: Send + Sync + 'static> {
    /// `None` when caching is off.
    entries: Option<Cache<String, Entry<T>>>,
}

#[derive(Debug)]
struct Entry<T> {
    value: Arc<T>,
    /// Seconds since the Unix epoch.
    exp: u64,
}

impl<T> Clone for Entry<T> {
    fn clone(&self) -> Self {
        Self {
            value: Arc::clone(&self.value),
            exp: self.exp,
        }
    }
}

/// Entries expire at their token's `exp`.
struct UntilExp;

impl<T> Expiry<String, Entry<T>> for UntilExp {
    fn expire_after_create(&self, _: &String, entry: &Entry<T>, _: Instant) -> Option<Duration> {
        Some(Duration::from_secs(entry.exp.saturating_sub(now())))
    }
}

impl<T: Send + Sync + 'static> TokenCache<T> {
    /// A cache of at most `capacity` tokens; 0 turns caching off.
    pub fn new(capacity: u64) -> Self {
        let entries = (capacity > 0).then(|| {
            Cache::builder()
                .max_capacity(capacity)
                .expire_after(UntilExp)
                .build()
        });
        Self { entries }
    }

    /// The cached value of `token`, if it has one and has not expired; counted in
    /// `token_cache_hits_total` or `token_cache_misses_total`.
    pub fn get(&self, token: &str) -> Option<Arc<T>> {
        let entries = self.entries.as_ref()?;
        // Expiry runs on moka's clock, in whole seconds here: check `exp` itself too.
        let found = entries
            .get(token)
            .filter(|entry| now() < entry.exp)
            .map(|entry| entry.value);
        match found {
            Some(_) => metrics::counter!("token_cache_hits_total").increment(1),
            None => metrics::counter!("token_cache_misses_total").increment(1),
        }
        found
    }

    /// Remember `value` for `token` until `exp` (seconds since the Unix epoch).
    pub fn insert(&self, token: &str, value: Arc<T>, exp: u64) {
        if let Some(entries) = &self.entries
            && now() < exp
        {
            entries.insert(token.to_owned(), Entry { value, exp });
        }
    }

    /// How many tokens are cached, once pending evictions are done.
    pub fn len(&self) -> u64 {
        self.entries.as_ref().map_or(0, |entries| {
            entries.run_pending_tasks();
            entries.entry_count()
        })
    }

    /// Whether no token is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cached(cache: &TokenCache<u32>, token: &str) -> Option<u32> {
        cache.get(token).map(|value| *value)
    }

    #[test]
    fn hits_until_exp_only() {
        let cache = TokenCache::new(4);
        cache.insert("live", Arc::new(1), now() + 60);
        cache.insert("dead", Arc::new(2), now());
        assert_eq!(cached(&cache, "live"), Some(1));
        assert_eq!(
            cached(&cache, "dead"),
            None,
            "an expired token is not even stored"
        );
        assert_eq!(cached(&cache, "unknown"), None);
    }

    #[test]
    fn stays_within_capacity_under_many_tokens() {
        let cache = TokenCache::new(100);
        for n in 0..10_000 {
            cache.insert(&format!("token-{n}"), Arc::new(n), now() + 60);
        }
        assert!(cache.len() <= 100, "{} tokens cached", cache.len());
    }

    #[test]
    fn zero_capacity_turns_it_off() {
        let cache = TokenCache::new(0);
        cache.insert("a", Arc::new(1), now() + 60);
        assert!(cache.is_empty());
        assert_eq!(cached(&cache, "a"), None);
    }
}
