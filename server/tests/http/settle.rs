//! An answer about a write is always true, and no cache is left older than the database, when
//! the store is slow: another connection holds the write lock (SQLite `BEGIN IMMEDIATE`;
//! PostgreSQL `LOCK TABLE … IN EXCLUSIVE MODE`, which blocks writers and lets readers through),
//! and callers leave half-way or hit the store timeout (`server/src/db/settle.rs`).

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use sqlx::{AnyConnection, Connection, Row};
use tower::ServiceExt;

use crate::common::test_db::{TestBackend, backend};
use crate::common::*;

/// Another connection holding the store's write lock until `release`.
struct WriteLock(AnyConnection);

impl WriteLock {
    async fn take(app: &TestApp) -> Self {
        sqlx::any::install_default_drivers();
        let mut conn = AnyConnection::connect(app.state.config.database_url.expose_secret())
            .await
            .unwrap();
        let sql = match backend() {
            TestBackend::Sqlite => "BEGIN IMMEDIATE",
            TestBackend::Postgres => {
                "BEGIN; LOCK TABLE preferences, tenants, lifecycle_replay IN EXCLUSIVE MODE"
            }
        };
        sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
        Self(conn)
    }

    async fn release(mut self) {
        sqlx::raw_sql("COMMIT").execute(&mut self.0).await.unwrap();
        self.0.close().await.unwrap();
    }
}

fn labelled(label: &str) -> Value {
    let mut prefs = sample_prefs();
    prefs["favourite_labels"] = json!([label]);
    prefs
}

/// (revision, labels) as stored, read past every cache.
async fn stored(app: &TestApp, tenant: &Tenant, user: &str) -> Option<(i64, Value)> {
    let row = sqlx::query(
        "SELECT p.revision, p.data FROM preferences p JOIN tenants t ON t.site_id = p.site_id \
         WHERE t.client_key = $1 AND p.account_id = $2",
    )
    .bind(&tenant.client_key)
    .bind(user)
    .fetch_optional(app.state.db.pool())
    .await
    .unwrap()?;
    let data: String = row.get(1);
    let data: Value = serde_json::from_str(&data).unwrap();
    Some((row.get(0), data["favourite_labels"].clone()))
}

async fn tenant_state(app: &TestApp, tenant: &Tenant) -> String {
    sqlx::query("SELECT state FROM tenants WHERE client_key = $1")
        .bind(&tenant.client_key)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap()
        .get(0)
}

/// Waits (bounded) until `done` holds.
async fn eventually<F: std::future::Future<Output = bool>>(
    what: &str,
    mut done: impl FnMut() -> F,
) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done().await {
        assert!(Instant::now() < deadline, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends `req` through the router and drops it unanswered after `after`: the caller leaves.
async fn leave_after(app: &TestApp, req: Request<Body>, after: Duration) {
    let res = tokio::time::timeout(after, app.router.clone().oneshot(req)).await;
    assert!(
        res.is_err(),
        "the request should still be waiting for the lock"
    );
}

#[tokio::test]
async fn a_save_whose_caller_left_is_seen_by_the_next_reads_once_it_commits() {
    let app = TestApp::start().await;
    let tenant = app.install("site").await;
    let token = TestApp::context_token(&tenant, Some("u"));
    assert_eq!(
        app.save_prefs(&token, 0, &labelled("before")).await.status,
        200
    );
    assert_eq!(
        app.get_prefs(&token).await.json()["preferences"]["favourite_labels"],
        json!(["before"])
    );

    let lock = WriteLock::take(&app).await;
    let body = json!({"base_revision": 1, "preferences": labelled("after")}).to_string();
    let save = Request::post("/api/preferences")
        .header("authorization", format!("JWT {token}"))
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap();
    leave_after(&app, save, Duration::from_millis(300)).await;
    // While the save waits for the lock, readers see the committed copy (and may cache it).
    let r = app.get_prefs(&token).await;
    assert_eq!(
        r.json()["preferences"]["favourite_labels"],
        json!(["before"]),
        "{}",
        r.body
    );
    lock.release().await;

    // The save was started, so it is written although its caller left...
    eventually("the save commits", || async {
        stored(&app, &tenant, "u")
            .await
            .is_some_and(|(rev, _)| rev == 2)
    })
    .await;
    // ...and from then on every read shows it: no cache kept the older copy.
    let r = app.get_prefs(&token).await;
    assert_eq!(r.json()["revision"], 2, "{}", r.body);
    assert_eq!(
        r.json()["preferences"]["favourite_labels"],
        json!(["after"])
    );
}

#[tokio::test]
async fn at_the_store_timeout_a_save_is_answered_truly_and_nothing_is_written_later() {
    const TIMEOUT_MS: u64 = 400;
    let app = TestApp::start_with(&[("DATABASE_TIMEOUT_MS", &TIMEOUT_MS.to_string())]).await;
    let tenant = app.install("site").await;
    let users = ["u1", "u2", "u3", "u4"];
    for user in users {
        let token = TestApp::context_token(&tenant, Some(user));
        assert_eq!(
            app.save_prefs(&token, 0, &labelled("before")).await.status,
            200
        );
    }

    // The lock is held for well over twice the store timeout: every statement that waits for
    // it gives up (SQLite's busy timeout, PostgreSQL's statement timeout) before it is released.
    let lock = WriteLock::take(&app).await;
    let started = Instant::now();
    let saves = users.map(|user| {
        let app = &app;
        let token = TestApp::context_token(&tenant, Some(user));
        async move {
            let r = app.save_prefs(&token, 1, &labelled("after")).await;
            (user, r)
        }
    });
    let answers = futures::future::join_all(saves).await;
    let waited = started.elapsed();
    tokio::time::sleep(Duration::from_millis(3 * TIMEOUT_MS)).await;
    lock.release().await;
    assert!(
        waited < Duration::from_millis(2 * TIMEOUT_MS),
        "callers waited {waited:?}"
    );

    // Give any late statement every chance to land, then compare the answers with the truth.
    tokio::time::sleep(Duration::from_millis(3 * TIMEOUT_MS)).await;
    for (user, r) in answers {
        assert_eq!(r.status, 503, "{user}: {}", r.body);
        let code = r.error();
        assert!(
            ["store_unavailable", "outcome_unknown"].contains(&code.as_str()),
            "{code}"
        );
        let (revision, labels) = stored(&app, &tenant, user).await.unwrap();
        if code == "store_unavailable" {
            assert_eq!(
                (revision, &labels),
                (1, &json!(["before"])),
                "{user}: said not saved"
            );
        }
        // Whatever happened, reads show what the database holds.
        let token = TestApp::context_token(&tenant, Some(user));
        let read = app.get_prefs(&token).await.json();
        assert_eq!(
            (
                read["revision"].as_i64().unwrap(),
                &read["preferences"]["favourite_labels"]
            ),
            (revision, &labels),
            "{user}"
        );
    }
}

#[tokio::test]
async fn an_uninstall_whose_caller_left_still_locks_the_tenant_out_once_it_commits() {
    let app = TestApp::start().await;
    let tenant = app.install("site").await;
    let token = || TestApp::context_token(&tenant, Some("u"));
    assert_eq!(app.get_prefs(&token()).await.status, 200);

    let lock = WriteLock::take(&app).await;
    let (jwt, body) = app.uninstall_request(&tenant);
    let uninstall = Request::post("/uninstalled")
        .header("authorization", format!("JWT {jwt}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    leave_after(&app, uninstall, Duration::from_millis(300)).await;
    // Until it commits the tenant is still installed (and a token check may cache that).
    assert_eq!(app.get_prefs(&token()).await.status, 200);
    lock.release().await;

    eventually("the uninstall commits", || async {
        tenant_state(&app, &tenant).await == "uninstalled"
    })
    .await;
    let r = app.get_prefs(&token()).await;
    assert_eq!(
        r.status, 401,
        "an uninstalled tenant's token still works: {}",
        r.body
    );
}

#[tokio::test]
async fn a_lifecycle_write_past_the_store_timeout_is_answered_truly() {
    const TIMEOUT_MS: u64 = 400;
    let app = TestApp::start_with(&[("DATABASE_TIMEOUT_MS", &TIMEOUT_MS.to_string())]).await;
    let tenant = app.install("site").await;
    let token = || TestApp::context_token(&tenant, Some("u"));

    let lock = WriteLock::take(&app).await;
    let started = Instant::now();
    let r = app.uninstall(&tenant).await;
    let waited = started.elapsed();
    tokio::time::sleep(Duration::from_millis(3 * TIMEOUT_MS)).await;
    lock.release().await;
    assert!(
        waited < Duration::from_millis(2 * TIMEOUT_MS),
        "waited {waited:?}"
    );
    assert_eq!(r.status, 503, "{}", r.body);
    let code = r.error();
    assert!(
        ["store_unavailable", "outcome_unknown"].contains(&code.as_str()),
        "{code}"
    );

    tokio::time::sleep(Duration::from_millis(3 * TIMEOUT_MS)).await;
    let state = tenant_state(&app, &tenant).await;
    if code == "store_unavailable" {
        assert_eq!(state, "installed", "said not applied");
    }
    let expected = if state == "installed" { 200 } else { 401 };
    assert_eq!(
        app.get_prefs(&token()).await.status,
        expected,
        "token checks follow the database"
    );
}
