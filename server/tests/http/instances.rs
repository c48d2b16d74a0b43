//! Several app instances sharing one PostgreSQL database, and a PostgreSQL outage. Nothing that
//! matters may live only in one process: a tenant installed, re-installed or uninstalled through
//! one instance is seen by every other one at once, concurrent saves through different
//! instances lose no update, and while the database is down requests answer 503
//! `store_unavailable` within `DATABASE_TIMEOUT_MS` and recover by themselves.
//!
//! PostgreSQL only (`TEST_DATABASE=postgres`, as `scripts/test.sh` runs the suite a second
//! time); on the SQLite run each test prints that it was skipped.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::test_db::{TestBackend, backend};
use crate::common::*;

const QUERY: &str = "lic=none&xdm_e=https%3A%2F%2Fsite.atlassian.net&cp=%2Fwiki&loc=en-GB";

/// Whether this run tests PostgreSQL; otherwise says the test was skipped.
fn postgres_run(test: &str) -> bool {
    let yes = backend() == TestBackend::Postgres;
    if !yes {
        eprintln!("skipped {test}: PostgreSQL only (TEST_DATABASE=postgres, see scripts/test.sh)");
    }
    yes
}

/// Instance A, instance B on the same database, and a tenant installed through A.
async fn two_instances(site: &str) -> (Arc<TestApp>, Arc<TestApp>, Tenant) {
    let a = TestApp::start().await;
    let b = TestApp::start_sharing(&a, &[]).await;
    assert_ne!(a.base, b.base);
    let tenant = a.install(site).await;
    (Arc::new(a), Arc::new(b), tenant)
}

/// The `content` of `<meta name="token">`.
fn meta_token(html: &str) -> Option<String> {
    let marker = r#"<meta name="token" content=""#;
    let start = html.find(marker)? + marker.len();
    let len = html[start..].find('"')?;
    Some(html[start..start + len].to_string())
}

#[tokio::test]
async fn a_page_reloaded_through_a_shows_a_save_made_through_b() {
    if !postgres_run("a_page_reloaded_through_a_shows_a_save_made_through_b") {
        return;
    }
    let (a, b, tenant) = two_instances("pages").await;
    let url = TestApp::iframe_url(&tenant, Some("user-1"), "/preferences", QUERY);
    let page = a.get(&url).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(r#"\"revision\":0,"#));
    let session = meta_token(&page.body).expect("session token in the page");
    let r = b.save_prefs(&session, 0, &sample_prefs()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // A rendered this user's page before; it must not serve that copy again.
    let page = a.get(&url).await;
    assert!(
        page.body.contains(r#"\"revision\":1,"#) && page.body.contains("release-notes"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn install_through_a_then_page_and_saves_through_b() {
    if !postgres_run("install_through_a_then_page_and_saves_through_b") {
        return;
    }
    let (a, b, tenant) = two_instances("shared").await;
    // The page through B, then saves through B with the session token B wrote into it.
    let page = b
        .get(&TestApp::iframe_url(
            &tenant,
            Some("user-1"),
            "/preferences",
            QUERY,
        ))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let session = meta_token(&page.body).expect("session token in the page");
    let r = b.save_prefs(&session, 0, &sample_prefs()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // No sticky sessions: A accepts B's session token and sees B's save, and the other way.
    let r = a.get_prefs(&session).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["revision"], 1);
    assert_eq!(r.json()["preferences"], sample_prefs());
    let mut theirs = sample_prefs();
    theirs["items_per_page"] = json!(10);
    assert_eq!(a.save_prefs(&session, 1, &theirs).await.status, 200);
    let r = b.save_prefs(&session, 1, &sample_prefs()).await;
    assert_eq!(r.status, 409, "B must see A's revision 2: {}", r.body);
    assert_eq!(r.json()["current"]["preferences"], theirs);
    // A lifecycle callback through B (same public baseUrl) works too.
    let other = b.install("via-b").await;
    assert_eq!(a.api_status_for(&other).await, 200);
}

#[tokio::test]
async fn reinstall_through_a_is_honoured_by_b_immediately() {
    if !postgres_run("reinstall_through_a_is_honoured_by_b_immediately") {
        return;
    }
    let (a, b, tenant) = two_instances("reinstall").await;
    // B has verified tokens of this tenant (anything it might keep is warm).
    assert_eq!(b.api_status_for(&tenant).await, 200);
    let renewed = tenant.with_secret(&unique("renewed-secret"));
    a.install_tenant(&renewed).await;
    // The very next request to B: old secret refused, new one accepted.
    assert_eq!(
        b.api_status_for(&tenant).await,
        401,
        "B kept the old secret"
    );
    assert_eq!(b.api_status_for(&renewed).await, 200);
    let page = b
        .get(&TestApp::iframe_url(
            &tenant,
            Some("u"),
            "/preferences",
            QUERY,
        ))
        .await;
    assert_eq!(page.status, 401, "page with the old secret: {}", page.body);
}

#[tokio::test]
async fn uninstall_through_a_is_honoured_by_b_immediately() {
    if !postgres_run("uninstall_through_a_is_honoured_by_b_immediately") {
        return;
    }
    let (a, b, tenant) = two_instances("uninstall").await;
    assert_eq!(b.api_status_for(&tenant).await, 200);
    let r = a.uninstall(&tenant).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(
        b.api_status_for(&tenant).await,
        401,
        "B still accepts tokens"
    );
    let page = b
        .get(&TestApp::iframe_url(
            &tenant,
            Some("u"),
            "/preferences",
            QUERY,
        ))
        .await;
    assert_eq!(page.status, 401, "{}", page.body);
}

/// One save attempt: the status, and for a 200 the revision it created.
#[derive(Debug, Clone)]
struct Attempt {
    status: u16,
    revision: Option<i64>,
    label: String,
}

/// Reads the current revision through `app`, then saves `label` on it.
async fn read_then_save(app: &TestApp, token: &str, label: &str) -> Attempt {
    let current = app.get_prefs(token).await;
    let base = if current.status == 200 {
        current.json()["revision"].as_i64().unwrap()
    } else {
        return Attempt {
            status: current.status,
            revision: None,
            label: label.to_string(),
        };
    };
    let mut prefs = sample_prefs();
    prefs["favourite_labels"] = json!([label]);
    let r = app.save_prefs(token, base, &prefs).await;
    Attempt {
        status: r.status,
        revision: (r.status == 200).then(|| r.json()["revision"].as_i64().unwrap()),
        label: label.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_saves_over_two_instances_lose_no_update() {
    if !postgres_run("concurrent_saves_over_two_instances_lose_no_update") {
        return;
    }
    const CLIENTS: usize = 64;
    const TRIES: usize = 3;
    let (a, b, tenant) = two_instances("concurrent").await;
    let token = Arc::new(TestApp::context_token(&tenant, Some("one-user")));
    let mut tasks = tokio::task::JoinSet::new();
    for client in 0..CLIENTS {
        let app = if client % 2 == 0 {
            a.clone()
        } else {
            b.clone()
        };
        let token = token.clone();
        tasks.spawn(async move {
            // Each client retries on 409 a bounded number of times, like the page does.
            let mut attempts = Vec::new();
            for try_no in 0..TRIES {
                let attempt = read_then_save(&app, &token, &format!("c{client}-t{try_no}")).await;
                let retry = attempt.status == 409;
                attempts.push(attempt);
                if !retry {
                    break;
                }
            }
            attempts
        });
    }
    let attempts: Vec<Attempt> = tasks.join_all().await.into_iter().flatten().collect();
    let saved: Vec<&Attempt> = attempts.iter().filter(|a| a.status == 200).collect();
    let conflicts = attempts.iter().filter(|a| a.status == 409).count();
    let others: Vec<&Attempt> = attempts
        .iter()
        .filter(|a| !matches!(a.status, 200 | 409))
        .collect();
    eprintln!(
        "concurrent saves: {} attempts, {} saved (200), {conflicts} conflicts (409)",
        attempts.len(),
        saved.len()
    );
    assert!(others.is_empty(), "answers other than 200/409: {others:?}");
    assert!(!saved.is_empty());
    // Every landed save made its own revision: exactly 1..=n, none lost or repeated.
    let mut revisions: Vec<i64> = saved.iter().map(|a| a.revision.unwrap()).collect();
    revisions.sort_unstable();
    let expected: Vec<i64> = (1..=i64::try_from(saved.len()).unwrap()).collect();
    assert_eq!(revisions, expected);
    // The stored copy is the last landed save, read through either instance.
    let last = saved
        .iter()
        .max_by_key(|a| a.revision)
        .map(|a| a.label.clone())
        .unwrap();
    for app in [&a, &b] {
        let stored = app.get_prefs(&token).await.json();
        assert_eq!(stored["revision"], i64::try_from(saved.len()).unwrap());
        assert_eq!(stored["preferences"]["favourite_labels"], json!([last]));
    }
}

// ---------------------------------------------------------------------------------------------
// Outage: a throw-away PostgreSQL server of this test's own (the suite's shared server keeps
// running for the other tests), stopped and started again with scripts/pg.sh.
// ---------------------------------------------------------------------------------------------

struct Cluster {
    dir: tempfile::TempDir,
    port: u16,
    url: String,
}

fn pg_sh(dir: &std::path::Path, port: u16, command: &str) -> Result<String, String> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/pg.sh");
    let out = Command::new(script)
        .arg(command)
        .env("PG_DIR", dir)
        .env("PG_PORT", port.to_string())
        .output()
        .map_err(|e| format!("cannot run {script}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "pg.sh {command} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

impl Cluster {
    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::Builder::new()
            .prefix("pg-outage-")
            .tempdir_in(std::env::temp_dir())
            .unwrap();
        let path = dir.path().to_path_buf();
        let url = tokio::task::spawn_blocking(move || pg_sh(&path, port, "start"))
            .await
            .unwrap()
            .unwrap();
        Self { dir, port, url }
    }

    async fn run(&self, command: &'static str) {
        let (path, port) = (self.dir.path().to_path_buf(), self.port);
        tokio::task::spawn_blocking(move || pg_sh(&path, port, command))
            .await
            .unwrap()
            .unwrap();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Err(e) = pg_sh(self.dir.path(), self.port, "stop") {
            eprintln!("{e}");
        }
    }
}

/// Sends `request`, returning the reply and how long it took.
async fn timed<F: std::future::Future<Output = Reply>>(request: F) -> (Reply, Duration) {
    let started = Instant::now();
    let reply = request.await;
    (reply, started.elapsed())
}

fn assert_unavailable(r: &Reply, took: Duration, limit: Duration, case: &str) {
    eprintln!("outage: {case} answered {} in {took:?}", r.status);
    assert_eq!(r.status, 503, "{case}: {}", r.body);
    assert!(took < limit, "{case} took {took:?} (limit {limit:?})");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_outage_fails_fast_with_503_and_recovers_by_itself() {
    if !postgres_run("store_outage_fails_fast_with_503_and_recovers_by_itself") {
        return;
    }
    const TIMEOUT_MS: u64 = 1000;
    // What "fast" means: the configured timeout plus a little scheduling slack.
    let limit = Duration::from_millis(TIMEOUT_MS + 750);
    let cluster = Cluster::start().await;
    let app = Arc::new(
        TestApp::start_with(&[
            ("DATABASE_URL", &cluster.url),
            ("DATABASE_TIMEOUT_MS", &TIMEOUT_MS.to_string()),
        ])
        .await,
    );
    let tenant = app.install("outage").await;
    let token = Arc::new(TestApp::context_token(&tenant, Some("u-outage")));
    assert_eq!(
        read_then_save(&app, &token, "before").await.status,
        200,
        "first save"
    );

    // A user keeps saving while the database goes away.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (app, token, stop) = (app.clone(), token.clone(), stop.clone());
        tokio::spawn(async move {
            let mut attempts = Vec::new();
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                attempts.push(read_then_save(&app, &token, &format!("w{n}")).await);
                n += 1;
            }
            attempts
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    cluster.run("pause").await;

    // While it is down: 503 store_unavailable, within the timeout.
    let (r, took) = timed(app.get_prefs(&token)).await;
    assert_unavailable(&r, took, limit, "GET /api/preferences");
    assert_eq!(r.error(), "store_unavailable");
    let (r, took) = timed(app.save_prefs(&token, 1, &sample_prefs())).await;
    assert_unavailable(&r, took, limit, "POST /api/preferences");
    assert_eq!(r.error(), "store_unavailable");
    let (r, took) = timed(app.get(&TestApp::iframe_url(
        &tenant,
        Some("u-outage"),
        "/preferences",
        QUERY,
    )))
    .await;
    assert_unavailable(&r, took, limit, "GET /preferences (page)");
    let (r, took) = timed(app.get("/readyz")).await;
    assert_unavailable(&r, took, limit, "GET /readyz");
    assert_eq!(r.error(), "store_unavailable");
    assert_eq!(
        app.get("/healthz").await.status,
        200,
        "liveness is not readiness"
    );
    // A re-install during the outage is refused whole: neither its replay entry nor the new
    // secret is stored (checked after recovery by sending the same token again).
    let renewed = tenant.with_secret(&unique("renewed-in-outage"));
    let (install_token, install_body) = app.install_request(&renewed.client_key, &renewed.secret);
    let (r, took) = timed(app.post_lifecycle("/installed", &install_token, &install_body)).await;
    assert_unavailable(&r, took, limit, "POST /installed");
    assert_eq!(r.error(), "store_unavailable");

    stop.store(true, Ordering::Relaxed);
    let attempts = writer.await.unwrap();
    let count = |status| attempts.iter().filter(|a| a.status == status).count();
    eprintln!(
        "outage: the writer made {} attempts: {} saved, {} conflicts, {} unavailable",
        attempts.len(),
        count(200),
        count(409),
        count(503)
    );
    let bad: Vec<&Attempt> = attempts
        .iter()
        .filter(|a| !matches!(a.status, 200 | 409 | 503))
        .collect();
    assert!(bad.is_empty(), "answers other than 200/409/503: {bad:?}");
    assert!(attempts.iter().any(|a| a.status == 503), "{attempts:?}");

    // Back up: the same process recovers without a restart.
    cluster.run("start").await;
    let started = Instant::now();
    loop {
        let r = app.get("/readyz").await;
        if r.status == 200 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "not ready 20 s after the database returned: {} {}",
            r.status,
            r.body
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "outage: ready again {:?} after the restart",
        started.elapsed()
    );

    // The stored document is one whole save: every 200 is in it, no save is half-applied.
    // (A save answered 503 may still have landed if only its reply was lost; it then counts
    // as a whole save too.)
    let stored = app.get_prefs(&token).await;
    assert_eq!(stored.status, 200, "{}", stored.body);
    let stored = stored.json();
    let revision = stored["revision"].as_i64().unwrap();
    let saved: Vec<&Attempt> = attempts.iter().filter(|a| a.status == 200).collect();
    let unknown = i64::try_from(attempts.iter().filter(|a| a.status == 503).count()).unwrap();
    assert!(
        (1 + i64::try_from(saved.len()).unwrap()
            ..=1 + i64::try_from(saved.len()).unwrap() + unknown)
            .contains(&revision),
        "revision {revision}, {} saves answered 200, {unknown} answered 503",
        saved.len()
    );
    let label = stored["preferences"]["favourite_labels"][0]
        .as_str()
        .unwrap()
        .to_string();
    let mut whole = sample_prefs();
    whole["favourite_labels"] = json!([label]);
    assert_eq!(stored["preferences"], whole);
    if let Some(s) = saved.iter().find(|a| a.label == label) {
        assert_eq!(s.revision, Some(revision));
    } else {
        assert!(
            label == "before" || attempts.iter().any(|a| a.label == label && a.status == 503),
            "stored {label:?}, which no save sent"
        );
    }
    assert_eq!(
        read_then_save(&app, &token, "after").await.status,
        200,
        "save after recovery"
    );

    // The install refused during the outage left nothing behind: the old secret still works,
    // and the very same token is accepted now (it was not recorded as used).
    assert_eq!(app.api_status_for(&tenant).await, 200);
    let r = app
        .post_lifecycle("/installed", &install_token, &install_body)
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(app.api_status_for(&renewed).await, 200);
    assert_eq!(app.api_status_for(&tenant).await, 401);
}
