//! A bounded cache of verified tokens. Platforms send the same token with many calls, and RS256
//! verification costs CPU on each, so a hit skips it; an entry is never used at or past its
//! token's `exp`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::auth::now;

/// Verified tokens and what they were verified to; when full, expired entries go first, then
/// the oldest.
#[derive(Debug)]
pub struct TokenCache<T> {
    capacity: usize,
    inner: Mutex<CacheInner<T>>,
}

#[derive(Debug)]
struct CacheInner<T> {
    entries: HashMap<String, (T, u64)>,
    order: VecDeque<String>,
}

impl<T: Clone> TokenCache<T> {
    /// A cache of at most `capacity` tokens; 0 turns caching off.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::new(CacheInner {
                entries: HashMap::new(),
                order: VecDeque::new(),
            }),
        }
    }

    /// The cached value of `token`, if it has one and has not expired; counted in
    /// `token_cache_hits_total` or `token_cache_misses_total`.
    pub fn get(&self, token: &str) -> Option<T> {
        let found = match self.lock().entries.get(token) {
            Some((value, exp)) if now() < *exp => Some(value.clone()),
            _ => None,
        };
        if self.capacity > 0 {
            match found {
                Some(_) => metrics::counter!("token_cache_hits_total").increment(1),
                None => metrics::counter!("token_cache_misses_total").increment(1),
            }
        }
        found
    }

    /// Remember `value` for `token` until `exp` (seconds since the Unix epoch).
    pub fn insert(&self, token: &str, value: T, exp: u64) {
        if self.capacity == 0 || exp <= now() {
            return;
        }
        let mut inner = self.lock();
        if inner.entries.len() >= self.capacity && !inner.entries.contains_key(token) {
            let now = now();
            inner.entries.retain(|_, (_, exp)| *exp > now);
            let CacheInner { entries, order } = &mut *inner;
            order.retain(|token| entries.contains_key(token));
            while entries.len() >= self.capacity {
                let Some(oldest) = order.pop_front() else {
                    break;
                };
                entries.remove(&oldest);
            }
        }
        if inner
            .entries
            .insert(token.to_owned(), (value, exp))
            .is_none()
        {
            inner.order.push_back(token.to_owned());
        }
    }

    fn lock(&self) -> MutexGuard<'_, CacheInner<T>> {
        // The map stays consistent even if a holder panicked.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many tokens are cached.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether no token is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_until_exp_only() {
        let cache = TokenCache::new(4);
        cache.insert("live", 1, now() + 60);
        cache.insert("dead", 2, now());
        assert_eq!(cache.get("live"), Some(1));
        assert_eq!(
            cache.get("dead"),
            None,
            "an expired token is not even stored"
        );
        assert_eq!(cache.get("unknown"), None);
    }

    #[test]
    fn stays_within_capacity_dropping_the_oldest() {
        let cache = TokenCache::new(2);
        for (n, token) in ["a", "b", "c"].into_iter().enumerate() {
            cache.insert(token, n, now() + 60);
        }
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get("a"), None);
        assert_eq!(cache.get("c"), Some(2));
    }

    #[test]
    fn zero_capacity_turns_it_off() {
        let cache = TokenCache::new(0);
        cache.insert("a", 1, now() + 60);
        assert!(cache.is_empty());
    }
}
