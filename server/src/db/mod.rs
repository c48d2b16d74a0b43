//! The database: one sqlx `Any` pool over SQLite (the embedded default) or PostgreSQL (for
//! several instances), migrations at start-up, and the mapping of driver errors to "unavailable"
//! or "failed". Repositories live in the submodules; SQL lives only here.

pub mod group_commit;
pub mod personal_data;
pub mod preferences;
pub mod replay;
pub mod settle;
pub mod sites;
pub mod tenants;

use std::path::Path;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyConnection, AnyPool, Connection, Executor};

use crate::metrics::store::StoreMeters;
use group_commit::GroupCommit;

/// Every SQLite connection's settings. WAL lets readers run beside the writer. `synchronous =
/// FULL`: a commit is on disk before it returns, so an acknowledged save or lifecycle event
/// survives a power loss or an OS crash (NORMAL only survives a crash of this process); group
/// commit shares that sync among a batch of saves. `busy_timeout`: a statement waits for another
/// writer's lock at most the store timeout, the longest any caller waits (`settle`).
fn sqlite_pragmas(timeout: Duration) -> String {
    format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
         PRAGMA busy_timeout = {}; PRAGMA foreign_keys = ON;",
        timeout.as_millis()
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    /// For a SQLite file: the lock that makes this process its only user (`lock_sqlite_file`).
    _lock: Option<std::sync::Arc<std::fs::File>>,
    /// SQLite file: the writer task preference saves go through (`group_commit`).
    group_commit: Option<GroupCommit>,
    /// `DATABASE_TIMEOUT_MS`: the longest a request waits for the store.
    timeout: Duration,
    /// Save outcomes and group-commit batch sizes (`metrics::store`).
    meters: StoreMeters,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum DbError {
    /// Nothing was done: the store could not be reached, or a write was refused or called off
    /// before it started.
    #[error("the data store is unavailable")]
    Unavailable,
    /// A write was sent but its result is not known (the connection broke, or it still runs).
    #[error("the outcome of a write is unknown")]
    OutcomeUnknown,
    #[error("database error: {0}")]
    Failed(String),
}

impl DbError {
    /// An error of a write whose statement was already sent: a broken connection means the
    /// result is unknown (it may have committed); a database's own error means it did not.
    pub fn from_write(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed => {
                tracing::warn!(error = %e, "a write's connection failed: outcome unknown");
                Self::OutcomeUnknown
            }
            e => Self::from(e),
        }
    }
}

impl From<sqlx::Error> for DbError {
    fn from(e: sqlx::Error) -> Self {
        if is_unavailable(&e) {
            tracing::warn!(error = %e, "the database is unavailable");
            return DbError::Unavailable;
        }
        DbError::Failed(e.to_string())
    }
}

/// Whether an error means "the store cannot serve this now, try again" (503) rather than a bug
/// or bad data (500): no connection within the timeout, a broken connection, a server shutting
/// down or starting, too many connections, a statement cancelled by `statement_timeout`, a lock
/// conflict the client can retry.
fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            // PostgreSQL SQLSTATEs (https://www.postgresql.org/docs/current/errcodes-appendix.html):
            // 08xxx connection exception, 53xxx insufficient resources (too many connections,
            // disk full), 57P01-57P03 admin/crash shutdown and "cannot connect now", 57014
            // statement timeout, 40001/40P01 serialization failure and deadlock.
            let postgres = code.len() == 5
                && (code.starts_with("08")
                    || code.starts_with("53")
                    || code.starts_with("57P")
                    || code == "57014"
                    || code == "40001"
                    || code == "40P01");
            // SQLite result codes (at most 4 digits; extended codes carry the primary one in the
            // low byte): 5 SQLITE_BUSY, 6 SQLITE_LOCKED.
            let sqlite = (code.len() < 5
                && code.parse::<i64>().is_ok_and(|c| matches!(c & 0xff, 5 | 6)))
                || db.message().contains("database is locked");
            postgres || sqlite
        }
        _ => false,
    }
}

impl From<DbError> for app::preferences::store::StoreError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Unavailable => Self::Unavailable,
            DbError::OutcomeUnknown => Self::OutcomeUnknown,
            DbError::Failed(detail) => {
                tracing::error!(%detail, "preferences store failure");
                Self::Failed
            }
        }
    }
}

/// A SQLite URL's file path and query; the path is `None` for an in-memory database.
fn split_sqlite_url(url: &str) -> (Option<&str>, &str) {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    (
        (!path.is_empty() && path != ":memory:").then_some(path),
        query,
    )
}

/// The database file a SQLite URL names (`None` for an in-memory database).
fn sqlite_path(url: &str) -> Option<&Path> {
    split_sqlite_url(url).0.map(Path::new)
}

/// How long start-up waits for another process to release a SQLite file (a development server
/// being restarted by `cargo leptos watch` may still be finishing its last requests).
const SQLITE_LOCK_WAIT: Duration = Duration::from_secs(5);

/// Takes `<file>.lock` for the life of the process. The app keeps in-process caches of what it
/// stores (`crate::cache`), which are only correct if no other process writes the same file:
/// several instances must share PostgreSQL instead (docs/DEPLOYMENT.md).
async fn lock_sqlite_file(path: &Path) -> Result<std::fs::File, String> {
    let lock_path = path.with_extension(match path.extension() {
        Some(ext) => format!("{}.lock", ext.to_string_lossy()),
        None => "lock".into(),
    });
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| format!("cannot open {}: {e}", lock_path.display()))?;
    let started = std::time::Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) if started.elapsed() < SQLITE_LOCK_WAIT => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(format!(
                    "the SQLite database {} is in use by another app process (it holds {}); \
                     several instances need PostgreSQL (docs/DEPLOYMENT.md)",
                    path.display(),
                    lock_path.display()
                ));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(format!("cannot lock {}: {e}", lock_path.display()));
            }
        }
    }
}

/// The SQLite URL with its folder created and `mode=rwc`, so the file appears on first run.
fn prepare_sqlite_url(url: &str) -> std::io::Result<String> {
    let (Some(path), query) = split_sqlite_url(url) else {
        return Ok(url.to_string());
    };
    if let Some(dir) = Path::new(path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir)?;
    }
    let query = if query.contains("mode=") {
        query.to_string()
    } else if query.is_empty() {
        "mode=rwc".to_string()
    } else {
        format!("{query}&mode=rwc")
    };
    Ok(format!("sqlite://{path}?{query}"))
}

impl Db {
    pub async fn connect(
        url: &str,
        max_connections: u32,
        acquire_timeout: Duration,
    ) -> Result<Self, String> {
        install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };
        let url = match backend {
            Backend::Sqlite => prepare_sqlite_url(url)
                .map_err(|e| format!("cannot create the SQLite folder: {e}"))?,
            Backend::Postgres => url.to_string(),
        };
        let lock = match sqlite_path(&url).filter(|_| backend == Backend::Sqlite) {
            Some(path) => Some(std::sync::Arc::new(lock_sqlite_file(path).await?)),
            None => None,
        };
        let ms = acquire_timeout.as_millis();
        let pragmas = sqlite_pragmas(acquire_timeout);
        let pool_pragmas = pragmas.clone();
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            // A request waits at most this long for a connection; while the database is down
            // sqlx keeps retrying a refused connection until then, so it also bounds how long a
            // request takes to fail with 503 during an outage.
            .acquire_timeout(acquire_timeout)
            // PostgreSQL connections are pinged before use: recovery after a database restart
            // relies on it (dead connections are replaced). An embedded SQLite file cannot go
            // away, and the ping was a sizeable part of a read's CPU (docs/BENCHMARKS.md,
            // "Measured reasons behind code choices").
            .test_before_acquire(backend == Backend::Postgres)
            .after_connect(move |conn, _| {
                let pragmas = pool_pragmas.clone();
                Box::pin(async move {
                    match backend {
                        Backend::Sqlite => {
                            sqlx::raw_sql(sqlx::AssertSqlSafe(pragmas))
                                .execute(&mut *conn)
                                .await?;
                        }
                        Backend::Postgres => {
                            // No statement (a lock wait included) and no open transaction of
                            // this session outlives the store timeout: a stuck peer cannot hold
                            // a tenant's row for long, and a request never waits past it.
                            let settings = format!(
                                "SET statement_timeout = {ms}; \
                                 SET idle_in_transaction_session_timeout = {ms};"
                            );
                            sqlx::raw_sql(sqlx::AssertSqlSafe(settings))
                                .execute(&mut *conn)
                                .await?;
                        }
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .map_err(|e| match backend {
                Backend::Sqlite => format!("cannot open the SQLite database: {e}"),
                // The URL may carry a password: say what failed, not where.
                Backend::Postgres => format!("cannot connect to PostgreSQL: {e}"),
            })?;
        let meters = StoreMeters::default();
        // A file only: every connection to `sqlite::memory:` would open a database of its own.
        let group_commit = match backend {
            Backend::Sqlite if lock.is_some() => {
                let mut conn = AnyConnection::connect(&url)
                    .await
                    .map_err(|e| format!("cannot open the SQLite database: {e}"))?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(pragmas))
                    .execute(&mut conn)
                    .await
                    .map_err(|e| format!("cannot open the SQLite database: {e}"))?;
                Some(GroupCommit::start(conn, meters.clone()))
            }
            _ => None,
        };
        Ok(Self {
            pool,
            backend,
            _lock: lock,
            group_commit,
            timeout: acquire_timeout,
            meters,
        })
    }

    /// What the metrics read of the store (`metrics::store`).
    pub fn meters(&self) -> &StoreMeters {
        &self.meters
    }

    /// `DATABASE_TIMEOUT_MS`: the longest a request waits for the store (`settle`).
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// SQLite file: preference saves are group-committed through one connection (SQLite admits
    /// one writer at a time; see `group_commit`); `None` on PostgreSQL, where saves use the pool.
    pub fn group_commit(&self) -> Option<&GroupCommit> {
        self.group_commit.as_ref()
    }

    /// Applies the pending migrations of this backend. On PostgreSQL sqlx holds an advisory lock
    /// meanwhile, so instances starting together apply each migration once; the migration runs
    /// on its own connection without the per-statement timeout (an index build may take long).
    /// Migrations applied by a NEWER release are tolerated (`ignore_missing`): during a rolling
    /// deployment an old instance that restarts must still start against the expanded schema.
    /// An applied migration whose checksum changed still stops start-up.
    pub async fn migrate(&self) -> Result<(), String> {
        let failed = |e: &dyn std::fmt::Display| format!("database migration failed: {e}");
        let mut migrator = match self.backend {
            Backend::Sqlite => sqlx::migrate!("../migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("../migrations/postgres"),
        };
        migrator.set_ignore_missing(true);
        match self.backend {
            Backend::Sqlite => migrator.run(&self.pool).await.map_err(|e| failed(&e)),
            Backend::Postgres => {
                let mut conn = self.pool.acquire().await.map_err(|e| failed(&e))?;
                // Not returned to the pool: its session settings differ.
                conn.close_on_drop();
                conn.execute(
                    "SET statement_timeout = 0; SET idle_in_transaction_session_timeout = 0;",
                )
                .await
                .map_err(|e| failed(&e))?;
                migrator.run(&mut *conn).await.map_err(|e| failed(&e))
            }
        }
    }

    /// Cheap readiness probe: one round trip, bounded by `timeout`.
    pub async fn ping(&self, timeout: Duration) -> bool {
        matches!(
            tokio::time::timeout(timeout, sqlx::query("SELECT 1").execute(&self.pool)).await,
            Ok(Ok(_))
        )
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn close(&self) {
        if let Some(group_commit) = &self.group_commit {
            group_commit.close().await;
        }
        self.pool.close().await;
    }
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

#[cfg(test)]
#[path = "../../tests/common/test_db.rs"]
pub(crate) mod test_db;

/// A fresh, migrated database on the backend this test run selects (`TEST_DATABASE`); keep the
/// guard alive for the test's length.
#[cfg(test)]
pub(crate) async fn test_db() -> (test_db::TestDatabase, Db) {
    let database = test_db::TestDatabase::create().await;
    let db = Db::connect(&database.url, 4, Duration::from_secs(2))
        .await
        .unwrap();
    db.migrate().await.unwrap();
    (database, db)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_get_create_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/app.db");
        let url = format!("sqlite://{}", path.display());
        let prepared = prepare_sqlite_url(&url).unwrap();
        assert!(prepared.ends_with("app.db?mode=rwc"));
        assert!(path.parent().unwrap().is_dir());
        assert_eq!(
            prepare_sqlite_url("sqlite::memory:").unwrap(),
            "sqlite::memory:"
        );
        assert!(
            prepare_sqlite_url("sqlite://x.db?mode=ro")
                .unwrap()
                .ends_with("mode=ro")
        );
    }

    #[tokio::test]
    async fn a_sqlite_file_has_one_process_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.db");
        let url = format!("sqlite://{}", path.display());
        let first = Db::connect(&url, 2, Duration::from_secs(1)).await.unwrap();
        // Another opening of the same file (flock is per open file, so this stands in for a
        // second process) waits, then refuses with advice.
        let err = Db::connect(&url, 2, Duration::from_secs(1))
            .await
            .err()
            .unwrap();
        assert!(err.contains("in use by another app process"), "{err}");
        assert!(err.contains("PostgreSQL"), "{err}");
        // Once the first is gone, the file is free again.
        first.close().await;
        drop(first);
        Db::connect(&url, 2, Duration::from_secs(1)).await.unwrap();
    }

    #[tokio::test]
    async fn a_database_that_does_not_answer_is_unavailable_within_the_timeout() {
        install_default_drivers();
        // A port nobody listens on: every connection attempt is refused.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let pool = AnyPoolOptions::new()
            .acquire_timeout(Duration::from_millis(300))
            .connect_lazy(&format!("postgres://postgres@127.0.0.1:{port}/x"))
            .unwrap();
        let db = Db {
            pool,
            backend: Backend::Postgres,
            _lock: None,
            group_commit: None,
            timeout: Duration::from_millis(300),
            meters: StoreMeters::default(),
        };
        let started = std::time::Instant::now();
        let err = tenants::find(&db, "t").await.unwrap_err();
        assert!(matches!(err, DbError::Unavailable), "{err:?}");
        assert!(started.elapsed() < Duration::from_millis(800));
        assert!(!db.ping(Duration::from_millis(500)).await);
    }

    #[tokio::test]
    async fn an_older_release_starts_after_a_newer_one_migrated() {
        let (_guard, db) = test_db().await;
        // What a newer release would have recorded.
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (99990101000000, 'from a newer release', TRUE, $1, 0)",
        )
        .bind(vec![0u8; 48])
        .execute(db.pool())
        .await
        .unwrap();
        db.migrate().await.unwrap();
        // And migrating again is a no-op.
        db.migrate().await.unwrap();
    }

    #[test]
    fn which_errors_mean_unavailable() {
        let io = || std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert!(is_unavailable(&sqlx::Error::PoolTimedOut));
        assert!(is_unavailable(&sqlx::Error::Io(io())));
        assert!(!is_unavailable(&sqlx::Error::RowNotFound));
        assert!(!is_unavailable(&sqlx::Error::Protocol("bad".into())));
    }
}
