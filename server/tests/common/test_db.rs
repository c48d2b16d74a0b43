//! One fresh database per test, on the backend the run selects (the test matrix):
//!
//! - default (or `TEST_DATABASE=sqlite`): a SQLite file in a temporary folder;
//! - `TEST_DATABASE=postgres`: a new database `test_p<pid>_<uuid>` created through `TEST_PG_URL`,
//!   an admin URL such as the one `scripts/pg.sh url` prints, and dropped when the test ends.
//!
//! Shared by the HTTP harness (`tests/common/mod.rs`) and the server's own unit tests
//! (`src/db/mod.rs` includes this file), so both run the same way on both backends.
#![allow(
    dead_code,
    clippy::unwrap_used,
    reason = "test helpers: each test binary uses its own part; a panic is the failure report"
)]

use sqlx::{AssertSqlSafe, Connection};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestBackend {
    Sqlite,
    Postgres,
}

/// The backend this run tests, from `TEST_DATABASE`.
pub fn backend() -> TestBackend {
    match std::env::var("TEST_DATABASE").as_deref() {
        Err(_) | Ok("") | Ok("sqlite") => TestBackend::Sqlite,
        Ok("postgres") => TestBackend::Postgres,
        Ok(other) => panic!("TEST_DATABASE must be sqlite or postgres, not {other:?}"),
    }
}

/// The PostgreSQL admin URL (`TEST_PG_URL`); only read when the run tests PostgreSQL.
pub fn admin_url() -> String {
    std::env::var("TEST_PG_URL").unwrap_or_else(|_| {
        panic!(
            "TEST_DATABASE=postgres needs TEST_PG_URL, an admin URL of a running server \
             (scripts/pg.sh start prints one)"
        )
    })
}

/// `admin_url` with its database replaced by `name`.
pub fn database_url(admin_url: &str, name: &str) -> String {
    let mut url = url::Url::parse(admin_url).expect("TEST_PG_URL is a URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// Once per test process: drops the databases earlier test processes could not drop (their
/// names carry the pid of a process that no longer exists).
async fn reap_leftovers(admin: &mut sqlx::PgConnection) {
    static ONCE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if ONCE.swap(true, std::sync::atomic::Ordering::SeqCst) {
        return;
    }
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname::text FROM pg_database WHERE datname LIKE 'test\\_p%'")
            .fetch_all(&mut *admin)
            .await
            .unwrap_or_default();
    for name in names {
        let pid = name
            .strip_prefix("test_p")
            .and_then(|rest| rest.split('_').next())
            .and_then(|pid| pid.parse::<u32>().ok());
        let gone = pid.is_some_and(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists());
        if gone && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
            let _ = sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut *admin).await;
        }
    }
}

enum Guard {
    Sqlite(tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

/// A database for one test (shared by every app instance the test starts); removed on drop.
pub struct TestDatabase {
    /// The `DATABASE_URL` to give the app.
    pub url: String,
    pub backend: TestBackend,
    guard: Guard,
}

impl TestDatabase {
    pub async fn create() -> Self {
        match backend() {
            TestBackend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                Self {
                    url: format!("sqlite://{}/app.db", dir.path().display()),
                    backend: TestBackend::Sqlite,
                    guard: Guard::Sqlite(dir),
                }
            }
            TestBackend::Postgres => {
                let admin_url = admin_url();
                let pid = std::process::id();
                let name = format!("test_p{pid}_{}", uuid::Uuid::new_v4().simple());
                let mut admin = sqlx::PgConnection::connect(&admin_url)
                    .await
                    .unwrap_or_else(|e| panic!("cannot reach TEST_PG_URL: {e}"));
                reap_leftovers(&mut admin).await;
                sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut admin)
                    .await
                    .unwrap();
                let _ = admin.close().await;
                Self {
                    url: database_url(&admin_url, &name),
                    backend: TestBackend::Postgres,
                    guard: Guard::Postgres { admin_url, name },
                }
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Guard::Postgres { admin_url, name } = &self.guard else {
            return;
        };
        // Drop runs inside the test's runtime, which cannot block on a future, and FORCE (ending
        // the sessions the app's pool still holds) takes up to a tenth of a second: a thread of
        // its own does it while the next test starts. One that the end of the test process cuts
        // short leaves a database behind, which `scripts/pg.sh stop` deletes with the cluster.
        let (admin_url, name) = (admin_url.clone(), name.clone());
        std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await {
                    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    let _ = sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut admin).await;
                    let _ = admin.close().await;
                }
            });
        });
    }
}
