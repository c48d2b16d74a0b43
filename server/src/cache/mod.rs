//! In-process caches. The read-through caches over the store are used only when this process is
//! the store's only writer (embedded SQLite; see `db::ProcessLock`): with PostgreSQL several
//! instances write, so no store data is cached there. The page cache (`pages`) holds rendered
//! HTML checked against a fresh read on every use, so it is used on every backend.
//!
//! For the store caches,
//! [`Coherent`] never serves a value older than a write this process has finished:
//! - a miss takes a [`Ticket`] *before* reading the store and fills the cache only if no write
//!   touched the key's slot since, so a slow read cannot put back what a write replaced;
//! - a write holds a [`WriteGuard`] until its result is known (the guard goes with the write's
//!   own task, `db::settle`, not with the caller, who may leave first); when it drops (done,
//!   failed) the key is invalidated, unless the writer recorded the value it committed;
//! - fills, invalidations and records are serialised by one short lock; hits take no lock of
//!   ours (the cache itself is sharded).

pub mod pages;
pub mod preferences;

use std::hash::{BuildHasher, Hash};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use quick_cache::{DefaultHashBuilder, Equivalent, Lifecycle, Weighter};

use crate::metrics::caches::CacheReading;

/// How many bytes an entry keeps alive, roughly (the cache's capacity is in these units).
pub trait Weighed {
    fn weight(&self) -> usize;
}

#[derive(Clone)]
pub(crate) struct ByWeight;

impl<K, V: Weighed> Weighter<K, V> for ByWeight {
    fn weight(&self, _key: &K, value: &V) -> u64 {
        u64::try_from(value.weight()).unwrap_or(u64::MAX).max(1)
    }
}

/// Counts the entries a cache drops to make room, or refuses as too large (for the metrics).
/// Not `on_evict`: quick_cache also calls that for a value replaced under the same key.
#[derive(Clone, Default)]
pub(crate) struct CountEvictions(Arc<AtomicU64>);

impl<K, V> Lifecycle<K, V> for CountEvictions {
    type RequestState = ();

    fn begin_request(&self) -> Self::RequestState {}

    fn before_evict(&self, _state: &mut Self::RequestState, _key: &K, _val: &mut V) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// Every cache here: weighed entries, evictions counted.
pub(crate) type WeighedCache<K, V> =
    quick_cache::sync::Cache<K, V, ByWeight, DefaultHashBuilder, CountEvictions>;

/// A [`WeighedCache`] and its eviction count; derefs to the cache.
pub(crate) struct MeteredCache<K, V> {
    entries: WeighedCache<K, V>,
    evictions: CountEvictions,
}

impl<K, V> std::ops::Deref for MeteredCache<K, V> {
    type Target = WeighedCache<K, V>;

    fn deref(&self) -> &Self::Target {
        &self.entries
    }
}

/// A quick_cache holding about `capacity_bytes` of entries of about `typical_entry` bytes each;
/// shared, so the metrics can read it (`reading`).
pub(crate) fn weighed<K: Eq + Hash, V: Clone + Weighed>(
    capacity_bytes: u64,
    typical_entry: u64,
) -> Arc<MeteredCache<K, V>> {
    let evictions = CountEvictions::default();
    Arc::new(MeteredCache {
        entries: quick_cache::sync::Cache::with(
            usize::try_from((capacity_bytes / typical_entry).max(16)).unwrap_or(usize::MAX),
            capacity_bytes.max(1),
            ByWeight,
            DefaultHashBuilder::default(),
            evictions.clone(),
        ),
        evictions,
    })
}

impl<K, V> CacheReading for MeteredCache<K, V>
where
    K: Eq + Hash + Send + Sync,
    V: Clone + Weighed + Send + Sync,
{
    fn hits(&self) -> u64 {
        self.entries.hits()
    }

    fn misses(&self) -> u64 {
        self.entries.misses()
    }

    fn evictions(&self) -> u64 {
        self.evictions.0.load(Ordering::Relaxed)
    }

    fn bytes(&self) -> u64 {
        self.entries.weight()
    }

    fn entries(&self) -> u64 {
        u64::try_from(self.entries.len()).unwrap_or(u64::MAX)
    }
}

/// A cache as the metrics read it.
pub(crate) fn reading<K, V>(cache: &Arc<MeteredCache<K, V>>) -> Arc<dyn CacheReading>
where
    K: Eq + Hash + Send + Sync + 'static,
    V: Clone + Weighed + Send + Sync + 'static,
{
    let reading: Arc<dyn CacheReading> = cache.clone();
    reading
}

/// Write epochs are kept per slot (hash of the key), so writes to one key do not stop misses of
/// other keys from filling.
const SLOTS: usize = 64;
const SLOTS_U64: u64 = 64;

pub struct Coherent<K, V> {
    entries: Arc<MeteredCache<K, V>>,
    epochs: [AtomicU64; SLOTS],
    hasher: std::hash::RandomState,
    writes: Mutex<()>,
}

/// The write epoch of a key's slot, taken before reading the store.
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    slot: usize,
    epoch: u64,
}

impl<K: Eq + Hash + Clone, V: Clone + Weighed> Coherent<K, V> {
    /// A cache holding about `capacity_bytes` of entries.
    pub fn new(capacity_bytes: u64) -> Self {
        Self {
            entries: weighed(capacity_bytes, 512),
            epochs: std::array::from_fn(|_| AtomicU64::new(0)),
            hasher: std::hash::RandomState::new(),
            writes: Mutex::new(()),
        }
    }

    fn slot<Q: Hash + ?Sized>(&self, key: &Q) -> usize {
        // The remainder is below SLOTS, so it fits.
        usize::try_from(self.hasher.hash_one(key) % SLOTS_U64).unwrap_or_default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ()> {
        // The lock guards no data of its own: a panic elsewhere cannot leave anything half done.
        self.writes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn get<Q: Hash + Equivalent<K> + ?Sized>(&self, key: &Q) -> Option<V> {
        self.entries.get(key)
    }

    /// For the metrics (hits, misses, evictions, bytes).
    pub fn reading(&self) -> Arc<dyn CacheReading>
    where
        K: Send + Sync + 'static,
        V: Send + Sync + 'static,
    {
        reading(&self.entries)
    }

    /// Take before reading the store on a miss.
    pub fn ticket<Q: Hash + ?Sized>(&self, key: &Q) -> Ticket {
        let slot = self.slot(key);
        Ticket {
            slot,
            epoch: self.epochs[slot].load(Ordering::Acquire),
        }
    }

    /// Caches what the store returned, unless a write touched the key's slot since `ticket`.
    pub fn fill(&self, ticket: Ticket, key: K, value: V) {
        let _writes = self.lock();
        if self.epochs[ticket.slot].load(Ordering::Acquire) == ticket.epoch {
            self.entries.insert(key, value);
        }
    }

    /// Drops the key and stops in-flight misses of its slot from filling.
    pub fn invalidate<Q: Hash + Equivalent<K> + ?Sized>(&self, key: &Q) {
        let _writes = self.lock();
        self.epochs[self.slot(key)].fetch_add(1, Ordering::AcqRel);
        self.entries.remove(key);
    }

    /// Drops every key and stops every in-flight miss from filling: after a write that moved
    /// many keys' data at once (sites merged), once it committed.
    pub fn invalidate_all(&self) {
        let _writes = self.lock();
        for epoch in &self.epochs {
            epoch.fetch_add(1, Ordering::AcqRel);
        }
        self.entries.clear();
    }

    /// Hold until the result of a write of `key` is known: invalidates it when dropped, unless
    /// `record` was called. Owned, so it can go with the write's task.
    pub fn write(self: &Arc<Self>, key: K) -> WriteGuard<K, V> {
        WriteGuard {
            cache: Arc::clone(self),
            key: Some(key),
        }
    }
}

pub struct WriteGuard<K: Eq + Hash + Clone, V: Clone + Weighed> {
    cache: Arc<Coherent<K, V>>,
    key: Option<K>,
}

impl<K: Eq + Hash + Clone, V: Clone + Weighed> WriteGuard<K, V> {
    /// The write committed `value`: replace a cached copy that `is_older` than it. An absent key
    /// stays absent (a newer write may have finished and been evicted meanwhile; the next read
    /// fills from the store).
    pub fn record(mut self, value: V, is_older: impl Fn(&V, &V) -> bool) {
        let Some(key) = self.key.take() else { return };
        let cache = &self.cache;
        let _writes = cache.lock();
        cache.epochs[cache.slot(&key)].fetch_add(1, Ordering::AcqRel);
        // `peek`: a write's look is not a lookup (the hit and miss counts are the readers').
        if cache
            .entries
            .peek(&key)
            .is_some_and(|cached| is_older(&cached, &value))
        {
            cache.entries.insert(key, value);
        }
    }
}

impl<K: Eq + Hash + Clone, V: Clone + Weighed> Drop for WriteGuard<K, V> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.cache.invalidate(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq)]
    struct V(u32);
    impl Weighed for V {
        fn weight(&self) -> usize {
            100
        }
    }

    fn older(cached: &V, new: &V) -> bool {
        cached.0 < new.0
    }

    #[test]
    fn a_miss_fills_unless_a_write_came_between() {
        let c: Arc<Coherent<String, V>> = Arc::new(Coherent::new(1 << 20));
        let t = c.ticket("k");
        c.fill(t, "k".into(), V(1));
        assert_eq!(c.get("k"), Some(V(1)));

        // A slow read took its ticket, then a write finished: the read's value is not cached.
        let t = c.ticket("j");
        drop(c.write("j".into()));
        c.fill(t, "j".into(), V(1));
        assert_eq!(c.get("j"), None);
    }

    #[test]
    fn a_dropped_write_invalidates_and_a_recorded_one_replaces_only_older() {
        let c: Arc<Coherent<String, V>> = Arc::new(Coherent::new(1 << 20));
        c.fill(c.ticket("k"), "k".into(), V(1));
        // Failed or cancelled write: the key is gone.
        drop(c.write("k".into()));
        assert_eq!(c.get("k"), None);

        c.fill(c.ticket("k"), "k".into(), V(3));
        c.write("k".into()).record(V(2), older);
        assert_eq!(c.get("k"), Some(V(3)), "a late, older write never replaces");
        c.write("k".into()).record(V(4), older);
        assert_eq!(c.get("k"), Some(V(4)));

        // Absent stays absent.
        c.write("n".into()).record(V(9), older);
        assert_eq!(c.get("n"), None);
    }

    #[test]
    fn capacity_is_bounded_by_weight() {
        let c: Coherent<u32, V> = Coherent::new(10_000);
        for i in 0..1000 {
            c.fill(c.ticket(&i), i, V(i));
        }
        let kept = (0..1000).filter(|i| c.get(i).is_some()).count();
        assert!(kept <= 100, "{kept} entries of weight 100 in 10,000");
        assert!(kept > 0);
    }
}
