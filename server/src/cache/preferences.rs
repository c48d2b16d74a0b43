//! The preferences store behind a [`Coherent`] cache: reads of a user whose row (or absence of
//! one) is cached never reach the database; saves still go to the database (compare-and-swap,
//! durable before they are acknowledged) and replace the cached copy when their result is known
//! (`db::settle`), even if the caller stopped waiting before.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use app::preferences::Preferences;
use app::preferences::store::{PreferencesStore, SaveOutcome, StoreError, StoredPreferences};
use quick_cache::Equivalent;

use super::{Coherent, Weighed};
use crate::db::preferences::SettlingStore;

/// (site id, accountId).
type UserKey = (String, String);

/// A borrowed [`UserKey`] for lookups (hashes like the tuple of Strings).
struct User<'a>(&'a str, &'a str);

impl Hash for User<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
        self.1.hash(state);
    }
}

impl Equivalent<UserKey> for User<'_> {
    fn equivalent(&self, key: &UserKey) -> bool {
        self.0 == key.0 && self.1 == key.1
    }
}

/// What the store said about a user: their row, or that they have none yet.
#[derive(Clone)]
struct Entry(Option<StoredPreferences>);

impl Entry {
    fn revision(&self) -> i64 {
        self.0.as_ref().map_or(0, |s| s.revision)
    }
}

impl Weighed for Entry {
    fn weight(&self) -> usize {
        let Some(stored) = &self.0 else { return 160 };
        let p: &Preferences = &stored.preferences;
        let labels: usize = p.favourite_labels.iter().map(|l| l.len() + 24).sum();
        256 + labels + p.default_space_key.as_ref().map_or(0, String::len)
    }
}

fn is_older(cached: &Entry, new: &Entry) -> bool {
    cached.revision() < new.revision()
}

pub struct CachedPreferences<S> {
    store: S,
    cache: Arc<Coherent<UserKey, Entry>>,
}

impl<S> CachedPreferences<S> {
    pub fn new(store: S, capacity_bytes: u64) -> Self {
        Self {
            store,
            cache: Arc::new(Coherent::new(capacity_bytes)),
        }
    }
}

impl<S> CachedPreferences<S> {
    /// For the metrics.
    pub fn reading(&self) -> Arc<dyn crate::metrics::caches::CacheReading> {
        self.cache.reading()
    }

    /// A handle that drops every cached user (`Coherent::invalidate_all`).
    pub fn forgetter(&self) -> Arc<dyn Fn() + Send + Sync> {
        let cache = Arc::clone(&self.cache);
        Arc::new(move || cache.invalidate_all())
    }

    /// A handle that drops one user's cached entry (after their data was erased).
    pub fn user_forgetter(&self) -> crate::state::UserForgetter {
        let cache = Arc::clone(&self.cache);
        Arc::new(move |site_id: &str, account_id: &str| {
            cache.invalidate(&User(site_id, account_id))
        })
    }
}

#[async_trait::async_trait]
impl<S: SettlingStore> PreferencesStore for CachedPreferences<S> {
    async fn load(
        &self,
        site_id: &str,
        account_id: &str,
    ) -> Result<Option<StoredPreferences>, StoreError> {
        let user = User(site_id, account_id);
        if let Some(Entry(stored)) = self.cache.get(&user) {
            return Ok(stored);
        }
        let ticket = self.cache.ticket(&user);
        let stored = self.store.load(site_id, account_id).await?;
        self.cache.fill(
            ticket,
            (site_id.to_owned(), account_id.to_owned()),
            Entry(stored.clone()),
        );
        Ok(stored)
    }

    async fn save(
        &self,
        site_id: &str,
        account_id: &str,
        base_revision: i64,
        preferences: &Preferences,
    ) -> Result<SaveOutcome, StoreError> {
        // Settled with the save's result when it is known: recorded, or (on an error) the
        // user's entry is invalidated when the guard drops.
        let write = self
            .cache
            .write((site_id.to_owned(), account_id.to_owned()));
        let settled = Box::new(move |result: &Result<SaveOutcome, _>| match result {
            Ok(SaveOutcome::Saved(stored)) => write.record(Entry(Some(stored.clone())), is_older),
            Ok(SaveOutcome::Conflict(current)) => write.record(Entry(current.clone()), is_older),
            Err(_) => drop(write),
        });
        Ok(self
            .store
            .save_settled(site_id, account_id, base_revision, preferences, settled)
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::db::DbError;
    use crate::db::preferences::{OnSettled, SqlPreferences};

    /// Counts the loads that reach the real store.
    struct Counting(SqlPreferences, Arc<AtomicUsize>);

    #[async_trait::async_trait]
    impl PreferencesStore for Counting {
        async fn load(&self, c: &str, a: &str) -> Result<Option<StoredPreferences>, StoreError> {
            self.1.fetch_add(1, Ordering::SeqCst);
            self.0.load(c, a).await
        }
        async fn save(
            &self,
            c: &str,
            a: &str,
            base: i64,
            p: &Preferences,
        ) -> Result<SaveOutcome, StoreError> {
            self.0.save(c, a, base, p).await
        }
    }

    #[async_trait::async_trait]
    impl SettlingStore for Counting {
        async fn save_settled(
            &self,
            c: &str,
            a: &str,
            base: i64,
            p: &Preferences,
            on_settled: OnSettled,
        ) -> Result<SaveOutcome, DbError> {
            self.0.save_settled(c, a, base, p, on_settled).await
        }
    }

    fn labelled(label: &str) -> Preferences {
        Preferences {
            favourite_labels: vec![label.into()],
            ..Preferences::default()
        }
    }

    #[tokio::test]
    async fn reads_hit_the_cache_and_saves_are_seen_at_once() {
        let (_guard, db) = crate::db::test_db().await;
        let loads = Arc::new(AtomicUsize::new(0));
        let cached =
            CachedPreferences::new(Counting(SqlPreferences(db.clone()), loads.clone()), 1 << 20);

        assert_eq!(cached.load("t", "u").await.unwrap(), None);
        assert_eq!(cached.load("t", "u").await.unwrap(), None);
        assert_eq!(loads.load(Ordering::SeqCst), 1, "the absence is cached too");

        let SaveOutcome::Saved(first) = cached.save("t", "u", 0, &labelled("a")).await.unwrap()
        else {
            panic!("first save conflicted")
        };
        assert_eq!(cached.load("t", "u").await.unwrap(), Some(first.clone()));
        assert_eq!(
            loads.load(Ordering::SeqCst),
            1,
            "the save replaced the cached copy"
        );

        // A stale base revision conflicts in the database, and the cache keeps the newest copy.
        let outcome = cached.save("t", "u", 0, &labelled("b")).await.unwrap();
        assert_eq!(outcome, SaveOutcome::Conflict(Some(first.clone())));
        assert_eq!(cached.load("t", "u").await.unwrap(), Some(first));

        // Another user is independent.
        assert_eq!(cached.load("t", "v").await.unwrap(), None);
        assert_eq!(loads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_failed_save_leaves_no_stale_copy() {
        let (_guard, db) = crate::db::test_db().await;
        let cached = CachedPreferences::new(SqlPreferences(db.clone()), 1 << 20);
        assert_eq!(cached.load("t", "u").await.unwrap(), None);
        // The database goes away: the save fails and the cached "no row" is dropped with it, so
        // the next read asks the database (and fails too) instead of answering from memory.
        db.close().await;
        assert!(cached.save("t", "u", 0, &labelled("a")).await.is_err());
        assert!(cached.load("t", "u").await.is_err());
    }
}
