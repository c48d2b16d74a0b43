//! Preferences rows keyed by (site, accountId), with a revision for compare-and-swap saves
//! and a schema version so older stored shapes keep loading (`decode`). Saves settle
//! (`db::settle`): the answer is the result, "not saved" (called off before it started), or
//! "outcome unknown", and a cache above learns the result when it is known.

use app::preferences::store::{PreferencesStore, SaveOutcome, StoreError, StoredPreferences};
use app::preferences::{Preferences, SCHEMA_VERSION};
use sqlx::Row;

use super::group_commit::Save;
use super::settle::{WriteTicket, settle};
use super::{Db, DbError, now};
use crate::metrics::store::SaveOutcome as MeteredOutcome;

/// Runs with a save's result once it is known (a cache recording it), whether or not its caller
/// still waits.
pub type OnSettled = Box<dyn FnOnce(&Result<SaveOutcome, DbError>) + Send>;

/// A preferences store whose saves settle (see the module doc).
#[async_trait::async_trait]
pub trait SettlingStore: PreferencesStore {
    async fn save_settled(
        &self,
        site_id: &str,
        account_id: &str,
        base_revision: i64,
        preferences: &Preferences,
        on_settled: OnSettled,
    ) -> Result<SaveOutcome, DbError>;
}

/// The stored JSON of any schema version, as today's type. Add a step here when
/// `SCHEMA_VERSION` changes (e.g. `2 => upgrade_v1(serde_json::from_str::<V1>(data)?)`).
fn decode(schema_version: i64, data: &str) -> Result<Preferences, DbError> {
    match schema_version {
        1 => serde_json::from_str(data)
            .map_err(|e| DbError::Failed(format!("stored preferences do not parse: {e}"))),
        v => Err(DbError::Failed(format!(
            "stored preferences have unknown schema version {v}"
        ))),
    }
}

#[derive(Clone)]
pub struct SqlPreferences(pub Db);

impl SqlPreferences {
    async fn load_row(
        &self,
        site_id: &str,
        account_id: &str,
    ) -> Result<Option<StoredPreferences>, DbError> {
        let row = sqlx::query(
            "SELECT schema_version, data, revision, updated_at FROM preferences \
             WHERE site_id = $1 AND account_id = $2",
        )
        .bind(site_id)
        .bind(account_id)
        .fetch_optional(self.0.pool())
        .await?;
        row.map(|r| {
            let version: i64 = r.try_get("schema_version")?;
            let data: String = r.try_get("data")?;
            Ok(StoredPreferences {
                preferences: decode(version, &data)?,
                revision: r.try_get("revision")?,
                updated_at: r.try_get("updated_at")?,
            })
        })
        .transpose()
    }

    /// The save, run to its result; it starts (`ticket`) only if not called off first.
    async fn save_row(
        &self,
        site_id: &str,
        account_id: &str,
        base_revision: i64,
        preferences: &Preferences,
        ticket: WriteTicket,
    ) -> Result<SaveOutcome, DbError> {
        let data = serde_json::to_string(preferences)
            .map_err(|e| DbError::Failed(format!("cannot encode preferences: {e}")))?;
        let now = now();
        let revision = base_revision + 1;
        let save = Save {
            site_id: site_id.to_owned(),
            account_id: account_id.to_owned(),
            schema_version: SCHEMA_VERSION,
            data,
            base_revision,
            updated_at: now,
        };
        let written = match self.0.group_commit() {
            Some(group_commit) => group_commit.save(save, ticket).await?,
            None => self.save_through_pool(&save, &ticket).await?,
        };
        if written {
            return Ok(SaveOutcome::Saved(StoredPreferences {
                preferences: preferences.clone(),
                revision,
                updated_at: now,
            }));
        }
        Ok(SaveOutcome::Conflict(
            self.load_row(site_id, account_id).await?,
        ))
    }

    /// One save as one statement (PostgreSQL): whether the row was written.
    async fn save_through_pool(&self, s: &Save, ticket: &WriteTicket) -> Result<bool, DbError> {
        let mut conn = self.0.pool().acquire().await?;
        if !ticket.start() {
            return Err(DbError::Unavailable);
        }
        let done = if s.base_revision == 0 {
            sqlx::query(
                "INSERT INTO preferences (site_id, account_id, schema_version, data, revision, updated_at) \
                 VALUES ($1, $2, $3, $4, 1, $5) ON CONFLICT (site_id, account_id) DO NOTHING",
            )
            .bind(&s.site_id)
            .bind(&s.account_id)
            .bind(s.schema_version)
            .bind(&s.data)
            .bind(s.updated_at)
            .execute(&mut *conn)
            .await
        } else {
            sqlx::query(
                "UPDATE preferences SET schema_version = $1, data = $2, revision = $3, updated_at = $4 \
                 WHERE site_id = $5 AND account_id = $6 AND revision = $7",
            )
            .bind(s.schema_version)
            .bind(&s.data)
            .bind(s.base_revision + 1)
            .bind(s.updated_at)
            .bind(&s.site_id)
            .bind(&s.account_id)
            .bind(s.base_revision)
            .execute(&mut *conn)
            .await
        };
        Ok(done.map_err(DbError::from_write)?.rows_affected() == 1)
    }
}

#[async_trait::async_trait]
impl PreferencesStore for SqlPreferences {
    async fn load(
        &self,
        site_id: &str,
        account_id: &str,
    ) -> Result<Option<StoredPreferences>, StoreError> {
        Ok(self.load_row(site_id, account_id).await?)
    }

    async fn save(
        &self,
        site_id: &str,
        account_id: &str,
        base_revision: i64,
        preferences: &Preferences,
    ) -> Result<SaveOutcome, StoreError> {
        let no_cache: OnSettled = Box::new(|_| {});
        Ok(self
            .save_settled(site_id, account_id, base_revision, preferences, no_cache)
            .await?)
    }
}

#[async_trait::async_trait]
impl SettlingStore for SqlPreferences {
    async fn save_settled(
        &self,
        site_id: &str,
        account_id: &str,
        base_revision: i64,
        preferences: &Preferences,
        on_settled: OnSettled,
    ) -> Result<SaveOutcome, DbError> {
        let ticket = WriteTicket::new();
        let (this, write_ticket) = (self.clone(), ticket.clone());
        let (site_id, account_id) = (site_id.to_owned(), account_id.to_owned());
        let preferences = preferences.clone();
        let write = async move {
            let result = this
                .save_row(
                    &site_id,
                    &account_id,
                    base_revision,
                    &preferences,
                    write_ticket,
                )
                .await;
            on_settled(&result);
            result
        };
        let result = settle(self.0.timeout(), ticket, write).await;
        self.0.meters().save(match &result {
            Ok(SaveOutcome::Saved(_)) => MeteredOutcome::Saved,
            Ok(SaveOutcome::Conflict(_)) => MeteredOutcome::Conflict,
            Err(DbError::Unavailable) => MeteredOutcome::Unavailable,
            Err(DbError::OutcomeUnknown) => MeteredOutcome::OutcomeUnknown,
            Err(DbError::Failed(_)) => MeteredOutcome::Failed,
        });
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn store() -> (crate::db::test_db::TestDatabase, SqlPreferences) {
        let (guard, db) = crate::db::test_db().await;
        (guard, SqlPreferences(db))
    }

    #[tokio::test]
    async fn compare_and_swap_never_loses_an_update() {
        let (_dir, s) = store().await;
        assert_eq!(s.load("t", "u").await.unwrap(), None);
        let mut p = Preferences::default();
        let SaveOutcome::Saved(first) = s.save("t", "u", 0, &p).await.unwrap() else {
            panic!("first save must land")
        };
        assert_eq!(first.revision, 1);
        // A second "first save" (another tab) conflicts and sees the stored copy.
        p.items_per_page = 50;
        let SaveOutcome::Conflict(Some(current)) = s.save("t", "u", 0, &p).await.unwrap() else {
            panic!("stale save must conflict")
        };
        assert_eq!(current.preferences.items_per_page, 25);
        let SaveOutcome::Saved(second) = s.save("t", "u", 1, &p).await.unwrap() else {
            panic!("save on the current revision must land")
        };
        assert_eq!(second.revision, 2);
        assert!(matches!(
            s.save("t", "u", 1, &p).await.unwrap(),
            SaveOutcome::Conflict(_)
        ));
        // Other users and tenants are separate rows.
        assert_eq!(s.load("t", "other").await.unwrap(), None);
        assert_eq!(s.load("other", "u").await.unwrap(), None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_saves_on_one_revision_land_exactly_once() {
        let (_guard, s) = store().await;
        let s = std::sync::Arc::new(s);
        for base in [0, 1] {
            let mut tasks = tokio::task::JoinSet::new();
            for i in 0..16 {
                let s = s.clone();
                tasks.spawn(async move {
                    let p = Preferences {
                        items_per_page: 10 + i,
                        ..Preferences::default()
                    };
                    s.save("t", "u", base, &p).await.unwrap()
                });
            }
            let outcomes = tasks.join_all().await;
            let saved: Vec<_> = outcomes
                .iter()
                .filter_map(|o| match o {
                    SaveOutcome::Saved(p) => Some(p),
                    SaveOutcome::Conflict(_) => None,
                })
                .collect();
            assert_eq!(saved.len(), 1, "base {base}: {outcomes:?}");
            assert_eq!(saved[0].revision, base + 1);
            let stored = s.load("t", "u").await.unwrap().unwrap();
            assert_eq!(stored.revision, base + 1);
            assert_eq!(stored.preferences, saved[0].preferences);
        }
    }

    #[test]
    fn unknown_schema_versions_are_errors_not_panics() {
        assert!(decode(99, "{}").is_err());
        assert!(decode(1, "not json").is_err());
        let json = serde_json::to_string(&Preferences::default()).unwrap();
        assert_eq!(decode(1, &json).unwrap(), Preferences::default());
    }
}
