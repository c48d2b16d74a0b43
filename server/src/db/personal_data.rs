//! The personal-data job's SQL (`crate::personal_data`): the accounts a site stores, erasing one,
//! each Connect tenant's reporting progress with its lease, and deleting what uninstalled
//! tenants left once their retention passed.
//!
//! The lease: a tenant's row names the instance working it (`lease_owner`) until `lease_until`.
//! It is taken by one conditional UPDATE (only if free, expired or already ours), renewed with
//! every stored batch, and every progress write checks it is still ours, so an instance that
//! lost its lease (it stalled past the expiry) stops instead of reporting twice.

use sqlx::Row;

use super::{Db, DbError, now};

/// A tenant the reporting cycle covers: installed or enabled Connect tenants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportingTenant {
    pub client_key: String,
    pub site_id: String,
}

/// A tenant's reporting progress, as read when its lease was taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// When the running cycle began; `None`: no cycle running.
    pub cycle_started_at: Option<i64>,
    /// The last accountId of the running cycle that Atlassian answered for.
    pub last_account: Option<String>,
    pub next_at: i64,
    /// Atlassian's last stated cycle.
    pub cycle_period_secs: Option<i64>,
    pub reported: i64,
    pub closed: i64,
    pub erased: i64,
    pub errors: i64,
}

/// One stored account: its id and when its data last changed (Unix seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAccount {
    pub account_id: String,
    pub updated_at: i64,
}

pub async fn reporting_tenants(db: &Db) -> Result<Vec<ReportingTenant>, DbError> {
    let rows = sqlx::query(
        "SELECT client_key, COALESCE(site_id, client_key) AS site_id FROM tenants \
         WHERE state IN ('installed', 'enabled') ORDER BY client_key",
    )
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ReportingTenant {
                client_key: r.try_get("client_key")?,
                site_id: r.try_get("site_id")?,
            })
        })
        .collect()
}

/// A Forge installation the reporting cycle covers: installed, with an app system token held,
/// on a site no installed Connect tenant reports for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportingInstallation {
    pub installation_id: String,
    pub site_id: String,
    /// The newest app system token, encrypted (`forge::app_tokens`), and its expiry.
    pub token_enc: String,
    pub token_exp: i64,
}

pub async fn reporting_installations(db: &Db) -> Result<Vec<ReportingInstallation>, DbError> {
    let rows = sqlx::query(
        "SELECT f.installation_id, f.site_id, f.system_token_enc, f.system_token_exp \
         FROM forge_installations f \
         WHERE f.state = 'installed' AND f.system_token_enc IS NOT NULL \
            AND f.system_token_exp IS NOT NULL \
            AND NOT EXISTS (SELECT 1 FROM tenants t WHERE t.site_id = f.site_id \
                AND t.state IN ('installed', 'enabled')) \
         ORDER BY f.installation_id",
    )
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ReportingInstallation {
                installation_id: r.try_get("installation_id")?,
                site_id: r.try_get("site_id")?,
                token_enc: r.try_get("system_token_enc")?,
                token_exp: r.try_get("system_token_exp")?,
            })
        })
        .collect()
}

/// Up to `limit` accounts of `site_id` after `after` (accountId order).
pub async fn accounts_after(
    db: &Db,
    site_id: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<StoredAccount>, DbError> {
    let rows = sqlx::query(
        "SELECT account_id, updated_at FROM preferences WHERE site_id = $1 AND account_id > $2 \
         ORDER BY account_id LIMIT $3",
    )
    .bind(site_id)
    .bind(after.unwrap_or(""))
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(StoredAccount {
                account_id: r.try_get("account_id")?,
                updated_at: r.try_get("updated_at")?,
            })
        })
        .collect()
}

/// Erases everything stored for `account_id` on `site_id`; whether there was something.
pub async fn erase_account(db: &Db, site_id: &str, account_id: &str) -> Result<bool, DbError> {
    let result = sqlx::query("DELETE FROM preferences WHERE site_id = $1 AND account_id = $2")
        .bind(site_id)
        .bind(account_id)
        .execute(db.pool())
        .await
        .map_err(DbError::from_write)?;
    Ok(result.rows_affected() > 0)
}

/// What taking a tenant's lease found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lease {
    /// Taken: the tenant is this owner's until the lease expires.
    Taken(Progress),
    /// Another owner holds it.
    Busy,
    /// Its next step is not due (the next cycle, or a cycle paused by `Retry-After` or backoff).
    NotDue,
}

/// Takes the tenant's lease for `owner` until `lease_until`, if it is free, expired or already
/// `owner`'s, and its next step is due: `next_at` has come, or (`any_new_cycle`) no cycle is
/// running, so a new one may start early. A paused cycle always waits for its `next_at`.
pub async fn take_lease(
    db: &Db,
    client_key: &str,
    owner: &str,
    lease_until: i64,
    any_new_cycle: bool,
) -> Result<Lease, DbError> {
    let now = now();
    sqlx::query(
        "INSERT INTO personal_data_reports (client_key, next_at) VALUES ($1, 0) \
         ON CONFLICT (client_key) DO NOTHING",
    )
    .bind(client_key)
    .execute(db.pool())
    .await
    .map_err(DbError::from_write)?;
    let early = if any_new_cycle { 1_i64 } else { 0 };
    let taken = sqlx::query(
        "UPDATE personal_data_reports SET lease_owner = $2, lease_until = $3 \
         WHERE client_key = $1 AND (lease_owner IS NULL OR lease_owner = $2 OR lease_until < $4) \
            AND (next_at <= $4 OR (cycle_started_at IS NULL AND $5 = 1))",
    )
    .bind(client_key)
    .bind(owner)
    .bind(lease_until)
    .bind(now)
    .bind(early)
    .execute(db.pool())
    .await
    .map_err(DbError::from_write)?;
    let row = sqlx::query(
        "SELECT cycle_started_at, last_account, next_at, cycle_period_secs, reported, closed, \
            erased, errors, lease_owner FROM personal_data_reports WHERE client_key = $1",
    )
    .bind(client_key)
    .fetch_one(db.pool())
    .await?;
    if taken.rows_affected() != 1 {
        let holder: Option<String> = row.try_get("lease_owner")?;
        return Ok(if holder.is_some_and(|h| h != owner) {
            Lease::Busy
        } else {
            Lease::NotDue
        });
    }
    Ok(Lease::Taken(Progress {
        cycle_started_at: row.try_get("cycle_started_at")?,
        last_account: row.try_get("last_account")?,
        next_at: row.try_get("next_at")?,
        cycle_period_secs: row.try_get("cycle_period_secs")?,
        reported: row.try_get("reported")?,
        closed: row.try_get("closed")?,
        erased: row.try_get("erased")?,
        errors: row.try_get("errors")?,
    }))
}

/// Whether a progress write found the lease still ours (it names the owner in its WHERE).
fn held(result: sqlx::any::AnyQueryResult) -> bool {
    result.rows_affected() == 1
}

/// Starts a new cycle at `now`: no cursor, counters at zero.
pub async fn start_cycle(
    db: &Db,
    client_key: &str,
    owner: &str,
    now: i64,
) -> Result<bool, DbError> {
    let result = sqlx::query(
        "UPDATE personal_data_reports SET cycle_started_at = $3, last_account = NULL, \
            reported = 0, closed = 0, erased = 0, errors = 0 \
         WHERE client_key = $1 AND lease_owner = $2",
    )
    .bind(client_key)
    .bind(owner)
    .bind(now)
    .execute(db.pool())
    .await
    .map_err(DbError::from_write)?;
    Ok(held(result))
}

/// What one answered batch adds to the progress.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchDone {
    pub last_account: String,
    pub reported: i64,
    pub closed: i64,
    pub erased: i64,
    /// A `Cycle-Period` the answer stated.
    pub cycle_period_secs: Option<i64>,
    pub lease_until: i64,
}

/// Records an answered batch and renews the lease; `false`: the lease is no longer ours.
pub async fn batch_done(
    db: &Db,
    client_key: &str,
    owner: &str,
    done: &BatchDone,
) -> Result<bool, DbError> {
    let result = sqlx::query(
        "UPDATE personal_data_reports SET last_account = $3, reported = reported + $4, \
            closed = closed + $5, erased = erased + $6, \
            cycle_period_secs = COALESCE($7, cycle_period_secs), lease_until = $8 \
         WHERE client_key = $1 AND lease_owner = $2",
    )
    .bind(client_key)
    .bind(owner)
    .bind(&done.last_account)
    .bind(done.reported)
    .bind(done.closed)
    .bind(done.erased)
    .bind(done.cycle_period_secs)
    .bind(done.lease_until)
    .execute(db.pool())
    .await
    .map_err(DbError::from_write)?;
    Ok(held(result))
}

/// Ends the cycle: the next one is due at `next_at`; the lease is released.
pub async fn finish_cycle(
    db: &Db,
    client_key: &str,
    owner: &str,
    next_at: i64,
) -> Result<bool, DbError> {
    let result = sqlx::query(
        "UPDATE personal_data_reports SET cycle_started_at = NULL, last_account = NULL, \
            next_at = $3, lease_owner = NULL, lease_until = NULL \
         WHERE client_key = $1 AND lease_owner = $2",
    )
    .bind(client_key)
    .bind(owner)
    .bind(next_at)
    .execute(db.pool())
    .await
    .map_err(DbError::from_write)?;
    Ok(held(result))
}

/// Pauses the running cycle until `next_at` (its cursor is kept), counting `errors`; the lease
/// is released.
pub async fn pause_cycle(
    db: &Db,
    client_key: &str,
    owner: &str,
    next_at: i64,
    errors: i64,
) -> Result<bool, DbError> {
    let result = sqlx::query(
        "UPDATE personal_data_reports SET next_at = $3, errors = errors + $4, \
            lease_owner = NULL, lease_until = NULL \
         WHERE client_key = $1 AND lease_owner = $2",
    )
    .bind(client_key)
    .bind(owner)
    .bind(next_at)
    .bind(errors)
    .execute(db.pool())
    .await
    .map_err(DbError::from_write)?;
    Ok(held(result))
}

/// What one retention sweep deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Purged {
    /// Connect tenants deleted (their row: encrypted secret, install payload).
    pub tenants: u64,
    /// Sites whose users' data was deleted.
    pub sites: Vec<String>,
    /// Preferences rows deleted.
    pub preferences: u64,
    /// Forge app system tokens dropped.
    pub forge_tokens: u64,
}

/// Deletes what tenants uninstalled at or before `cutoff` left: the tenant rows, their (and the
/// Forge installations') reporting progress, and Forge app tokens; and the users' data of every site none of whose
/// Connect tenants or Forge installations is installed or was uninstalled after `cutoff`
/// (a re-install, on either side, keeps the site's data). Kept for good: the `sites` row and
/// the uninstalled Forge installations' ids (tombstones, so a late event cannot revive them);
/// neither holds personal data. One transaction per site.
pub async fn purge_uninstalled(db: &Db, cutoff: i64) -> Result<Purged, DbError> {
    let rows = sqlx::query(
        "SELECT site_id FROM tenants WHERE state = 'uninstalled' AND uninstalled_at <= $1 \
            AND site_id IS NOT NULL \
         UNION \
         SELECT f.site_id FROM forge_installations f \
         WHERE f.state = 'uninstalled' AND f.uninstalled_at <= $1 \
            AND (f.system_token_enc IS NOT NULL \
                 OR EXISTS (SELECT 1 FROM preferences p WHERE p.site_id = f.site_id))",
    )
    .bind(cutoff)
    .fetch_all(db.pool())
    .await?;
    let sites: Vec<String> = rows
        .iter()
        .map(|r| r.try_get("site_id"))
        .collect::<Result<_, _>>()?;
    let mut purged = Purged::default();
    for site in sites {
        let mut tx = db.pool().begin().await?;
        let old = "state = 'uninstalled' AND uninstalled_at <= $2";
        let progress = format!(
            "DELETE FROM personal_data_reports WHERE client_key IN \
                (SELECT client_key FROM tenants WHERE site_id = $1 AND {old} \
                 UNION SELECT 'forge:' || installation_id FROM forge_installations \
                 WHERE site_id = $1 AND {old})"
        );
        sqlx::query(sqlx::AssertSqlSafe(progress))
            .bind(&site)
            .bind(cutoff)
            .execute(&mut *tx)
            .await?;
        let tenants = format!("DELETE FROM tenants WHERE site_id = $1 AND {old}");
        purged.tenants += sqlx::query(sqlx::AssertSqlSafe(tenants))
            .bind(&site)
            .bind(cutoff)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let tokens = format!(
            "UPDATE forge_installations SET system_token_enc = NULL, system_token_exp = NULL \
             WHERE site_id = $1 AND {old} AND system_token_enc IS NOT NULL"
        );
        purged.forge_tokens += sqlx::query(sqlx::AssertSqlSafe(tokens))
            .bind(&site)
            .bind(cutoff)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let preferences = sqlx::query(
            "DELETE FROM preferences WHERE site_id = $1 \
             AND NOT EXISTS (SELECT 1 FROM tenants t WHERE t.site_id = $1 \
                AND (t.state <> 'uninstalled' OR t.uninstalled_at IS NULL \
                     OR t.uninstalled_at > $2)) \
             AND NOT EXISTS (SELECT 1 FROM forge_installations f WHERE f.site_id = $1 \
                AND (f.state = 'installed' OR f.uninstalled_at IS NULL \
                     OR f.uninstalled_at > $2))",
        )
        .bind(&site)
        .bind(cutoff)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await.map_err(DbError::from_write)?;
        if preferences > 0 {
            purged.preferences += preferences;
            purged.sites.push(site);
        }
    }
    Ok(purged)
}
