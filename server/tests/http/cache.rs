//! The in-process caches (`server::cache`): on SQLite (one process owns the file) a tenant and a
//! user's preferences, once read, are answered from memory; on PostgreSQL (several instances
//! may write) nothing is cached. Lifecycle events and saves reaching the cache at once is what
//! `lifecycle.rs` and `preferences.rs` test; this file shows which backend caches at all, so
//! those tests are known to exercise the cache.

use crate::common::test_db::{TestBackend, backend};
use crate::common::*;

#[tokio::test]
async fn sqlite_answers_repeated_reads_from_memory_postgres_never_does() {
    let app = TestApp::start().await;
    let tenant = app.install("site").await;
    let token = TestApp::context_token(&tenant, Some("u1"));
    let r = app.save_prefs(&token, 0, &sample_prefs()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(app.get_prefs(&token).await.status, 200);

    // Behind the app's back (nothing the app does itself): the rows disappear.
    for sql in ["DELETE FROM preferences", "DELETE FROM tenants"] {
        sqlx::query(sql).execute(app.state.db.pool()).await.unwrap();
    }

    let r = app.get_prefs(&token).await;
    match backend() {
        TestBackend::Sqlite => {
            assert_eq!(r.status, 200, "{}", r.body);
            assert_eq!(r.json()["preferences"], sample_prefs());
            assert_eq!(r.json()["revision"], 1);
        }
        TestBackend::Postgres => {
            assert_eq!(r.status, 401, "{}", r.body);
            assert_eq!(r.error(), "invalid_token");
        }
    }
}

#[tokio::test]
async fn cache_mib_zero_turns_the_caches_off() {
    let app = TestApp::start_with(&[("CACHE_MIB", "0")]).await;
    let tenant = app.install("site").await;
    let token = TestApp::context_token(&tenant, Some("u1"));
    assert_eq!(app.get_prefs(&token).await.status, 200);
    sqlx::query("DELETE FROM tenants")
        .execute(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(app.get_prefs(&token).await.status, 401);
}
