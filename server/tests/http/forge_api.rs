//! Forge Remote end to end (issue 14): `Authorization: Bearer <FIT>` on the same `/api` routes
//! as Connect, with real RSA keys and a real JWKS server on loopback. The contract: the same
//! JSON as the Connect path; the first valid FIT establishes its installation; principals and
//! installations are isolated; a reinstall (new installationId, same cloudId) keeps the data; a
//! Connect install naming the Forge installation shares one site; `preUninstall` ends the
//! installation; every FIT failure is 401 JSON, a JWKS outage with a new kid 503; no token or
//! `x-forge-oauth-*` value is ever echoed or logged.

use connect::mint;
use serde_json::{Value, json};

use crate::common::*;

const APP: &str = "ari:cloud:ecosystem::app/d9e4002b-120b-426b-834b-402a4a5adce7";
const ENV: &str = "ari:cloud:ecosystem::environment/d9e4002b-120b-426b-834b-402a4a5adce7/1e468bcd-89ab-49f0-a648-14620b9cde00";
const OTHER_ENV: &str = "ari:cloud:ecosystem::environment/d9e4002b-120b-426b-834b-402a4a5adce7/2f468bcd-89ab-49f0-a648-14620b9cde00";
const KID: &str = "forge/invocation-token/wf-00000000-0000-4000-8000-0000000000a1";
const NEW_KID: &str = "forge/invocation-token/wf-00000000-0000-4000-8000-0000000000a2";

/// A fresh installation id and cloud id (one Forge install on one site).
fn install_ids() -> (String, String) {
    let uuid = || uuid::Uuid::new_v4().to_string();
    (
        format!("ari:cloud:ecosystem::installation/{}", uuid()),
        uuid(),
    )
}

fn claims(installation: &str, cloud: &str, principal: Option<&str>) -> Value {
    let now = now();
    let mut claims = json!({
        "iss": "forge/invocation-token", "aud": APP, "iat": now, "nbf": now, "exp": now + 25,
        "jti": unique("jti"),
        "app": {
            "id": APP,
            "installationId": installation,
            "apiBaseUrl": format!("https://api.atlassian.com/ex/confluence/{cloud}"),
            "environment": {"type": "DEVELOPMENT", "id": ENV},
            "module": {"type": "confluence:globalPage", "key": "preferences"},
            "installation": {"id": installation, "contexts": [{"cloudId": cloud}]}
        },
        "context": {"cloudId": cloud}
    });
    if let Some(principal) = principal {
        claims["principal"] = json!(principal);
    }
    claims
}

fn sign(claims: &Value) -> String {
    mint::rs256(claims, KID, &legit_key().private_pkcs8).unwrap()
}

fn fit(installation: &str, cloud: &str, principal: Option<&str>) -> String {
    sign(&claims(installation, cloud, principal))
}

fn jwks_with(keys: &[(&str, &KeyPair)]) -> JwksReply {
    let keys: Vec<_> = keys.iter().map(|(k, key)| key.jwk_with_kid(k)).collect();
    JwksReply::Json(json!({ "keys": keys }))
}

/// The app with Forge on, its JWKS served by `jwks`.
async fn forge_app(jwks: &JwksServer) -> TestApp {
    let url = jwks.url();
    TestApp::start_with(&[
        ("FORGE_APP_ID", APP),
        ("FORGE_JWKS_URL", &url),
        ("FORGE_ENVIRONMENT_IDS", ENV),
        ("FORGE_JWKS_COOLDOWN_SECS", "1"),
    ])
    .await
}

async fn setup() -> (JwksServer, TestApp) {
    let jwks = JwksServer::start(jwks_with(&[(KID, legit_key())])).await;
    let app = forge_app(&jwks).await;
    (jwks, app)
}

/// The least time between two JWKS fetches in these tests (`FORGE_JWKS_COOLDOWN_SECS`).
const COOLDOWN: std::time::Duration = std::time::Duration::from_secs(1);

/// A request with exactly this `Authorization` value (or none).
async fn call(
    app: &TestApp,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: Option<&Value>,
) -> Reply {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = app.client.request(method, app.url(path));
    if let Some(auth) = auth {
        req = req.header("authorization", auth);
    }
    if let Some(body) = body {
        req = req.json(body);
    }
    read(req.send().await.unwrap()).await
}

async fn forge_get(app: &TestApp, token: &str) -> Reply {
    call(
        app,
        "GET",
        "/api/preferences",
        Some(&format!("Bearer {token}")),
        None,
    )
    .await
}

async fn forge_save(app: &TestApp, token: &str, base_revision: i64, prefs: &Value) -> Reply {
    let body = json!({"base_revision": base_revision, "preferences": prefs});
    call(
        app,
        "POST",
        "/api/preferences",
        Some(&format!("Bearer {token}")),
        Some(&body),
    )
    .await
}

fn prefs_labelled(label: &str) -> Value {
    let mut prefs = sample_prefs();
    prefs["favourite_labels"] = json!([label]);
    prefs
}

fn labels(reply: &Reply) -> Value {
    reply.json()["preferences"]["favourite_labels"].clone()
}

/// A Connect install whose signed body names the app's Forge installation on the site.
async fn connect_install_linked(app: &TestApp, installation: Option<&str>, cloud: &str) -> Tenant {
    let client_key = unique("linked");
    let secret = unique("secret");
    let (token, mut body) = app.install_request(&client_key, &secret);
    body["cloudId"] = json!(cloud);
    if let Some(installation) = installation {
        body["installationId"] = json!(installation);
    }
    let r = app.post_lifecycle("/installed", &token, &body).await;
    assert_eq!(r.status, 204, "{}", r.body);
    Tenant {
        site: body["baseUrl"].as_str().unwrap().to_owned(),
        client_key,
        secret,
    }
}

async fn pre_uninstall(app: &TestApp, installation: &str, cloud: &str) -> Reply {
    let token = fit(installation, cloud, None);
    call(
        app,
        "POST",
        "/forge/uninstalled",
        Some(&format!("Bearer {token}")),
        Some(&json!({})),
    )
    .await
}

#[tokio::test]
async fn forge_api_answers_like_the_connect_path() {
    let (_jwks, app) = setup().await;
    let (installation, cloud) = install_ids();
    let token = fit(&installation, &cloud, Some("557058:alice"));

    let r = forge_get(&app, &token).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let tenant = app.install("connect-shape").await;
    let connect = app
        .get_prefs(&TestApp::context_token(&tenant, Some("alice")))
        .await;
    let keys = |v: Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(r.json()), keys(connect.json()), "same JSON shape");
    assert_eq!(r.json()["can_edit"], true);
    assert_eq!(
        r.json()["site_url"],
        "",
        "a Forge-only site has no known address"
    );

    let r = forge_save(&app, &token, 0, &prefs_labelled("forge-saved")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["revision"], 1);
    let r = forge_get(&app, &token).await;
    assert_eq!(labels(&r), json!(["forge-saved"]));
    // The same FIT again (the bridge reuses it): still accepted.
    assert_eq!(forge_get(&app, &token).await.status, 200);
    // A stale revision is the same 409 as on Connect.
    let r = forge_save(&app, &token, 0, &prefs_labelled("late")).await;
    assert_eq!((r.status, r.error()), (409, "version_conflict".into()));
}

#[tokio::test]
async fn forge_principals_and_installations_are_isolated() {
    let (_jwks, app) = setup().await;
    let (site_a, cloud_a) = install_ids();
    let (site_b, cloud_b) = install_ids();
    let alice_a = fit(&site_a, &cloud_a, Some("557058:alice"));
    let r = forge_save(&app, &alice_a, 0, &prefs_labelled("alice-on-a")).await;
    assert_eq!(r.status, 200, "{}", r.body);

    let bob_a = fit(&site_a, &cloud_a, Some("557058:bob"));
    let alice_b = fit(&site_b, &cloud_b, Some("557058:alice"));
    for (who, token) in [("bob on A", &bob_a), ("alice on B", &alice_b)] {
        let r = forge_get(&app, token).await;
        assert_eq!(r.status, 200, "{who}: {}", r.body);
        assert_eq!(r.json()["revision"], 0, "{who} sees nothing of alice on A");
    }
    assert_eq!(
        labels(&forge_get(&app, &alice_a).await),
        json!(["alice-on-a"])
    );
}

#[tokio::test]
async fn forge_reinstall_by_cloud_id_keeps_data_and_pre_uninstall_ends_the_installation() {
    let (_jwks, app) = setup().await;
    let (first, cloud) = install_ids();
    let alice = fit(&first, &cloud, Some("557058:alice"));
    assert_eq!(
        forge_save(&app, &alice, 0, &prefs_labelled("kept"))
            .await
            .status,
        200
    );

    let r = pre_uninstall(&app, &first, &cloud).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = pre_uninstall(&app, &first, &cloud).await;
    assert_eq!(
        r.status, 204,
        "a retried preUninstall is acknowledged: {}",
        r.body
    );
    // Even a FIT this process verified before is refused now.
    let r = forge_get(&app, &alice).await;
    assert_eq!(
        (r.status, r.error()),
        (401, "invalid_token".into()),
        "{}",
        r.body
    );
    let r = forge_get(&app, &fit(&first, &cloud, Some("557058:alice"))).await;
    assert_eq!(r.status, 401);

    // Installed again: a new installationId on the same site.
    let (second, _) = install_ids();
    let trigger = fit(&second, &cloud, None);
    let r = call(
        &app,
        "POST",
        "/forge/installed",
        Some(&format!("Bearer {trigger}")),
        Some(&json!({"eventType": "avi:forge:installed:app"})),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = forge_get(&app, &fit(&second, &cloud, Some("557058:alice"))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(labels(&r), json!(["kept"]), "the user keeps their data");
}

#[tokio::test]
async fn connect_and_forge_share_one_site_after_a_linked_install() {
    let (_jwks, app) = setup().await;
    let (installation, cloud) = install_ids();
    let tenant = connect_install_linked(&app, Some(&installation), &cloud).await;
    let connect_token = TestApp::context_token(&tenant, Some("557058:carol"));
    let r = app
        .save_prefs(&connect_token, 0, &prefs_labelled("via-connect"))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    let forge_token = fit(&installation, &cloud, Some("557058:carol"));
    let r = forge_get(&app, &forge_token).await;
    assert_eq!(labels(&r), json!(["via-connect"]), "{}", r.body);
    assert_eq!(
        r.json()["site_url"],
        json!(tenant.site),
        "the Connect tenant's address"
    );
    let r = forge_save(&app, &forge_token, 1, &prefs_labelled("via-forge")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = app.get_prefs(&connect_token).await;
    assert_eq!(labels(&r), json!(["via-forge"]));

    // Linked by cloudId alone: a later installation on the same site.
    let (later, _) = install_ids();
    let r = forge_get(&app, &fit(&later, &cloud, Some("557058:carol"))).await;
    assert_eq!(labels(&r), json!(["via-forge"]));
}

#[tokio::test]
async fn a_connect_install_naming_a_forge_site_merges_the_two() {
    let (_jwks, app) = setup().await;
    // A Connect tenant from before the link (its payload named no cloudId).
    let tenant = app.install("before-link").await;
    let dave = TestApp::context_token(&tenant, Some("557058:dave"));
    assert_eq!(
        app.save_prefs(&dave, 0, &prefs_labelled("dave-connect"))
            .await
            .status,
        200
    );
    // Meanwhile, Forge established the site by its cloudId.
    let (installation, cloud) = install_ids();
    let erin_forge = fit(&installation, &cloud, Some("557058:erin"));
    assert_eq!(
        forge_save(&app, &erin_forge, 0, &prefs_labelled("erin-forge"))
            .await
            .status,
        200
    );

    // Connect re-installs, now naming the cloudId: one site, everyone's data kept.
    let (token, mut body) = app.install_request(&tenant.client_key, &tenant.secret);
    body["cloudId"] = json!(cloud);
    let r = app.post_lifecycle("/installed", &token, &body).await;
    assert_eq!(r.status, 204, "{}", r.body);

    let dave_forge = fit(&installation, &cloud, Some("557058:dave"));
    let r = forge_get(&app, &dave_forge).await;
    assert_eq!(labels(&r), json!(["dave-connect"]));
    assert_eq!(
        r.json()["site_url"],
        body["displayUrl"],
        "the address the site learned from Connect, though Forge cached it before"
    );
    assert_eq!(labels(&app.get_prefs(&dave).await), json!(["dave-connect"]));
    let erin = TestApp::context_token(&tenant, Some("557058:erin"));
    assert_eq!(labels(&app.get_prefs(&erin).await), json!(["erin-forge"]));
}

#[tokio::test]
async fn forge_tokens_are_refused_with_401_json() {
    let (_jwks, app) = setup().await;
    let (installation, cloud) = install_ids();
    let good = claims(&installation, &cloud, Some("557058:alice"));
    let tenant = app.install("bearer-misuse").await;
    let connect_token = TestApp::context_token(&tenant, Some("alice"));
    let mut wrong_env = good.clone();
    wrong_env["app"]["environment"]["id"] = json!(OTHER_ENV);
    let mut expired = good.clone();
    expired["exp"] = json!(now() - 120);
    expired["iat"] = json!(now() - 145);
    expired["nbf"] = json!(now() - 145);
    let mut wrong_aud = good.clone();
    wrong_aud["aud"] = json!("ari:cloud:ecosystem::app/00000000-0000-4000-8000-000000000000");
    let huge = "a".repeat(64 * 1024);
    let cases: Vec<(&str, String)> = vec![
        ("connect token as Bearer", format!("Bearer {connect_token}")),
        ("FIT as JWT", format!("JWT {}", sign(&good))),
        (
            "environment not allowed",
            format!("Bearer {}", sign(&wrong_env)),
        ),
        ("expired", format!("Bearer {}", sign(&expired))),
        ("wrong audience", format!("Bearer {}", sign(&wrong_aud))),
        ("malformed", "Bearer not.a.token".into()),
        ("empty", "Bearer ".into()),
        ("huge", format!("Bearer {huge}")),
        (
            "signed by another key",
            format!(
                "Bearer {}",
                mint::rs256(&good, KID, &attacker_key().private_pkcs8).unwrap()
            ),
        ),
    ];
    for (what, auth) in cases {
        let r = call(&app, "GET", "/api/preferences", Some(&auth), None).await;
        assert_eq!(r.status, 401, "{what}: {}", r.body);
        assert!(
            r.json()["error"].is_string(),
            "{what}: JSON body {}",
            r.body
        );
    }
    // A FIT in the query string is not a credential.
    let r = call(
        &app,
        "GET",
        &format!("/api/preferences?jwt={}", sign(&good)),
        None,
        None,
    )
    .await;
    assert_eq!(r.status, 401);

    // A trigger's token (no principal) cannot act for a user; a user's cannot uninstall.
    let r = forge_get(&app, &fit(&installation, &cloud, None)).await;
    assert_eq!(
        (r.status, r.error()),
        (403, "principal_required".into()),
        "{}",
        r.body
    );
    let user = fit(&installation, &cloud, Some("557058:alice"));
    for path in ["/forge/uninstalled", "/forge/installed"] {
        let r = call(
            &app,
            "POST",
            path,
            Some(&format!("Bearer {user}")),
            Some(&json!({})),
        )
        .await;
        assert_eq!(
            (r.status, r.error()),
            (403, "principal_required".into()),
            "{path}"
        );
    }
    assert_eq!(forge_get(&app, &user).await.status, 200, "still installed");
}

#[tokio::test]
async fn forge_is_off_without_an_app_id() {
    let app = TestApp::start().await;
    let (installation, cloud) = install_ids();
    let token = fit(&installation, &cloud, Some("557058:alice"));
    let r = forge_get(&app, &token).await;
    assert_eq!((r.status, r.error()), (401, "invalid_token".into()));
    let r = call(
        &app,
        "POST",
        "/forge/installed",
        Some(&format!("Bearer {token}")),
        None,
    )
    .await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn forge_jwks_outage_keeps_cached_keys_and_answers_503_for_new_ones() {
    let (jwks, app) = setup().await;
    let (installation, cloud) = install_ids();
    assert_eq!(
        forge_get(&app, &fit(&installation, &cloud, Some("557058:a")))
            .await
            .status,
        200
    );
    jwks.set(JwksReply::Status(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
    ));
    // A fresh token (not remembered) with the cached kid: verified with the cached key.
    let r = forge_get(&app, &fit(&installation, &cloud, Some("557058:a"))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let rotated = mint::rs256(
        &claims(&installation, &cloud, Some("557058:a")),
        NEW_KID,
        &attacker_key().private_pkcs8,
    )
    .unwrap();
    tokio::time::sleep(COOLDOWN).await;
    let r = forge_get(&app, &rotated).await;
    assert_eq!(
        (r.status, r.error()),
        (503, "forge_keys_unavailable".into()),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn no_forge_token_or_app_token_is_echoed_or_logged() {
    init_log_capture();
    let (_jwks, app) = setup().await;
    let (installation, cloud) = install_ids();
    let system_token = unique("system-token-value");
    let user_token = unique("user-token-value");
    let token = fit(&installation, &cloud, Some("557058:alice"));
    let mut bad = token.clone();
    bad.push('x');
    for auth in [&token, &bad] {
        let r = app
            .client
            .get(app.url("/api/preferences"))
            .header("authorization", format!("Bearer {auth}"))
            .header("x-forge-oauth-system", &system_token)
            .header("x-forge-oauth-user", &user_token)
            .send()
            .await
            .unwrap();
        let headers = format!("{:?}", r.headers());
        let body = r.text().await.unwrap();
        for secret in [auth.as_str(), &system_token, &user_token] {
            assert!(!body.contains(secret) && !headers.contains(secret));
        }
    }
    let logs = captured_logs();
    for secret in [token.as_str(), &bad, &system_token, &user_token] {
        assert!(!logs.contains(secret), "a token reached the logs");
    }
}

/// The database of the previous release (only its migration applied), with rows of every kind.
async fn previous_release_database(
    spec: &str,
    cloud: &str,
    installation: &str,
) -> test_db::TestDatabase {
    let database = test_db::TestDatabase::create().await;
    let db = server::db::Db::connect(&database.url, 2, std::time::Duration::from_secs(5))
        .await
        .unwrap();
    let mut migrator = match database.backend {
        test_db::TestBackend::Sqlite => sqlx::migrate!("../migrations/sqlite"),
        test_db::TestBackend::Postgres => sqlx::migrate!("../migrations/postgres"),
    };
    migrator.migrations = std::borrow::Cow::Owned(migrator.migrations[..1].to_vec());
    migrator.run(db.pool()).await.unwrap();

    let keys = server::connect::secrets::SecretKeys::parse(spec).unwrap();
    for (client_key, cloud_id, installation_id) in [
        ("mig-a", Some(cloud), Some(installation)),
        ("mig-b", None, None),
    ] {
        let secret = server::connect::secrets::SharedSecret::new(format!("{client_key}-secret"));
        sqlx::query(
            "INSERT INTO tenants (client_key, shared_secret_enc, base_url, display_url, \
                installation_id, cloud_id, state, state_changed_at, installed_at, updated_at, \
                install_payload) \
             VALUES ($1, $2, $3, NULL, $4, $5, 'installed', 1, 1, 1, '{}')",
        )
        .bind(client_key)
        .bind(keys.encrypt(client_key, &secret).unwrap())
        .bind(format!("https://{client_key}.atlassian.net/wiki"))
        .bind(installation_id)
        .bind(cloud_id)
        .execute(db.pool())
        .await
        .unwrap();
    }
    for (client_key, account, label) in [
        ("mig-a", "557058:alice", "a-alice"),
        ("mig-a", "557058:bob", "a-bob"),
        ("mig-b", "557058:alice", "b-alice"),
        ("mig-gone", "557058:carol", "orphan"),
    ] {
        sqlx::query(
            "INSERT INTO preferences (client_key, account_id, schema_version, data, revision, \
                updated_at) VALUES ($1, $2, 1, $3, 3, 1)",
        )
        .bind(client_key)
        .bind(account)
        .bind(prefs_labelled(label).to_string())
        .execute(db.pool())
        .await
        .unwrap();
    }
    db.close().await;
    drop(db);
    database
}

#[tokio::test]
async fn the_identity_migration_keeps_every_row_of_the_previous_release() {
    let jwks = JwksServer::start(jwks_with(&[(KID, legit_key())])).await;
    let spec = server::connect::secrets::SecretKeys::generate_spec("m1");
    let (installation, cloud) = install_ids();
    let database = previous_release_database(&spec, &cloud, &installation).await;
    let url = jwks.url();
    let app = TestApp::start_with(&[
        ("DATABASE_URL", &database.url),
        ("TENANT_SECRET_KEYS", &spec),
        ("FORGE_APP_ID", APP),
        ("FORGE_JWKS_URL", &url),
        ("FORGE_ENVIRONMENT_IDS", ENV),
    ])
    .await;

    let tenant = |client_key: &str| Tenant {
        client_key: client_key.into(),
        secret: format!("{client_key}-secret"),
        site: String::new(),
    };
    let connect =
        |client_key: &str, user: &str| TestApp::context_token(&tenant(client_key), Some(user));
    for (client_key, user, label) in [
        ("mig-a", "557058:alice", "a-alice"),
        ("mig-a", "557058:bob", "a-bob"),
        ("mig-b", "557058:alice", "b-alice"),
    ] {
        let r = app.get_prefs(&connect(client_key, user)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(labels(&r), json!([label]), "{client_key} {user}");
        assert_eq!(r.json()["revision"], 3);
    }
    // The tenant's stored installationId and cloudId lead Forge to the same site.
    let r = forge_get(&app, &fit(&installation, &cloud, Some("557058:alice"))).await;
    assert_eq!(labels(&r), json!(["a-alice"]), "{}", r.body);
    let (reinstalled, _) = install_ids();
    let r = forge_get(&app, &fit(&reinstalled, &cloud, Some("557058:bob"))).await;
    assert_eq!(labels(&r), json!(["a-bob"]), "{}", r.body);

    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT site_id, account_id FROM preferences ORDER BY site_id, account_id")
            .fetch_all(app.state.db.pool())
            .await
            .unwrap();
    let rows: Vec<(&str, &str)> = rows.iter().map(|(s, a)| (s.as_str(), a.as_str())).collect();
    assert_eq!(
        rows,
        [
            ("mig-a", "557058:alice"),
            ("mig-a", "557058:bob"),
            ("mig-b", "557058:alice"),
            ("mig-gone", "557058:carol"),
        ],
        "every row kept, keyed by the site that took its clientKey as id"
    );
}

/// The stored app system token of an installation, decrypted, with its expiry.
async fn stored_app_token(app: &TestApp, installation: &str) -> Option<(String, i64)> {
    let (enc, exp): (Option<String>, Option<i64>) = sqlx::query_as(
        "SELECT system_token_enc, system_token_exp FROM forge_installations \
         WHERE installation_id = $1",
    )
    .bind(installation)
    .fetch_one(app.state.db.pool())
    .await
    .unwrap();
    let enc = enc?;
    let keys = server::connect::secrets::SecretKeys::parse(&app.secret_keys).unwrap();
    let plain = keys
        .decrypt(&server::forge::app_tokens::aad(installation), &enc)
        .unwrap();
    assert!(!enc.contains(std::str::from_utf8(plain.as_bytes()).unwrap()));
    Some((String::from_utf8(plain.as_bytes().to_vec()).unwrap(), exp?))
}

fn jwt_with_exp(exp: i64) -> String {
    use base64::Engine;
    let payload =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(r#"{{"exp":{exp}}}"#));
    format!("eyJhbGciOiJSUzI1NiJ9.{payload}.c2lnbmF0dXJl")
}

async fn trigger_with_app_token(app: &TestApp, installation: &str, cloud: &str, app_token: &str) {
    let r = app
        .client
        .post(app.url("/forge/installed"))
        .header(
            "authorization",
            format!("Bearer {}", fit(installation, cloud, None)),
        )
        .header("x-forge-oauth-system", app_token)
        .json(&json!({"eventType": "avi:forge:upgraded:app"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
}

#[tokio::test]
async fn the_newest_app_system_token_is_kept_encrypted_and_only_from_events() {
    let (_jwks, app) = setup().await;
    let (installation, cloud) = install_ids();
    trigger_with_app_token(&app, &installation, &cloud, "opaque-first").await;
    let (token, exp) = stored_app_token(&app, &installation).await.unwrap();
    assert_eq!(token, "opaque-first");
    assert!(
        (exp - now() - 3600).abs() < 10,
        "an opaque token is given an hour"
    );

    let later = jwt_with_exp(now() + 7200);
    trigger_with_app_token(&app, &installation, &cloud, &later).await;
    assert_eq!(
        stored_app_token(&app, &installation).await.unwrap().0,
        later
    );
    // An older token (a late retry) never replaces a newer one.
    trigger_with_app_token(&app, &installation, &cloud, &jwt_with_exp(now() + 600)).await;
    assert_eq!(
        stored_app_token(&app, &installation).await.unwrap().0,
        later
    );

    // A user's call cannot plant one, whatever expiry it claims.
    let planted = jwt_with_exp(now() + 100_000);
    let r = app
        .client
        .get(app.url("/api/preferences"))
        .header(
            "authorization",
            format!(
                "Bearer {}",
                fit(&installation, &cloud, Some("557058:mallory"))
            ),
        )
        .header("x-forge-oauth-system", &planted)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        stored_app_token(&app, &installation).await.unwrap().0,
        later
    );
    assert!(
        !captured_logs().contains(&later),
        "a token reached the logs"
    );
}

#[tokio::test]
async fn concurrent_first_calls_of_two_sites_each_see_their_own_data_and_one_site_per_cloud() {
    let (_jwks, app) = setup().await;
    let sites = [install_ids(), install_ids()];
    // Every first call races to establish its installation; each saves its own label.
    let first = futures::future::join_all((0..16).map(|i| {
        let (installation, cloud) = &sites[i % 2];
        let user = format!("557058:user-{i}");
        let token = fit(installation, cloud, Some(&user));
        let app = &app;
        async move {
            let label = format!("site{}-user{i}", i % 2);
            let r = forge_save(app, &token, 0, &prefs_labelled(&label)).await;
            (r.status, token, label)
        }
    }))
    .await;
    for (status, _, label) in &first {
        assert_eq!(*status, 200, "{label}");
    }
    // Then reads of both sites interleaved: every answer is its caller's own.
    let app = &app;
    let reads = futures::future::join_all(first.iter().map(|(_, token, label)| async move {
        (labels(&forge_get(app, token).await), json!([label]))
    }))
    .await;
    for (got, want) in reads {
        assert_eq!(got, want);
    }
    for (_, cloud) in &sites {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM sites WHERE cloud_id = $1")
            .bind(cloud)
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
        assert_eq!(n, 1, "racing first calls established one site per cloudId");
    }
}

// ---- The Custom UI (scripts/forge-ui.sh): its host locale header and its CORS preflights

#[tokio::test]
async fn forge_host_locale_starts_a_never_saved_user_in_the_hosts_language() {
    let (_jwks, app) = setup().await;
    let (installation, cloud) = install_ids();
    let token = fit(&installation, &cloud, Some("557058:alice"));
    let get_with = |locale: &'static str| {
        app.client
            .get(app.url("/api/preferences"))
            .header("authorization", format!("Bearer {token}"))
            .header("x-host-locale", locale)
            .send()
    };
    let r = read(get_with("de_DE").await.unwrap()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["preferences"]["locale"], "de-DE");
    assert_eq!(r.json()["revision"], 0);
    let r = read(
        get_with("xx-unknown-and-long-enough-to-be-refused-too")
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.json()["preferences"]["locale"], "en-US");
    // Once saved, the stored choice wins over whatever the host says.
    let mut prefs = sample_prefs();
    prefs["locale"] = json!("fr-FR");
    assert_eq!(forge_save(&app, &token, 0, &prefs).await.status, 200);
    let r = read(get_with("de-DE").await.unwrap()).await;
    assert_eq!(r.json()["preferences"]["locale"], "fr-FR");
}

#[tokio::test]
async fn forge_ui_preflights_are_answered_for_configured_origins_only() {
    let (_jwks, app) = setup().await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/api/preferences"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type,x-host-locale",
            )
            .send()
    };
    // The default FORGE_UI_ORIGINS: any site and Forge's Custom UI CDN.
    for origin in [
        "https://acme.atlassian.net",
        "https://a1b2.cdn.prod.atlassian-dev.net",
    ] {
        let r = read(preflight(origin).await.unwrap()).await;
        assert_eq!(r.status, 204, "{origin}: {}", r.body);
        assert_eq!(
            r.header("access-control-allow-origin").as_deref(),
            Some(origin)
        );
        assert!(
            r.header("access-control-allow-headers")
                .unwrap()
                .contains("authorization")
        );
        assert_eq!(r.header("access-control-allow-credentials"), None);
    }
    let r = read(preflight("https://evil.example.com").await.unwrap()).await;
    assert_eq!((r.status, r.error()), (403, "forbidden".into()));
    assert_eq!(r.header("access-control-allow-origin"), None);
    // The call itself still needs its token; an allowed origin may read the refusal.
    let r = read(
        app.client
            .get(app.url("/api/preferences"))
            .header("origin", "https://acme.atlassian.net")
            .header("authorization", "Bearer not-a-token")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("access-control-allow-origin").as_deref(),
        Some("https://acme.atlassian.net")
    );
}

#[tokio::test]
async fn forge_tokens_and_jwks_fetches_are_counted_without_ids() {
    let (_jwks, app) = setup().await;
    let (installation, cloud) = install_ids();
    let before = app.metrics().await;
    let principal = "557058:forge-metrics-user";
    assert_eq!(
        forge_get(&app, &fit(&installation, &cloud, Some(principal)))
            .await
            .status,
        200
    );
    let mut expired = claims(&installation, &cloud, Some(principal));
    expired["iat"] = json!(now() - 600);
    expired["nbf"] = json!(now() - 600);
    expired["exp"] = json!(now() - 300);
    assert_eq!(forge_get(&app, &sign(&expired)).await.status, 401);
    assert_eq!(
        forge_get(&app, &fit(&installation, &cloud, None))
            .await
            .status,
        403
    );
    let after = app.metrics().await;

    let count = |text: &str, series: &str| -> f64 {
        let series = format!("confluence_prefs_{series} ");
        (text.lines())
            .find_map(|line| line.strip_prefix(&series))
            .map_or(0.0, |v| v.trim().parse().unwrap())
    };
    let delta = |series: &str| count(&after, series) - count(&before, series);
    let forge = r#"transport="forge",kind="invocation""#;
    assert_eq!(
        delta(&format!("auth_tokens_accepted_total{{{forge}}}")),
        1.0
    );
    let refused = |reason: &str| {
        delta(&format!(
            r#"auth_tokens_refused_total{{{forge},reason="{reason}"}}"#
        ))
    };
    assert_eq!(refused("token_expired"), 1.0);
    assert_eq!(refused("no_principal"), 1.0);
    assert_eq!(delta(r#"forge_jwks_fetches_total{outcome="ok"}"#), 1.0);
    for id in [&installation, &cloud, principal, KID] {
        assert!(!after.contains(id), "{id} in the metrics");
    }
}
