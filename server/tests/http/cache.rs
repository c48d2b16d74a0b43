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

/// An API token verified once is remembered (`server::connect::verified_tokens`), but what can
/// change is checked on every use: its expiry here; uninstall and secret rotation in
/// `lifecycle.rs` (whose tokens were used before the change, so they are remembered too).
#[tokio::test]
async fn a_remembered_token_is_refused_once_it_expires() {
    let app = TestApp::start_with(&[("JWT_LEEWAY_SECS", "0")]).await;
    let tenant = app.install("site").await;
    let mut claims = TestApp::context_claims(&tenant, Some("u1"));
    // Long enough for the first uses to land before it expires on a busy machine.
    let exp = now() + 3;
    claims["exp"] = serde_json::json!(exp);
    let token = sign_hs256(&claims, &tenant.secret);
    for _ in 0..3 {
        assert_eq!(app.get_prefs(&token).await.status, 200);
    }
    while now() <= exp {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let r = app.get_prefs(&token).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.error(), "token_expired");
    // Another user's fresh token of the same tenant still works.
    assert_eq!(
        app.get_prefs(&TestApp::context_token(&tenant, Some("u2")))
            .await
            .status,
        200
    );
}

/// Many clients editing one user through one instance (on SQLite: through the cache), each
/// reading, saving on what it read and retrying on 409 like the page does. Every client's reads
/// are monotonic and see its own acknowledged saves, no update is lost, and the final read is
/// the last landed save.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_edits_through_the_cache_read_their_writes_and_lose_nothing() {
    const CLIENTS: usize = 48;
    const TRIES: usize = 4;
    let app = std::sync::Arc::new(TestApp::start().await);
    let tenant = app.install("site").await;
    let token = std::sync::Arc::new(TestApp::context_token(&tenant, Some("one-user")));
    let mut tasks = tokio::task::JoinSet::new();
    for client in 0..CLIENTS {
        let (app, token) = (app.clone(), token.clone());
        tasks.spawn(async move {
            // (label, revision) of this client's landed saves; the highest revision it knows of.
            let mut landed = Vec::new();
            let mut known = 0;
            for try_no in 0..TRIES {
                let current = app.get_prefs(&token).await;
                assert_eq!(current.status, 200, "{}", current.body);
                let base = current.json()["revision"].as_i64().unwrap();
                assert!(
                    base >= known,
                    "client {client} read revision {base} after {known}"
                );
                known = base;
                let label = format!("c{client}-t{try_no}");
                let mut prefs = sample_prefs();
                prefs["favourite_labels"] = serde_json::json!([label]);
                let r = app.save_prefs(&token, base, &prefs).await;
                match r.status {
                    200 => {
                        let revision = r.json()["revision"].as_i64().unwrap();
                        assert_eq!(revision, base + 1);
                        landed.push((label, revision));
                        known = revision;
                        break;
                    }
                    409 => {
                        let current = r.json()["current"]["revision"].as_i64().unwrap();
                        assert!(current > base, "409 with revision {current} on base {base}");
                        known = known.max(current);
                    }
                    other => panic!("save answered {other}: {}", r.body),
                }
            }
            // Read-your-writes: never older than what this client last saved or saw.
            let after = app.get_prefs(&token).await.json()["revision"]
                .as_i64()
                .unwrap();
            assert!(
                after >= known,
                "client {client} read revision {after} after {known}"
            );
            landed
        });
    }
    let landed: Vec<(String, i64)> = tasks.join_all().await.into_iter().flatten().collect();
    assert!(!landed.is_empty());
    let mut revisions: Vec<i64> = landed.iter().map(|(_, r)| *r).collect();
    revisions.sort_unstable();
    assert_eq!(
        revisions,
        (1..=i64::try_from(landed.len()).unwrap()).collect::<Vec<_>>()
    );
    let (last, _) = landed.iter().max_by_key(|(_, r)| *r).unwrap();
    let stored = app.get_prefs(&token).await.json();
    assert_eq!(stored["revision"], i64::try_from(landed.len()).unwrap());
    assert_eq!(
        stored["preferences"]["favourite_labels"],
        serde_json::json!([last])
    );
}
