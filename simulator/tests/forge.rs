//! Black-box test of the simulator playing Forge: FITs it mints and the install triggers it
//! delivers are verified with the pure `connect::forge` verifier against the JWKS it serves,
//! as the app's server must; rotation, 409s and the Connect payload's Forge ids included.
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
use connect::forge::{
    AppId, EnvironmentId, EnvironmentPolicy, FitError, FitPolicy, UnverifiedFit, VerifiedFit,
    parse_jwks,
};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;

/// One request as the receiver got it.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    authorization: String,
    traceid: Option<String>,
    body: Value,
}

/// A tiny app: a Connect descriptor and lifecycle, and (unless `with_forge` is false) the two
/// Forge trigger routes, answering `forge_status`.
struct Receiver {
    base_url: String,
    received: Mutex<Vec<Received>>,
    forge_status: AtomicU16,
}

impl Receiver {
    fn take(&self) -> Vec<Received> {
        std::mem::take(&mut *self.received.lock().unwrap())
    }

    fn take_one(&self, path: &str) -> Received {
        let all = self.take();
        assert_eq!(all.len(), 1, "{all:?}");
        assert_eq!(all[0].path, path);
        all.into_iter().next().unwrap()
    }
}

async fn descriptor(State(app): State<Arc<Receiver>>) -> axum::Json<Value> {
    axum::Json(json!({
        "key": "connect-prefs",
        "name": "Connect Prefs",
        "baseUrl": app.base_url,
        "authentication": {"type": "jwt"},
        "lifecycle": {"installed": "/installed", "uninstalled": "/uninstalled"},
        "modules": {"generalPages": [
            {"key": "preferences", "name": {"value": "My preferences"}, "url": "/preferences"}
        ]}
    }))
}

async fn record(
    State(app): State<Arc<Receiver>>,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    app.received.lock().unwrap().push(Received {
        path: uri.path().to_owned(),
        authorization: header("authorization").unwrap_or_default(),
        traceid: header("x-b3-traceid"),
        body: serde_json::from_str(&body).unwrap_or(Value::Null),
    });
    if uri.path().starts_with("/forge/") {
        StatusCode::from_u16(app.forge_status.load(Ordering::SeqCst)).unwrap()
    } else {
        StatusCode::NO_CONTENT
    }
}

async fn start_receiver(with_forge: bool) -> Arc<Receiver> {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = Arc::new(Receiver {
        base_url: format!("http://{}", listener.local_addr().unwrap()),
        received: Mutex::new(Vec::new()),
        forge_status: AtomicU16::new(204),
    });
    let mut router = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/atlassian-connect.json", get(descriptor))
        .route("/installed", post(record))
        .route("/uninstalled", post(record));
    if with_forge {
        router = router
            .route("/forge/installed", post(record))
            .route("/forge/uninstalled", post(record));
    }
    let router = router.with_state(app.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    app
}

async fn fit(sim: &Sim, site: &str, request: Value) -> (u16, Value) {
    let path = format!("/api/sites/{site}/forge/fit");
    sim.call("POST", &path, Some(request)).await
}

/// Verifies `token` as the app's server does: the kid from the header, the key from the JWKS
/// the simulator serves right now, then signature and claims against `policy`.
async fn verify(sim: &Sim, token: &str, policy: &FitPolicy) -> Result<VerifiedFit, FitError> {
    let response = sim.get("/forge/jwks.json").await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let keys = parse_jwks(&response.bytes().await.unwrap()).unwrap();
    assert!(keys.skipped.is_empty(), "{:?}", keys.skipped);
    let fit = UnverifiedFit::parse(token)?;
    let (_, key) = keys
        .keys
        .iter()
        .find(|(kid, _)| kid == fit.kid())
        .unwrap_or_else(|| panic!("{} is not published", fit.kid()));
    fit.verify(key, policy, now())
}

fn bearer(received: &Received) -> &str {
    received.authorization.strip_prefix("Bearer ").unwrap()
}

fn kid_of(token: &str) -> String {
    UnverifiedFit::parse(token)
        .unwrap()
        .kid()
        .as_str()
        .to_owned()
}

fn policy(forge: &Value) -> FitPolicy {
    let env = EnvironmentId::parse(forge["environment_id"].as_str().unwrap()).unwrap();
    FitPolicy::new(
        AppId::parse(forge["app_id"].as_str().unwrap()).unwrap(),
        EnvironmentPolicy::Only(vec![env]),
        30,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fits_triggers_and_rotation_verify_against_the_served_jwks() {
    let app = start_receiver(true).await;
    let sim = Sim::start(simulator::Config::for_app(&app.base_url).unwrap()).await;

    let (status, forge) = sim.call("GET", "/api/forge", None).await;
    assert_eq!(status, 200, "{forge}");
    assert_eq!(forge["app_id"], simulator::config::DEFAULT_FORGE_APP_ID);
    assert_eq!(forge["jwks_url"], format!("{}/forge/jwks.json", sim.url));
    let first_kid = forge["kid"].as_str().unwrap().to_owned();
    assert!(first_kid.starts_with("forge/invocation-token/wf-"));
    let policy = policy(&forge);
    let (_, acme) = sim.call("GET", "/api/sites/acme", None).await;
    let cloud_id = acme["cloud_id"].as_str().unwrap().to_owned();
    assert_eq!(acme["forge"]["installed"], false);

    // No Forge installation yet: nothing to mint for, nothing to uninstall.
    let (status, error) = fit(&sim, "acme", json!({"user": "alice"})).await;
    assert_eq!(
        (status, error["error"].clone()),
        (409, json!("not_installed"))
    );
    let (status, error) = sim
        .call("POST", "/api/sites/acme/forge/uninstall", None)
        .await;
    assert_eq!(
        (status, error["error"].clone()),
        (409, json!("not_installed"))
    );
    let (status, _) = sim
        .call("POST", "/api/sites/acme/forge/upgrade", None)
        .await;
    assert_eq!(status, 409);

    // Install: a new installation, and avi:forge:installed:app with a FIT without principal.
    let (status, installed) = sim
        .call("POST", "/api/sites/acme/forge/install", None)
        .await;
    assert_eq!(status, 200, "{installed}");
    assert_eq!(
        (
            installed["installed"].clone(),
            installed["delivered"].clone(),
            installed["status"].clone(),
            installed["event"].clone(),
            installed["installs"].clone(),
        ),
        (
            json!(true),
            json!(true),
            json!(204),
            json!("avi:forge:installed:app"),
            json!(1)
        )
    );
    assert_eq!(installed["cloud_id"], cloud_id.as_str());
    assert_eq!(
        installed["url"],
        format!("{}/forge/installed", app.base_url)
    );
    let installation_id = installed["installation_id"].as_str().unwrap().to_owned();
    assert!(installation_id.starts_with("ari:cloud:ecosystem::installation/"));
    let trigger = app.take_one("/forge/installed");
    assert_eq!(trigger.traceid.as_deref().map(str::len), Some(32));
    let verified = verify(&sim, bearer(&trigger), &policy).await.unwrap();
    assert_eq!(verified.principal, None, "triggers have no user");
    assert_eq!(verified.installation_id.as_str(), installation_id);
    assert_eq!(verified.cloud_id.as_ref().unwrap().as_str(), cloud_id);
    assert_eq!(verified.environment_type.as_deref(), Some("DEVELOPMENT"));
    assert_eq!(verified.module.as_ref().unwrap().kind, "core:endpoint");
    assert_eq!(verified.exp - verified.iat, 25);
    assert_eq!(
        (
            trigger.body["eventType"].clone(),
            trigger.body["installationId"].clone(),
            trigger.body["context"]["cloudId"].clone(),
            trigger.body["app"]["id"].clone(),
        ),
        (
            json!("avi:forge:installed:app"),
            json!(installation_id),
            json!(cloud_id),
            forge["app_id"].clone()
        )
    );

    // A UI call's FIT: alice is the principal; the default module and lifetime.
    let (status, minted) = fit(&sim, "acme", json!({"user": "alice"})).await;
    assert_eq!(status, 200, "{minted}");
    assert_eq!(
        (
            minted["installation_id"].clone(),
            minted["cloud_id"].clone(),
            minted["account_id"].clone(),
            minted["kid"].clone(),
        ),
        (
            json!(installation_id),
            json!(cloud_id),
            json!("557058:aaaa-alice"),
            json!(first_kid)
        )
    );
    let token = minted["token"].as_str().unwrap().to_owned();
    let ui = verify(&sim, &token, &policy).await.unwrap();
    assert_eq!(ui.principal.unwrap().as_str(), "557058:aaaa-alice");
    assert_eq!(ui.exp, minted["exp"].as_i64().unwrap());
    assert_eq!(ui.exp - ui.iat, 25);
    let module = ui.module.unwrap();
    assert_eq!(
        (module.kind.as_str(), module.key.as_str()),
        ("confluence:globalPage", "preferences")
    );
    assert!(ui.api_base_url.starts_with("https://api.atlassian.com/ex/"));

    // No user, another module, a longer life; and what a correct verifier must refuse.
    let (_, bare) = fit(
        &sim,
        "acme",
        json!({"module": {"type": "xen:macro", "key": "prefs-macro"}, "lifetime_secs": 60}),
    )
    .await;
    assert_eq!(bare["account_id"], Value::Null);
    let bare = verify(&sim, bare["token"].as_str().unwrap(), &policy)
        .await
        .unwrap();
    assert_eq!((bare.principal, bare.exp - bare.iat), (None, 60));
    assert_eq!(bare.module.unwrap().kind, "xen:macro");
    let (_, long) = fit(&sim, "acme", json!({"user": "bob", "lifetime_secs": 301})).await;
    assert_eq!(
        verify(&sim, long["token"].as_str().unwrap(), &policy).await,
        Err(FitError::LifetimeTooLong)
    );
    let other_app_env = "ari:cloud:ecosystem::environment/0b9c4f3e-1111-4222-8333-944455556666/1e468bcd-89ab-49f0-a648-14620b9cde00";
    let (_, foreign) = fit(&sim, "acme", json!({"environment": other_app_env})).await;
    assert_eq!(foreign["environment_id"], other_app_env);
    let mut any_env = policy.clone();
    any_env.environments = EnvironmentPolicy::AnyOfApp;
    assert_eq!(
        verify(&sim, foreign["token"].as_str().unwrap(), &any_env).await,
        Err(FitError::EnvironmentNotAllowed)
    );

    // The Connect install now carries the Forge installation beside the cloudId.
    let (status, _) = sim.call("POST", "/api/sites/acme/install", None).await;
    assert_eq!(status, 200);
    let connect = app.take_one("/installed");
    assert!(connect.authorization.starts_with("JWT "));
    assert_eq!(connect.body["installationId"], installation_id.as_str());
    assert_eq!(connect.body["cloudId"], cloud_id.as_str());

    // Rotation: the new key signs, the previous stays published until dropped.
    let (status, rotated) = sim.call("POST", "/api/forge/rotate", None).await;
    assert_eq!(status, 200, "{rotated}");
    let second_kid = rotated["kid"].as_str().unwrap().to_owned();
    assert_ne!(second_kid, first_kid);
    assert_eq!(rotated["published_kids"], json!([second_kid, first_kid]));
    let (_, after) = fit(&sim, "acme", json!({"user": "alice"})).await;
    let after = after["token"].as_str().unwrap().to_owned();
    assert_eq!(kid_of(&after), second_kid);
    assert!(verify(&sim, &after, &policy).await.is_ok());
    assert!(
        verify(&sim, &token, &policy).await.is_ok(),
        "the old key is still published"
    );
    let (status, dropped) = sim
        .call(
            "POST",
            "/api/forge/rotate",
            Some(json!({"drop_previous": true})),
        )
        .await;
    assert_eq!(status, 200);
    let third_kid = dropped["kid"].as_str().unwrap().to_owned();
    assert_eq!(dropped["published_kids"], json!([third_kid]));
    assert_eq!(dropped["dropped_kids"], json!([second_kid, first_kid]));
    let (_, jwks) = sim.call("GET", "/forge/jwks.json", None).await;
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    assert_eq!(
        (
            jwks["keys"][0]["kid"].clone(),
            jwks["keys"][0]["alg"].clone(),
            jwks["keys"][0]["use"].clone()
        ),
        (json!(third_kid), json!("RS256"), json!("sig"))
    );
    let (_, third) = fit(&sim, "acme", json!({"user": "bob"})).await;
    assert_eq!(kid_of(third["token"].as_str().unwrap()), third_kid);
    let (_, state) = sim.call("GET", "/api/forge", None).await;
    assert_eq!(state["kid"], third_kid.as_str());
    assert!(state["jwks_fetches"].as_u64().unwrap() >= 8);

    // Upgrade keeps the installation; a reinstall makes a new one on the same cloudId.
    let (status, upgraded) = sim
        .call("POST", "/api/sites/acme/forge/upgrade", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(upgraded["event"], "avi:forge:upgraded:app");
    assert_eq!(upgraded["installation_id"], installation_id.as_str());
    let trigger = app.take_one("/forge/installed");
    assert_eq!(trigger.body["eventType"], "avi:forge:upgraded:app");
    let (_, again) = sim
        .call("POST", "/api/sites/acme/forge/install", None)
        .await;
    let second_installation = again["installation_id"].as_str().unwrap().to_owned();
    assert_ne!(second_installation, installation_id);
    assert_eq!(
        (again["cloud_id"].clone(), again["installs"].clone()),
        (json!(cloud_id), json!(2))
    );
    let trigger = app.take_one("/forge/installed");
    let verified = verify(&sim, bearer(&trigger), &policy).await.unwrap();
    assert_eq!(verified.installation_id.as_str(), second_installation);
    assert_eq!(verified.cloud_id.unwrap().as_str(), cloud_id);

    // An app that refuses the trigger: recorded, the installation exists anyway.
    app.forge_status.store(500, Ordering::SeqCst);
    let (status, refused) = sim
        .call("POST", "/api/sites/globex/forge/install", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            refused["installed"].clone(),
            refused["delivered"].clone(),
            refused["status"].clone()
        ),
        (json!(true), json!(false), json!(500))
    );
    app.take();
    app.forge_status.store(204, Ordering::SeqCst);
    let (_, globex) = sim.call("GET", "/api/sites/globex", None).await;
    assert_eq!(globex["forge"]["callbacks"]["installed"]["status"], 500);
    assert_eq!(globex["forge"]["installed"], true);
    assert_ne!(globex["cloud_id"], cloud_id.as_str());

    // Uninstall: preUninstall with a FIT naming the installation, then it is gone.
    let (status, gone) = sim
        .call("POST", "/api/sites/acme/forge/uninstall", None)
        .await;
    assert_eq!(status, 200, "{gone}");
    assert_eq!(
        (
            gone["installed"].clone(),
            gone["delivered"].clone(),
            gone["event"].clone(),
            gone["installation_id"].clone()
        ),
        (
            json!(false),
            json!(true),
            json!("preUninstall"),
            json!(second_installation)
        )
    );
    let trigger = app.take_one("/forge/uninstalled");
    let verified = verify(&sim, bearer(&trigger), &policy).await.unwrap();
    assert_eq!(verified.principal, None);
    assert_eq!(verified.installation_id.as_str(), second_installation);
    let (status, error) = fit(&sim, "acme", json!({"user": "alice"})).await;
    assert_eq!(
        (status, error["error"].clone()),
        (409, json!("not_installed"))
    );
    let (_, acme) = sim.call("GET", "/api/sites/acme", None).await;
    assert_eq!(acme["forge"]["installed"], false);
    assert_eq!(acme["forge"]["installation_id"], Value::Null);
    assert_eq!(acme["forge"]["callbacks"]["uninstalled"]["status"], 204);
    assert_eq!(acme["forge"]["callbacks"]["upgraded"]["status"], 204);
    let (_, stats) = sim.call("GET", "/api/stats", None).await;
    assert!(stats["fits_issued"]["per_site"]["acme"].as_u64().unwrap() >= 9);

    // Clear errors.
    let (status, error) = fit(&sim, "initech", json!({})).await;
    assert_eq!(
        (status, error["error"].clone()),
        (404, json!("unknown_site"))
    );
    let (status, error) = fit(&sim, "globex", json!({"user": "mallory"})).await;
    assert_eq!(
        (status, error["error"].clone()),
        (400, json!("unknown_user"))
    );
    for bad in [
        json!({"lifetime_secs": 0}),
        json!({"lifetime_secs": 3601}),
        json!({"environment": "DEVELOPMENT"}),
        json!({"module": {"type": "x"}}),
        json!({"usr": "alice"}),
    ] {
        let (status, error) = fit(&sim, "globex", bad.clone()).await;
        assert_eq!(
            (status, error["error"].clone()),
            (400, json!("bad_request")),
            "{bad}"
        );
    }
    // An empty body is all defaults: no principal.
    let (status, empty) = sim.call("POST", "/api/sites/globex/forge/fit", None).await;
    assert_eq!((status, empty["account_id"].clone()), (200, Value::Null));
    let index = sim.get("/").await.unwrap().text().await.unwrap();
    assert!(index.contains(&third_kid) && index.contains("Forge uninstall"));

    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_install_forge_installs_first_and_survives_an_app_without_forge() {
    let app = start_receiver(false).await;
    let mut config = simulator::Config::for_app(&app.base_url).unwrap();
    config.auto_install = true;
    let sim = Sim::start(config).await;

    let mut sites = Value::Null;
    for _ in 0..200 {
        let (_, now) = sim.call("GET", "/api/sites", None).await;
        if now
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["installed"] == true)
        {
            sites = now;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let sites = sites.as_array().expect("both sites installed");
    let received = app.take();
    for site in sites {
        // The app had no /forge/installed: recorded, and the Connect install went ahead with
        // the new installation's id.
        assert_eq!(site["forge"]["installed"], true);
        assert_eq!(site["forge"]["callbacks"]["installed"]["status"], 404);
        let installation_id = &site["forge"]["installation_id"];
        assert!(
            installation_id
                .as_str()
                .unwrap()
                .starts_with("ari:cloud:ecosystem::installation/")
        );
        let connect = received
            .iter()
            .find(|r| r.path == "/installed" && r.body["cloudId"] == site["cloud_id"])
            .unwrap();
        assert_eq!(&connect.body["installationId"], installation_id);
    }
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_forge_off_the_forge_routes_say_so() {
    let app = start_receiver(true).await;
    let mut config = simulator::Config::for_app(&app.base_url).unwrap();
    config.forge = None;
    let sim = Sim::start(config).await;
    for (method, path) in [
        ("GET", "/forge/jwks.json"),
        ("GET", "/api/forge"),
        ("POST", "/api/forge/rotate"),
        ("POST", "/api/sites/acme/forge/fit"),
        ("POST", "/api/sites/acme/forge/install"),
    ] {
        let (status, error) = sim.call(method, path, None).await;
        assert_eq!(
            (status, error["error"].clone()),
            (404, json!("forge_disabled")),
            "{path}"
        );
    }
    let (_, config) = sim.call("GET", "/api/config", None).await;
    assert_eq!(config["forge"], Value::Null);
    let (status, _) = sim.call("POST", "/api/sites/acme/install", None).await;
    assert_eq!(status, 200);
    let connect = app.take_one("/installed");
    assert!(connect.body.get("installationId").is_none());
    assert!(connect.body["cloudId"].is_string());
    sim.stop().await;
}
