//! Black-box test: the simulator on a random port installs, re-installs and uninstalls a tiny
//! fake app (baseUrl with a path) and the fake app verifies every callback the way the real
//! app must (RS256 against the key from `/keys/{kid}`, HS256 with the delivered secret).
#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

mod common;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::routing::{get, post};
use common::{Sim, now};
use connect::{InstallPublicKey, UnverifiedToken, query_string_hash, verify_hs256, verify_rs256};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

/// One lifecycle request as the fake app received it.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    authorization: String,
    body: Value,
}

struct FakeApp {
    base_url: String,
    received: Mutex<Vec<Received>>,
    installed_status: AtomicU16,
}

impl FakeApp {
    fn take(&self) -> Vec<Received> {
        std::mem::take(&mut *self.received.lock().unwrap())
    }
}

async fn descriptor(State(app): State<Arc<FakeApp>>) -> axum::Json<Value> {
    axum::Json(json!({
        "key": "connect-prefs",
        "name": "Connect Prefs",
        "baseUrl": app.base_url,
        "authentication": {"type": "jwt"},
        "apiMigrations": {"context-qsh": true, "signed-install": true},
        "lifecycle": {
            "installed": "/installed",
            "uninstalled": "/uninstalled",
            "enabled": "/enabled",
            "disabled": "/disabled"
        },
        "modules": {"generalPages": [
            {"key": "preferences", "name": {"value": "My preferences"}, "url": "/preferences"}
        ]}
    }))
}

async fn lifecycle(
    State(app): State<Arc<FakeApp>>,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    let received = Received {
        path: uri.path().to_owned(),
        authorization: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
        body: serde_json::from_str(&body).unwrap_or(Value::Null),
    };
    app.received.lock().unwrap().push(received);
    if uri.path().ends_with("/installed") {
        StatusCode::from_u16(app.installed_status.load(Ordering::SeqCst)).unwrap()
    } else {
        StatusCode::NO_CONTENT
    }
}

async fn start_fake_app() -> Arc<FakeApp> {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = Arc::new(FakeApp {
        base_url: format!("http://{}/app", listener.local_addr().unwrap()),
        received: Mutex::new(Vec::new()),
        installed_status: AtomicU16::new(204),
    });
    let router = Router::new()
        .route("/app/atlassian-connect.json", get(descriptor))
        .route("/app/installed", post(lifecycle))
        .route("/app/enabled", post(lifecycle))
        .route("/app/disabled", post(lifecycle))
        .route("/app/uninstalled", post(lifecycle))
        .with_state(app.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    app
}

async fn context_token(sim: &Sim, site: &str, user: &str) -> (u16, Value) {
    let path = format!("/api/sites/{site}/context-token");
    sim.call("POST", &path, Some(json!({ "user": user }))).await
}

fn bearer(received: &Received) -> UnverifiedToken {
    let token = received.authorization.strip_prefix("JWT ").unwrap();
    UnverifiedToken::parse(token).unwrap()
}

/// Checks an RS256 lifecycle callback as the app must; returns the body's shared secret.
fn check_signed(
    received: &Received,
    key: &InstallPublicKey,
    kid: &str,
    app: &FakeApp,
    event: &str,
) -> String {
    assert_eq!(received.path, format!("/app/{event}"));
    let token = bearer(received);
    assert_eq!(token.header().kid.as_deref(), Some(kid));
    assert_eq!(verify_rs256(&token, key), Ok(()));
    let claims = token.claims();
    assert_eq!(claims.check_times(now(), 30), Ok(()));
    assert_eq!(claims.check_audience(&app.base_url), Ok(()));
    assert_eq!(
        claims.aud,
        [app.base_url.as_str()],
        "aud is the baseUrl exactly"
    );
    assert_eq!(
        claims.check_issuer(received.body["clientKey"].as_str().unwrap()),
        Ok(())
    );
    let qsh = query_string_hash("POST", &received.path, "", "/app");
    assert_eq!(qsh, query_string_hash("POST", &format!("/{event}"), "", ""));
    assert_eq!(claims.check_qsh(&qsh), Ok(()));
    assert!(claims.sub.is_some());
    assert_eq!(received.body["eventType"], event);
    received.body["sharedSecret"].as_str().unwrap().to_owned()
}

/// Checks an HS256 lifecycle callback signed with `secret`.
fn check_symmetric(received: &Received, secret: &str, client_key: &str, event: &str) {
    assert_eq!(received.path, format!("/app/{event}"));
    let token = bearer(received);
    assert_eq!(verify_hs256(&token, secret.as_bytes()), Ok(()));
    let claims = token.claims();
    assert_eq!(claims.iss, client_key);
    assert_eq!(claims.check_times(now(), 30), Ok(()));
    let qsh = query_string_hash("POST", &received.path, "", "/app");
    assert_eq!(claims.check_qsh(&qsh), Ok(()));
    assert_eq!(received.body["eventType"], event);
    assert_eq!(received.body["sharedSecret"], secret);
}

fn hs256_ok(token: &Value, secret: &str) -> bool {
    let token = UnverifiedToken::parse(token.as_str().unwrap()).unwrap();
    verify_hs256(&token, secret.as_bytes()).is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_reinstall_uninstall_against_a_fake_app() {
    let app = start_fake_app().await;
    let sim = Sim::start(simulator::Config::for_app(&app.base_url).unwrap()).await;

    // Keys: ours is published, any other kid is not.
    let (_, config) = sim.call("GET", "/api/config", None).await;
    let kid = config["kid"].as_str().unwrap().to_owned();
    assert!(connect::Kid::parse(&kid).is_ok());
    let unknown = sim
        .http
        .get(format!("{}/keys/unknown", sim.url))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let pem = sim
        .http
        .get(format!("{}/keys/{kid}", sim.url))
        .send()
        .await
        .unwrap();
    assert_eq!(pem.status(), 200);
    let key = InstallPublicKey::from_pem(&pem.text().await.unwrap()).unwrap();
    assert_eq!(key.bits(), 2048);

    // Install: signed installed, then enabled with the new secret.
    let (status, acme) = sim.call("POST", "/api/sites/acme/install", None).await;
    assert_eq!(status, 200, "{acme}");
    assert_eq!(
        (
            acme["installed"].clone(),
            acme["status"].clone(),
            acme["enabled_status"].clone()
        ),
        (json!(true), json!(204), json!(204))
    );
    let client_key = acme["client_key"].as_str().unwrap().to_owned();
    let calls = app.take();
    assert_eq!(calls.len(), 2);
    let secret1 = check_signed(&calls[0], &key, &kid, &app, "installed");
    assert!(secret1.len() >= 32);
    assert_eq!(calls[0].body["clientKey"], client_key.as_str());
    assert_eq!(
        calls[0].body["baseUrl"],
        format!("{}/sites/acme/wiki", sim.url)
    );
    assert_eq!(calls[0].body["key"], "connect-prefs");
    assert_eq!(calls[0].body["productType"], "confluence");
    check_symmetric(&calls[1], &secret1, &client_key, "enabled");

    // Context tokens: current secret, context-qsh, counted.
    let (status, minted) = context_token(&sim, "acme", "alice").await;
    assert_eq!(status, 200);
    assert!(hs256_ok(&minted["token"], &secret1));
    let token = UnverifiedToken::parse(minted["token"].as_str().unwrap()).unwrap();
    let claims = token.claims();
    assert_eq!(
        (claims.iss.as_str(), claims.sub.as_deref()),
        (client_key.as_str(), Some("557058:aaaa-alice"))
    );
    assert_eq!(claims.qsh.as_deref(), Some("context-qsh"));
    assert_eq!(claims.exp - claims.iat, 900);
    assert_eq!(minted["exp"], claims.exp);

    // Iframe URL: signed with the current secret, qsh over the URL relative to /app.
    let (status, frame) = sim
        .call("GET", "/api/sites/acme/iframe-url?user=bob", None)
        .await;
    assert_eq!(status, 200, "{frame}");
    let url = reqwest::Url::parse(frame["url"].as_str().unwrap()).unwrap();
    assert_eq!(url.path(), "/app/preferences");
    let jwt = url
        .query_pairs()
        .find(|(k, _)| k == "jwt")
        .unwrap()
        .1
        .into_owned();
    let token = UnverifiedToken::parse(&jwt).unwrap();
    assert_eq!(verify_hs256(&token, secret1.as_bytes()), Ok(()));
    let qsh = query_string_hash("GET", url.path(), url.query().unwrap(), "/app");
    assert_eq!(token.claims().check_qsh(&qsh), Ok(()));
    assert_eq!(token.claims().sub.as_deref(), Some("557058:bbbb-bob"));

    // The host page embeds a fresh iframe URL from the app's origin.
    let host_page = sim
        .http
        .get(format!(
            "{}/sites/acme/wiki/plugins/servlet/ac/connect-prefs/preferences?user=alice",
            sim.url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(host_page.status(), 200);
    let html = host_page.text().await.unwrap();
    assert!(html.contains(&format!("src=\"{}/preferences?xdm_e=", app.base_url)));
    assert!(html.contains("&amp;jwt="));
    assert!(!html.contains(&secret1));
    let all_js = sim
        .http
        .get(format!("{}/all.js", sim.url))
        .send()
        .await
        .unwrap();
    assert!(
        all_js.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/javascript")
    );

    // Re-install rotates the secret: old tokens stop verifying with the current secret.
    let (status, again) = sim.call("POST", "/api/sites/acme/install", None).await;
    assert_eq!((status, again["installs"].clone()), (200, json!(2)));
    let calls = app.take();
    let secret2 = check_signed(&calls[0], &key, &kid, &app, "installed");
    assert_ne!(secret1, secret2);
    check_symmetric(&calls[1], &secret2, &client_key, "enabled");
    assert!(!hs256_ok(&minted["token"], &secret2));
    let (_, minted2) = context_token(&sim, "acme", "alice").await;
    assert!(hs256_ok(&minted2["token"], &secret2));
    assert!(!hs256_ok(&minted2["token"], &secret1));

    // A second site: same person, same accountId, different tenant and secret.
    let (status, globex) = sim.call("POST", "/api/sites/globex/install", None).await;
    assert_eq!(status, 200);
    assert_ne!(globex["client_key"], client_key.as_str());
    let globex_secret = check_signed(&app.take()[0], &key, &kid, &app, "installed");
    let (_, on_globex) = context_token(&sim, "globex", "alice").await;
    let on_globex = UnverifiedToken::parse(on_globex["token"].as_str().unwrap()).unwrap();
    assert_eq!(on_globex.claims().sub.as_deref(), Some("557058:aaaa-alice"));
    assert_eq!(
        on_globex.claims().iss,
        globex["client_key"].as_str().unwrap()
    );
    assert_eq!(verify_hs256(&on_globex, globex_secret.as_bytes()), Ok(()));
    let (_, anonymous) = context_token(&sim, "globex", "anonymous").await;
    let anonymous = UnverifiedToken::parse(anonymous["token"].as_str().unwrap()).unwrap();
    assert_eq!(anonymous.claims().sub, None);

    // A refused install changes nothing: the old secret stays current.
    app.installed_status.store(401, Ordering::SeqCst);
    let (status, refused) = sim.call("POST", "/api/sites/globex/install", None).await;
    assert_eq!(status, 502);
    assert_eq!(
        (
            refused["installed"].clone(),
            refused["status"].clone(),
            refused["enabled_status"].clone()
        ),
        (json!(false), json!(401), Value::Null)
    );
    assert_eq!(app.take().len(), 1, "no enabled after a refused install");
    let (_, still) = context_token(&sim, "globex", "bob").await;
    assert!(hs256_ok(&still["token"], &globex_secret));
    app.installed_status.store(204, Ordering::SeqCst);

    // Uninstall: disabled (HS256, current secret), then uninstalled (RS256).
    let (status, gone) = sim.call("POST", "/api/sites/acme/uninstall", None).await;
    assert_eq!(status, 200, "{gone}");
    assert_eq!(
        (gone["disabled_status"].clone(), gone["status"].clone()),
        (json!(204), json!(204))
    );
    let calls = app.take();
    assert_eq!(calls.len(), 2);
    check_symmetric(&calls[0], &secret2, &client_key, "disabled");
    assert_eq!(
        check_signed(&calls[1], &key, &kid, &app, "uninstalled"),
        secret2
    );
    let (status, error) = context_token(&sim, "acme", "alice").await;
    assert_eq!(
        (status, error["error"].clone()),
        (409, json!("not_installed"))
    );
    let (status, _) = sim.call("POST", "/api/sites/acme/uninstall", None).await;
    assert_eq!(status, 409);

    // Site state and counters.
    let (_, sites) = sim.call("GET", "/api/sites", None).await;
    let acme_state = &sites.as_array().unwrap()[0];
    assert_eq!(
        (acme_state["site"].clone(), acme_state["installed"].clone()),
        (json!("acme"), json!(false))
    );
    assert_eq!(acme_state["callbacks"]["uninstalled"]["status"], 204);
    assert_eq!(sites[1]["callbacks"]["installed"]["status"], 401);
    let (_, stats) = sim.call("GET", "/api/stats", None).await;
    assert_eq!(
        stats["context_tokens_issued"],
        json!({"total": 5, "per_site": {"acme": 2, "globex": 3}})
    );
    assert_eq!(stats["iframe_tokens_issued"]["per_site"]["acme"], 2);

    // Run-time token lifetime.
    let (status, _) = sim
        .call(
            "POST",
            "/api/config",
            Some(json!({"token_lifetime_secs": 0})),
        )
        .await;
    assert_eq!(status, 400);
    let (status, changed) = sim
        .call(
            "POST",
            "/api/config",
            Some(json!({"token_lifetime_secs": 5})),
        )
        .await;
    assert_eq!(
        (status, changed["token_lifetime_secs"].clone()),
        (200, json!(5))
    );
    let (_, short) = context_token(&sim, "globex", "alice").await;
    let short = UnverifiedToken::parse(short["token"].as_str().unwrap()).unwrap();
    assert_eq!(short.claims().exp - short.claims().iat, 5);

    // Clear errors for unknown names.
    let (status, error) = context_token(&sim, "initech", "alice").await;
    assert_eq!(
        (status, error["error"].clone()),
        (404, json!("unknown_site"))
    );
    let (status, error) = context_token(&sim, "globex", "mallory").await;
    assert_eq!(
        (status, error["error"].clone()),
        (400, json!("unknown_user"))
    );
    let (status, _) = sim
        .call("POST", "/api/sites/globex/context-token", Some(json!({})))
        .await;
    assert_eq!(status, 400);

    // No secret ever left through the API.
    let seen = sim.seen.lock().unwrap().clone();
    for secret in [&secret1, &secret2, &globex_secret] {
        assert!(!seen.contains(secret.as_str()));
    }

    sim.stop().await;
}
