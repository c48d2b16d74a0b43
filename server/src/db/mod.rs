//! The database: one sqlx `Any` pool over SQLite (the embedded default) or PostgreSQL (for
//! several instances), migrations at start-up, and the mapping of driver errors to "unavailable"
//! or "failed". Repositories live in the submodules; SQL lives only here.

pub mod preferences;
pub mod replay;
pub mod tenants;

use std::path::Path;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("the data store is unavailable")]
    Unavailable,
    #[error("database error: {0}")]
    Failed(String),
}

impl From<sqlx::Error> for DbError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                DbError::Unavailable
            }
            sqlx::Error::Database(db) if db.message().contains("database is locked") => {
                DbError::Unavailable
            }
            other => DbError::Failed(other.to_string()),
        }
    }
}

impl From<DbError> for app::preferences::store::StoreError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Unavailable => Self::Unavailable,
            DbError::Failed(detail) => {
                tracing::error!(%detail, "preferences store failure");
                Self::Failed
            }
        }
    }
}

/// The SQLite URL with its folder created and `mode=rwc`, so the file appears on first run.
fn prepare_sqlite_url(url: &str) -> std::io::Result<String> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() || path == ":memory:" {
        return Ok(url.to_string());
    }
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
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(acquire_timeout)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers run beside the writer; busy_timeout queues writers
                        // instead of failing them; NORMAL is durable across process crashes.
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;",
                        )
                        .await?;
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
        Ok(Self { pool, backend })
    }

    pub async fn migrate(&self) -> Result<(), String> {
        let result = match self.backend {
            Backend::Sqlite => sqlx::migrate!("../migrations/sqlite").run(&self.pool).await,
            Backend::Postgres => {
                sqlx::migrate!("../migrations/postgres")
                    .run(&self.pool)
                    .await
            }
        };
        result.map_err(|e| format!("database migration failed: {e}"))
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
        self.pool.close().await;
    }
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
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
}
