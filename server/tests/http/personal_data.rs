//! Personal data: the app against the simulator playing Atlassian's personal data reporting API
//! (app JWT checked, ≤ 90 accounts, `closed` answers, `Cycle-Period`, a log of every batch) and
//! the retention of uninstalled tenants' data. The sites are installed by the simulator, so the
//! tenants' secrets and base URLs are what a real install delivers.

use crate::common::test_db::{TestBackend, backend};
use crate::common::*;
use crate::world::World;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

use server::personal_data::{self, Mode, Runner};

const ALICE: &str = "557058:aaaa-alice";
const BOB: &str = "557058:bbbb-bob";
const REPORT_PATH: &str = "/sites/acme/wiki/rest/atlassian-connect/latest/report-accounts";

impl World {
    /// The app (its background job off unless `extra` turns it on) against the simulator.
    async fn start(extra: &[(&str, &str)]) -> Self {
        let mut env = vec![
            ("PERSONAL_DATA_INTERVAL_SECS", "0"),
            ("PERSONAL_DATA_BATCH_PAUSE_MS", "0"),
        ];
        env.extend_from_slice(extra);
        World::launch(&env, false).await
    }

    /// The app's site id of a simulator site (while it is installed).
    async fn site_id(&self, site: &str) -> String {
        let key = self.client_key(site).await;
        let tenant = self.app.state.verifier.installed_tenant(&key).await;
        tenant.unwrap().site_id
    }

    /// Saves `user`'s preferences on `site` through the app (so caches hold them too).
    async fn save(&self, site: &str, user: &str) {
        let token = self.token(site, user).await;
        let mut prefs = sample_prefs();
        prefs["default_space_key"] = json!(null);
        let r = self.app.save_prefs(&token, 0, &prefs).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }

    /// `user`'s stored revision on `site` as the app shows it (0: nothing stored).
    async fn revision(&self, site: &str, user: &str) -> i64 {
        let token = self.token(site, user).await;
        let r = self.app.get_prefs(&token).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()["revision"].as_i64().unwrap()
    }

    /// Stores `n` made-up accounts on `site_id` directly.
    async fn seed_accounts(&self, site_id: &str, n: usize) -> Vec<String> {
        let data = serde_json::to_string(&default_prefs()).unwrap();
        let mut ids = Vec::new();
        for i in 0..n {
            let id = format!("557058:seed-{i:05}");
            sqlx::query(
                "INSERT INTO preferences (site_id, account_id, schema_version, data, revision, \
                    updated_at) VALUES ($1, $2, 1, $3, 1, $4)",
            )
            .bind(site_id)
            .bind(&id)
            .bind(&data)
            .bind(now() - i64::try_from(i).unwrap())
            .execute(self.app.state.db.pool())
            .await
            .unwrap();
            ids.push(id);
        }
        ids
    }

    async fn rows(&self, site_id: &str) -> i64 {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM preferences WHERE site_id = $1")
            .bind(site_id)
            .fetch_one(self.app.state.db.pool())
            .await
            .unwrap()
    }

    async fn batches(&self) -> Vec<Value> {
        let (status, body) = self
            .sim_call("GET", "/api/personal-data/batches", None)
            .await;
        assert_eq!(status, 200);
        body.as_array().unwrap().clone()
    }

    /// (cursor, next_at, Atlassian's cycle) of a tenant; all empty before its first run.
    async fn progress(&self, client_key: &str) -> (Option<String>, i64, Option<i64>) {
        let row: Option<(Option<String>, i64, Option<i64>)> = sqlx::query_as(
            "SELECT last_account, next_at, cycle_period_secs FROM personal_data_reports \
             WHERE client_key = $1",
        )
        .bind(client_key)
        .fetch_optional(self.app.state.db.pool())
        .await
        .unwrap();
        row.unwrap_or_default()
    }
}

/// How often each account of `batches` was reported on `site`.
fn reported(batches: &[Value], site: &str) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    for batch in batches.iter().filter(|b| b["site"] == site) {
        for id in batch["accounts"].as_array().unwrap() {
            *seen.entry(id.as_str().unwrap().to_owned()).or_default() += 1;
        }
    }
    seen
}

#[tokio::test]
async fn a_cycle_reports_every_account_in_batches_of_90_and_erases_only_closed_ones() {
    let w = World::start(&[]).await;
    let acme = w.site_id("acme").await;
    w.save("acme", "alice").await;
    w.save("acme", "bob").await;
    w.save("globex", "alice").await;
    let mut ids = w.seed_accounts(&acme, 249).await;
    ids.extend([ALICE.to_owned(), BOB.to_owned()]);
    // Bob closes his Atlassian account; Atlassian will answer `closed` for him.
    let (status, _) = w
        .sim_call(
            "POST",
            "/api/personal-data/closed",
            Some(json!({"account_id": BOB})),
        )
        .await;
    assert_eq!(status, 200);
    w.sim_call(
        "POST",
        "/api/personal-data/cycle-period",
        Some(json!({"value": "P1D"})),
    )
    .await;
    // One short 429 on the way: waited out inside the call.
    w.fault(json!({"path_prefix": REPORT_PATH, "kind": "status", "status": 429, "retry_after": "1", "times": 1}))
        .await;
    assert_eq!(
        w.revision("acme", "bob").await,
        1,
        "cached before the cycle"
    );

    let summary = personal_data::run_once(&w.app.state).await;
    assert!(summary.complete(), "{summary:?}");
    assert_eq!((summary.batches, summary.closed, summary.erased), (4, 1, 1));

    let batches = w.batches().await;
    let sizes: Vec<usize> = (batches.iter())
        .map(|b| b["accounts"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes.iter().sum::<usize>(), 251 + 1, "{sizes:?}");
    assert!(sizes.iter().all(|n| *n <= 90), "{sizes:?}");
    let on_acme = reported(&batches, "acme");
    assert_eq!(on_acme.len(), 251);
    assert!(on_acme.values().all(|n| *n == 1), "each account once");
    assert!(ids.iter().all(|id| on_acme.contains_key(id)));
    assert_eq!(reported(&batches, "globex").len(), 1, "alice on globex");

    // Bob's data is gone, from the store and from every cache; alice's is not, on either
    // tenant.
    assert_eq!(w.revision("acme", "bob").await, 0);
    assert_eq!(w.revision("acme", "alice").await, 1);
    assert_eq!(w.revision("globex", "alice").await, 1);
    assert_eq!(w.rows(&acme).await, 250);

    // Atlassian's Cycle-Period (ISO-8601) sets when the next cycle is due.
    let (cursor, next_at, period) = w.progress(&w.client_key("acme").await).await;
    assert_eq!((cursor, period), (None, Some(86_400)));
    assert!((next_at - now() - 86_400).abs() < 60, "{next_at}");
    let logs = captured_logs();
    assert!(
        logs.contains("personal-data cycle done"),
        "one summary line per tenant"
    );
    assert!(logs.contains("reported=251") && logs.contains("erased=1"));
    assert!(logs.contains("form=\"iso8601\"") || logs.contains("form=iso8601"));
    let received = w.sim_call("GET", "/api/received", None).await.1;
    let statuses: Vec<u64> = (received.as_array().unwrap().iter())
        .filter(|r| r["path"] == REPORT_PATH)
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses[0], 429, "{statuses:?}");
    assert!(
        (received.as_array().unwrap().iter())
            .filter(|r| r["path"] == REPORT_PATH)
            .all(|r| r["auth_scheme"] == "JWT")
    );

    // Not due yet for the background job; Cycle-Period in seconds is followed as well.
    w.sim_call(
        "POST",
        "/api/personal-data/cycle-period",
        Some(json!({"value": "7200"})),
    )
    .await;
    let due = Runner::new(w.app.state.clone()).run(Mode::Due).await;
    assert_eq!(due.batches, 0, "{due:?}");
    personal_data::run_once(&w.app.state).await;
    let (_, _, period) = w.progress(&w.client_key("acme").await).await;
    assert_eq!(period, Some(7200));
}

#[tokio::test]
async fn a_long_429_mid_cycle_pauses_and_the_next_run_resumes_without_repeating_or_skipping() {
    let w = Arc::new(World::start(&[("PERSONAL_DATA_BATCH_PAUSE_MS", "700")]).await);
    let acme = w.site_id("acme").await;
    let key = w.client_key("acme").await;
    let ids = w.seed_accounts(&acme, 250).await;

    let run = {
        let w = Arc::clone(&w);
        tokio::spawn(async move { personal_data::run_once(&w.app.state).await })
    };
    // After the first batch, Atlassian asks for an hour's wait.
    for _ in 0..200 {
        if !w.batches().await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    w.fault(
        json!({"path_prefix": REPORT_PATH, "kind": "status", "status": 429, "retry_after": "3600"}),
    )
    .await;
    let summary = run.await.unwrap();
    assert!(!summary.complete(), "a batch was not answered: {summary:?}");
    assert_eq!(summary.batches, 1);
    let (cursor, next_at, _) = w.progress(&key).await;
    assert_eq!(
        cursor.as_deref(),
        Some(ids[..90].iter().max().unwrap().as_str())
    );
    assert!(
        (next_at - now() - 3600).abs() < 60,
        "Retry-After is honoured"
    );
    // The background job does not come back before then.
    let due = Runner::new(w.app.state.clone()).run(Mode::Due).await;
    assert_eq!(due.batches, 0);

    // Not even `--once` comes back before then: the run says the cycle is unfinished.
    let summary = personal_data::run_once(&w.app.state).await;
    assert_eq!(
        (summary.batches, summary.complete()),
        (0, false),
        "{summary:?}"
    );

    // The hour passes.
    w.sim_call("DELETE", "/api/faults", None).await;
    sqlx::query("UPDATE personal_data_reports SET next_at = $1 WHERE client_key = $2")
        .bind(now() - 1)
        .bind(&key)
        .execute(w.app.state.db.pool())
        .await
        .unwrap();
    let summary = personal_data::run_once(&w.app.state).await;
    assert!(summary.complete(), "{summary:?}");
    assert_eq!(summary.batches, 2, "resumed after the answered batch");
    let on_acme = reported(&w.batches().await, "acme");
    assert_eq!(on_acme.len(), 250, "none skipped");
    assert!(on_acme.values().all(|n| *n == 1), "none repeated");
}

#[tokio::test]
async fn a_run_killed_between_batches_resumes_where_it_stopped() {
    let w = Arc::new(World::start(&[("PERSONAL_DATA_BATCH_PAUSE_MS", "2000")]).await);
    let acme = w.site_id("acme").await;
    let key = w.client_key("acme").await;
    w.seed_accounts(&acme, 250).await;
    let run = {
        let w = Arc::clone(&w);
        tokio::spawn(async move { personal_data::run_once(&w.app.state).await })
    };
    for _ in 0..200 {
        if w.progress(&key).await.0.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The process dies in the pause after the first batch.
    run.abort();
    let _ = run.await;
    assert_eq!(w.batches().await.len(), 1);
    // A new process finds the dead one's lease; once it expired, it takes over.
    let summary = personal_data::run_once(&w.app.state).await;
    assert_eq!((summary.batches, summary.busy), (0, 1), "{summary:?}");
    sqlx::query("UPDATE personal_data_reports SET lease_until = 0 WHERE client_key = $1")
        .bind(&key)
        .execute(w.app.state.db.pool())
        .await
        .unwrap();
    let summary = personal_data::run_once(&w.app.state).await;
    assert!(summary.complete(), "{summary:?}");
    assert_eq!(summary.batches, 2);
    let on_acme = reported(&w.batches().await, "acme");
    assert_eq!(on_acme.len(), 250);
    assert!(on_acme.values().all(|n| *n == 1));
}

#[tokio::test]
async fn uninstalled_data_is_deleted_after_the_retention_not_before_and_a_reinstall_keeps_it() {
    let w = World::start(&[]).await;
    let (acme, globex) = (w.site_id("acme").await, w.site_id("globex").await);
    let acme_key = w.client_key("acme").await;
    for site in ["acme", "globex"] {
        w.save(site, "alice").await;
        w.save(site, "bob").await;
    }
    for site in ["acme", "globex"] {
        let (status, body) = w
            .sim_call("POST", &format!("/api/sites/{site}/uninstall"), None)
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let backdate = |key: String, days: i64| {
        let pool = w.app.state.db.pool().clone();
        async move {
            sqlx::query("UPDATE tenants SET uninstalled_at = $1 WHERE client_key = $2")
                .bind(now() - days * 86_400)
                .bind(key)
                .execute(&pool)
                .await
                .unwrap();
        }
    };

    // Inside the 30 days: everything is kept.
    backdate(acme_key.clone(), 29).await;
    let summary = personal_data::run_once(&w.app.state).await;
    assert_eq!(summary.purged.tenants, 0);
    assert_eq!((w.rows(&acme).await, w.rows(&globex).await), (2, 2));

    // globex is re-installed inside the delay; acme's delay passes.
    w.install("globex").await;
    backdate(acme_key.clone(), 31).await;
    let summary = personal_data::run_once(&w.app.state).await;
    assert_eq!(summary.purged.tenants, 1, "{summary:?}");
    assert_eq!(summary.purged.sites, vec![acme.clone()]);
    assert_eq!(w.rows(&acme).await, 0);
    let tenant_rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tenants WHERE client_key = $1")
        .bind(&acme_key)
        .fetch_one(w.app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(
        tenant_rows, 0,
        "the secret and install payload are gone too"
    );
    assert_eq!(w.rows(&globex).await, 2);
    assert_eq!(w.revision("globex", "alice").await, 1);
    assert!(captured_logs().contains("uninstalled tenants' data deleted"));

    // acme installs again: a fresh start, nothing of the old data.
    w.install("acme").await;
    assert_eq!(w.revision("acme", "alice").await, 0);
}

#[tokio::test]
async fn with_zero_retention_an_uninstalled_tenants_data_goes_at_the_next_run() {
    let w = World::start(&[("UNINSTALLED_RETENTION_DAYS", "0")]).await;
    let acme = w.site_id("acme").await;
    w.save("acme", "alice").await;
    w.save("globex", "alice").await;
    let (status, _) = w.sim_call("POST", "/api/sites/acme/uninstall", None).await;
    assert_eq!(status, 200);
    let summary = personal_data::run_once(&w.app.state).await;
    assert!(summary.complete(), "{summary:?}");
    assert_eq!(summary.purged.tenants, 1);
    assert_eq!(w.rows(&acme).await, 0);
    assert_eq!(w.revision("globex", "alice").await, 1);
}

#[tokio::test]
async fn two_instances_on_one_database_report_each_account_once_per_cycle() {
    if backend() != TestBackend::Postgres {
        eprintln!("skipped: PostgreSQL only (TEST_DATABASE=postgres, see scripts/test.sh)");
        return;
    }
    let job = [
        ("PERSONAL_DATA_INTERVAL_SECS", "1"),
        ("PERSONAL_DATA_BATCH_PAUSE_MS", "400"),
    ];
    let w = World::start(&job).await;
    let b = TestApp::start_sharing(&w.app, &job).await;
    let acme = w.site_id("acme").await;
    let key = w.client_key("acme").await;
    w.seed_accounts(&acme, 250).await;
    // Both instances' jobs wake every second; the lease lets one of them work acme at a time.
    let mut done = false;
    for _ in 0..300 {
        let (cursor, next_at, _) = w.progress(&key).await;
        if cursor.is_none() && next_at > now() {
            done = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(done, "the cycle finished");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let batches = w.batches().await;
    let on_acme = reported(&batches, "acme");
    assert_eq!(on_acme.len(), 250);
    assert!(on_acme.values().all(|n| *n == 1), "each account once");
    drop(b);
}

/// `server personal-data --once` as an operator runs it: the real binary, the app's
/// configuration and database, in an empty folder (no `.env` is read). It waits on another
/// thread: this one serves the simulator the binary calls.
async fn run_cli(w: &World, extra: &[(&str, &str)]) -> std::process::Output {
    let folder = tempfile::tempdir().unwrap();
    let config = &w.app.state.config;
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_server"));
    command
        .args(["personal-data", "--once"])
        .current_dir(folder.path())
        .env_clear()
        .env(
            "DATABASE_URL",
            secrecy::ExposeSecret::expose_secret(&config.database_url),
        )
        .env("TENANT_SECRET_KEYS", &w.app.secret_keys)
        .env("APP_KEY", APP_KEY)
        .env("APP_BASE_URL", &w.app.public_base)
        .env("CONNECT_INSTALL_KEYS_URL", format!("{}/keys", w.sim))
        .env("PERSONAL_DATA_BATCH_PAUSE_MS", "0")
        .env("RUST_LOG", "info");
    for (k, v) in extra {
        command.env(k, v);
    }
    let output = tokio::task::spawn_blocking(move || command.output()).await;
    drop(folder);
    output.unwrap().unwrap()
}

#[tokio::test]
async fn the_cli_runs_one_cycle_and_says_whether_every_batch_was_answered() {
    let w = World::start(&[]).await;
    if backend() != TestBackend::Postgres {
        // SQLite: one process per file, so the CLI refuses while the server runs (exit 2).
        let out = run_cli(&w, &[]).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("in use by another app process"), "{stderr}");
        return;
    }
    let acme = w.site_id("acme").await;
    w.seed_accounts(&acme, 100).await;
    let out = run_cli(&w, &[]).await;
    let output =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{output}");
    assert!(output.contains("personal-data cycle done"), "{output}");
    assert_eq!(reported(&w.batches().await, "acme").len(), 100);

    // Atlassian asks for an hour: the batch is not answered, the exit status says so.
    w.fault(
        json!({"path_prefix": REPORT_PATH, "kind": "status", "status": 429, "retry_after": "3600"}),
    )
    .await;
    let out = run_cli(&w, &[]).await;
    assert_eq!(out.status.code(), Some(1));
}

#[tokio::test]
async fn a_tenant_one_instance_works_is_left_alone_by_the_other() {
    if backend() != TestBackend::Postgres {
        eprintln!("skipped: PostgreSQL only (TEST_DATABASE=postgres, see scripts/test.sh)");
        return;
    }
    let w = Arc::new(World::start(&[("PERSONAL_DATA_BATCH_PAUSE_MS", "700")]).await);
    let b = TestApp::start_sharing(&w.app, &[("PERSONAL_DATA_INTERVAL_SECS", "0")]).await;
    let acme = w.site_id("acme").await;
    w.seed_accounts(&acme, 250).await;
    let a_run = {
        let w = Arc::clone(&w);
        tokio::spawn(async move { personal_data::run_once(&w.app.state).await })
    };
    for _ in 0..200 {
        if !w.batches().await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // While A works acme (between two batches), B's run finds its lease taken.
    let b_summary = personal_data::run_once(&b.state).await;
    assert_eq!((b_summary.busy, b_summary.batches), (1, 0), "{b_summary:?}");
    let a_summary = a_run.await.unwrap();
    assert!(a_summary.complete(), "{a_summary:?}");
    assert_eq!(a_summary.batches, 3);
    let on_acme = reported(&w.batches().await, "acme");
    assert_eq!(on_acme.len(), 250);
    assert!(on_acme.values().all(|n| *n == 1), "each account once");
}

// ---- Forge: /app/report-accounts/ with the stored app system token --------------------------

const FORGE_APP: &str = "ari:cloud:ecosystem::app/d9e4002b-120b-426b-834b-402a4a5adce7";
const FORGE_ENV: &str = "ari:cloud:ecosystem::environment/d9e4002b-120b-426b-834b-402a4a5adce7/1e468bcd-89ab-49f0-a648-14620b9cde00";
const FORGE_KID: &str = "forge/invocation-token/wf-00000000-0000-4000-8000-0000000000a1";

/// What the stand-in for `api.atlassian.com` received: (Authorization, path, body).
type Received = Arc<std::sync::Mutex<Vec<(String, String, Value)>>>;

/// A stand-in for `api.atlassian.com/app/report-accounts/`: records each call, answers
/// `closed` for `closed`.
async fn report_gateway(closed: &'static str) -> (String, Received) {
    use axum::extract::State;
    use axum::http::{HeaderMap, Uri};
    let received: Received = Arc::default();
    let handler = move |State(received): State<Received>,
                        uri: Uri,
                        headers: HeaderMap,
                        axum::Json(body): axum::Json<Value>| async move {
        let auth = headers
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let closed_here = body["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["accountId"] == closed);
        received
            .lock()
            .unwrap()
            .push((auth, uri.path().to_owned(), body));
        if closed_here {
            axum::Json(json!({"accounts": [{"accountId": closed, "status": "closed"}]}))
                .into_response()
        } else {
            axum::http::StatusCode::NO_CONTENT.into_response()
        }
    };
    use axum::response::IntoResponse;
    let router = axum::Router::new()
        .route("/app/report-accounts/", axum::routing::post(handler))
        .with_state(received.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (origin, received)
}

fn forge_fit(gateway: &str, installation: &str, cloud: &str, principal: Option<&str>) -> String {
    let now = now();
    let mut claims = json!({
        "iss": "forge/invocation-token", "aud": FORGE_APP, "iat": now, "nbf": now,
        "exp": now + 25, "jti": unique("jti"),
        "app": {
            "id": FORGE_APP,
            "installationId": installation,
            "apiBaseUrl": format!("{gateway}/ex/confluence/{cloud}"),
            "environment": {"type": "DEVELOPMENT", "id": FORGE_ENV},
            "module": {"type": "confluence:globalPage", "key": "preferences"},
            "installation": {"id": installation, "contexts": [{"cloudId": cloud}]}
        },
        "context": {"cloudId": cloud}
    });
    if let Some(principal) = principal {
        claims["principal"] = json!(principal);
    }
    connect::mint::rs256(&claims, FORGE_KID, &legit_key().private_pkcs8).unwrap()
}

#[tokio::test]
async fn a_forge_installation_reports_with_its_app_system_token() {
    let jwks = JwksServer::start(JwksReply::Json(
        json!({"keys": [legit_key().jwk_with_kid(FORGE_KID)]}),
    ))
    .await;
    let (gateway, received) = report_gateway(BOB).await;
    let prefix = format!("{gateway}/ex/");
    let app = TestApp::start_with(&[
        ("FORGE_APP_ID", FORGE_APP),
        ("FORGE_JWKS_URL", &jwks.url()),
        ("FORGE_ENVIRONMENT_IDS", FORGE_ENV),
        ("FORGE_API_BASE_URL_PREFIX", &prefix),
        ("PERSONAL_DATA_INTERVAL_SECS", "0"),
        ("PERSONAL_DATA_BATCH_PAUSE_MS", "0"),
    ])
    .await;
    let installation = format!("ari:cloud:ecosystem::installation/{}", uuid::Uuid::new_v4());
    let cloud = uuid::Uuid::new_v4().to_string();
    let fit = |principal: Option<&str>| forge_fit(&gateway, &installation, &cloud, principal);

    // The install event brings the app system token.
    let r = read(
        app.client
            .post(app.url("/forge/installed"))
            .header("authorization", format!("Bearer {}", fit(None)))
            .header("x-forge-oauth-system", "system-token-1")
            .json(&json!({"eventType": "avi:forge:installed:app"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let forge_call = |method: &str, principal: &str, body: Option<Value>| {
        let token = fit(Some(principal));
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = app
            .client
            .request(method, app.url("/api/preferences"))
            .header("authorization", format!("Bearer {token}"));
        if let Some(body) = body {
            req = req.json(&body);
        }
        async move { read(req.send().await.unwrap()).await }
    };
    for user in [ALICE, BOB] {
        let body = json!({"base_revision": 0, "preferences": default_prefs()});
        let r = forge_call("POST", user, Some(body)).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }

    let summary = personal_data::run_once(&app.state).await;
    assert!(summary.complete(), "{summary:?}");
    assert_eq!((summary.batches, summary.erased), (1, 1), "{summary:?}");
    {
        let received = received.lock().unwrap();
        assert_eq!(received.len(), 1);
        let (auth, path, body) = &received[0];
        assert_eq!(auth, "Bearer system-token-1");
        assert_eq!(path, "/app/report-accounts/");
        let ids: Vec<&str> = (body["accounts"].as_array().unwrap().iter())
            .map(|a| a["accountId"].as_str().unwrap())
            .collect();
        assert_eq!(ids, [ALICE, BOB]);
    }
    let revision = |r: Reply| r.json()["revision"].as_i64().unwrap();
    assert_eq!(
        revision(forge_call("GET", BOB, None).await),
        0,
        "bob erased"
    );
    assert_eq!(revision(forge_call("GET", ALICE, None).await), 1);

    // Once the token expired, nothing is sent (and nothing failed): Forge's next event
    // brings a fresh one.
    sqlx::query("UPDATE forge_installations SET system_token_exp = $1")
        .bind(now())
        .execute(app.state.db.pool())
        .await
        .unwrap();
    let summary = personal_data::run_once(&app.state).await;
    assert_eq!((summary.skipped, summary.batches), (1, 0), "{summary:?}");
    assert!(summary.complete());
    assert_eq!(received.lock().unwrap().len(), 1);

    // preUninstall, and 31 days later: the users' data, the token and the progress are gone.
    let r = read(
        app.client
            .post(app.url("/forge/uninstalled"))
            .header("authorization", format!("Bearer {}", fit(None)))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let count = |sql: &'static str| {
        let pool = app.state.db.pool().clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(count("SELECT COUNT(*) FROM preferences").await, 1);
    sqlx::query("UPDATE forge_installations SET uninstalled_at = $1")
        .bind(now() - 31 * 86_400)
        .execute(app.state.db.pool())
        .await
        .unwrap();
    let summary = personal_data::run_once(&app.state).await;
    assert_eq!(summary.purged.preferences, 1, "{summary:?}");
    assert_eq!(count("SELECT COUNT(*) FROM preferences").await, 0);
    let left = "SELECT COUNT(*) FROM forge_installations WHERE system_token_enc IS NOT NULL";
    assert_eq!(count(left).await, 0);
    assert_eq!(count("SELECT COUNT(*) FROM personal_data_reports").await, 0);
}
