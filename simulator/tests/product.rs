//! Black-box test of the simulator playing the Confluence product: a fake app is installed on
//! both sites (keeping the secret and oauthClientId it was given), then calls the spaces API as
//! the app (Connect JWT minted with `connect::mint::hs256` and the shared canonicaliser, `/wiki`
//! stripped) and as users (bearer tokens from the JWT-bearer token endpoint), with injected
//! faults and the received log.
#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

mod common;

use axum::Router;
use axum::extract::State;
use axum::routing::{self, post};
use common::{Sim, now};
use connect::query_string_hash;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

const APP_KEY: &str = "connect-prefs";
const ALICE: &str = "557058:aaaa-alice";
const BOB: &str = "557058:bbbb-bob";
const GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const SEED_CLOSED: &str = simulator::product::personal_data::SEED_CLOSED;

/// What an `installed` callback delivered to the fake app.
#[derive(Debug, Clone)]
struct Tenant {
    secret: String,
    oauth_client_id: String,
    base_url: String,
}

/// A fake app that declares `scopes` and keeps each site's install payload by baseUrl.
struct FakeApp {
    base_url: String,
    scopes: Value,
    tenants: Mutex<HashMap<String, Tenant>>,
}

async fn descriptor(State(app): State<Arc<FakeApp>>) -> axum::Json<Value> {
    axum::Json(json!({
        "key": APP_KEY,
        "name": "Connect Prefs",
        "baseUrl": app.base_url,
        "authentication": {"type": "jwt"},
        "scopes": app.scopes,
        "lifecycle": {"installed": "/installed"},
        "modules": {"generalPages": [
            {"key": "preferences", "name": {"value": "My preferences"}, "url": "/preferences"}
        ]}
    }))
}

async fn installed(State(app): State<Arc<FakeApp>>, body: String) -> &'static str {
    let body: Value = serde_json::from_str(&body).unwrap();
    let tenant = Tenant {
        secret: body["sharedSecret"].as_str().unwrap().to_owned(),
        oauth_client_id: body["oauthClientId"].as_str().unwrap().to_owned(),
        base_url: body["baseUrl"].as_str().unwrap().to_owned(),
    };
    app.tenants
        .lock()
        .unwrap()
        .insert(tenant.base_url.clone(), tenant);
    "ok"
}

async fn start_app(scopes: Value) -> Arc<FakeApp> {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = Arc::new(FakeApp {
        base_url: format!("http://{}", listener.local_addr().unwrap()),
        scopes,
        tenants: Mutex::new(HashMap::new()),
    });
    let router = Router::new()
        .route("/atlassian-connect.json", routing::get(descriptor))
        .route("/installed", post(installed))
        .with_state(app.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    app
}

/// The simulator with the app (declaring READ and ACT_AS_USER) installed on both sites.
async fn setup() -> (Sim, Arc<FakeApp>) {
    setup_with(json!(["READ", "ACT_AS_USER"])).await
}

async fn setup_with(scopes: Value) -> (Sim, Arc<FakeApp>) {
    let app = start_app(scopes).await;
    let sim = Sim::start(simulator::Config::for_app(&app.base_url).unwrap()).await;
    for site in ["acme", "globex"] {
        let (status, body) = sim
            .call("POST", &format!("/api/sites/{site}/install"), None)
            .await;
        assert_eq!(status, 200, "{body}");
    }
    (sim, app)
}

fn tenant(sim: &Sim, app: &FakeApp, site: &str) -> Tenant {
    let base_url = format!("{}/sites/{site}/wiki", sim.url);
    app.tenants.lock().unwrap()[&base_url].clone()
}

/// An app JWT for `method path?query`, its `qsh` relative to `base_path`.
fn app_jwt(secret: &str, method: &str, path: &str, query: &str, base_path: &str) -> String {
    let iat = now();
    let claims = json!({
        "iss": APP_KEY,
        "iat": iat,
        "exp": iat + 180,
        "qsh": query_string_hash(method, path, query, base_path),
    });
    connect::mint::hs256(&claims, secret.as_bytes()).unwrap()
}

/// The correct app JWT for a GET of `path?query` on `site` (`/sites/{site}/wiki` stripped).
fn site_jwt(tenant: &Tenant, site: &str, path: &str, query: &str) -> String {
    app_jwt(
        &tenant.secret,
        "GET",
        path,
        query,
        &format!("/sites/{site}/wiki"),
    )
}

/// The claims of a correct assertion for `account_id` on `tenant`.
fn assertion_claims(sim: &Sim, tenant: &Tenant, account_id: &str) -> Value {
    let iat = now();
    json!({
        "iss": format!("urn:atlassian:connect:clientid:{}", tenant.oauth_client_id),
        "sub": format!("urn:atlassian:connect:useraccountid:{account_id}"),
        "tnt": tenant.base_url,
        "aud": sim.url,
        "iat": iat,
        "exp": iat + 60,
    })
}

fn sign(claims: &Value, secret: &str) -> String {
    connect::mint::hs256(claims, secret.as_bytes()).unwrap()
}

/// `GET` of `path_and_query` on `origin` with an optional `Authorization`.
async fn get_at(
    sim: &Sim,
    origin: &str,
    path_and_query: &str,
    authorization: Option<&str>,
) -> (u16, Value, HeaderMap) {
    let mut request = sim.http.get(format!("{origin}{path_and_query}"));
    if let Some(authorization) = authorization {
        request = request.header("authorization", authorization);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        headers,
    )
}

async fn get(sim: &Sim, path_and_query: &str, authorization: Option<&str>) -> (u16, Value) {
    let (status, body, _) = get_at(sim, &sim.url, path_and_query, authorization).await;
    (status, body)
}

/// `GET` with the correct app JWT for exactly this path and query.
async fn get_as_app(sim: &Sim, app: &FakeApp, site: &str, path: &str, query: &str) -> (u16, Value) {
    let jwt = site_jwt(&tenant(sim, app, site), site, path, query);
    let target = if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    };
    get(sim, &target, Some(&format!("JWT {jwt}"))).await
}

/// `POST /oauth2/token` with a form body of `fields` (values form-encoded).
async fn token_request(sim: &Sim, fields: &[(&str, &str)]) -> (u16, Value) {
    let body = fields
        .iter()
        .map(|(k, v)| format!("{k}={}", form_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let response = sim
        .http
        .post(format!("{}/oauth2/token", sim.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn form_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Exchanges a signed assertion; the access token on success.
async fn exchange(sim: &Sim, assertion: &str, scope: Option<&str>) -> (u16, Value) {
    let mut fields = vec![("grant_type", GRANT), ("assertion", assertion)];
    if let Some(scope) = scope {
        fields.push(("scope", scope));
    }
    token_request(sim, &fields).await
}

async fn user_token(sim: &Sim, app: &FakeApp, site: &str, account_id: &str) -> String {
    let tenant = tenant(sim, app, site);
    let assertion = sign(&assertion_claims(sim, &tenant, account_id), &tenant.secret);
    let (status, body) = exchange(sim, &assertion, Some("READ ACT_AS_USER")).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

fn keys(body: &Value) -> Vec<String> {
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["key"].as_str().unwrap().to_owned())
        .collect()
}

/// Every key of the listing, following `_links.next` with a fresh JWT or the same bearer.
async fn all_keys(sim: &Sim, app: &FakeApp, first: &str, bearer: Option<&str>) -> Vec<String> {
    let mut seen = Vec::new();
    let mut next = Some(first.to_owned());
    while let Some(target) = next.take() {
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let (status, body) = match bearer {
            Some(token) => get(sim, &target, Some(&format!("Bearer {token}"))).await,
            None => get_as_app(sim, app, "acme", path, query).await,
        };
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body["_links"]["base"],
            format!("{}/sites/acme/wiki", sim.url)
        );
        seen.extend(keys(&body));
        next = body["_links"]["next"].as_str().map(str::to_owned);
    }
    seen
}

const SPACES: &str = "/sites/acme/wiki/api/v2/spaces";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_jwt_pages_and_filters_global_spaces() {
    let (sim, app) = setup().await;

    let (status, body) = get_as_app(&sim, &app, "acme", SPACES, "limit=5").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(keys(&body), ["DOCS", "ENG", "MKT", "T01", "T02"]);
    let first = &body["results"][1];
    assert_eq!(first["id"], "1000001");
    assert_eq!(
        (
            first["name"].clone(),
            first["type"].clone(),
            first["status"].clone()
        ),
        (json!("Engineering"), json!("global"), json!("current"))
    );
    assert_eq!(first["_links"]["webui"], "/spaces/ENG");
    let next = body["_links"]["next"].as_str().unwrap();
    assert!(next.starts_with(&format!("{SPACES}?cursor=")), "{next}");
    assert!(next.ends_with("&limit=5"), "{next}");

    // The app sees only the global spaces: 33, and no private one.
    let all = all_keys(&sim, &app, &format!("{SPACES}?limit=7"), None).await;
    assert_eq!(all.len(), 33);
    assert!(!all.iter().any(|k| k.ends_with("PRIV")));
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(all, sorted);
    // Default limit 25: one more page.
    let (_, body) = get_as_app(&sim, &app, "acme", SPACES, "").await;
    assert_eq!(keys(&body).len(), 25);

    // keys: repeated and comma-separated; the next link keeps the filter.
    let (status, body) =
        get_as_app(&sim, &app, "acme", SPACES, "keys=T02,ENG&keys=T01&limit=2").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(keys(&body), ["ENG", "T01"]);
    let next = body["_links"]["next"].as_str().unwrap();
    assert!(next.contains("&keys=T02"), "{next}");
    let rest = all_keys(&sim, &app, next, None).await;
    assert_eq!(rest, ["T02"]);
    // A private key is filtered out for the app.
    let (_, body) = get_as_app(&sim, &app, "acme", SPACES, "keys=APRIV,MKT").await;
    assert_eq!(keys(&body), ["MKT"]);
    assert!(body["_links"].get("next").is_none());

    // Bad parameters: 400 (after auth).
    for query in ["limit=0", "limit=251", "limit=ten", "cursor=bm9wZQ"] {
        let (status, body) = get_as_app(&sim, &app, "acme", SPACES, query).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["errors"][0]["status"], 400);
    }

    // One space by id; a private one is not found for the app.
    let (status, body) = get_as_app(&sim, &app, "acme", &format!("{SPACES}/1000001"), "").await;
    assert_eq!((status, body["key"].clone()), (200, json!("ENG")));
    let (status, body) = get_as_app(&sim, &app, "acme", &format!("{SPACES}/999"), "").await;
    assert_eq!(status, 404, "{body}");

    // globex has its own spaces and secret.
    let (status, body) =
        get_as_app(&sim, &app, "globex", "/sites/globex/wiki/api/v2/spaces", "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(keys(&body), ["DOCS", "GLX", "OPS"]);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_jwt_refusals() {
    let (sim, app) = setup().await;
    let acme = tenant(&sim, &app, "acme");
    let globex = tenant(&sim, &app, "globex");
    let target = format!("{SPACES}?limit=5");
    let refused = |body: &Value, reason: &str| {
        assert_eq!(body["errors"][0]["status"], 401, "{body}");
        assert_eq!(body["errors"][0]["code"], "UNAUTHORIZED");
        assert_eq!(body["errors"][0]["detail"], reason, "{body}");
    };

    // The qsh ACE computes: over the full path, /wiki context path kept.
    let unstripped = app_jwt(&acme.secret, "GET", SPACES, "limit=5", "");
    let (status, body) = get(&sim, &target, Some(&format!("JWT {unstripped}"))).await;
    assert_eq!(status, 401);
    refused(&body, "qsh_mismatch");
    // The right hash is over GET&/api/v2/spaces&limit=5.
    assert_eq!(
        query_string_hash("GET", SPACES, "limit=5", "/sites/acme/wiki"),
        query_string_hash("GET", "/api/v2/spaces", "limit=5", "")
    );
    // A qsh for another query.
    let other_query = site_jwt(&acme, "acme", SPACES, "limit=6");
    let (status, _) = get(&sim, &target, Some(&format!("JWT {other_query}"))).await;
    assert_eq!(status, 401);

    // Another site's secret, a made-up secret.
    let wrong = site_jwt(&globex, "acme", SPACES, "limit=5");
    let (status, body) = get(&sim, &target, Some(&format!("JWT {wrong}"))).await;
    assert_eq!(status, 401);
    refused(&body, "bad_signature");

    // Expired, too long-lived, wrong iss.
    let iat = now() - 300;
    let qsh = query_string_hash("GET", SPACES, "limit=5", "/sites/acme/wiki");
    let mint = |claims: Value| connect::mint::hs256(&claims, acme.secret.as_bytes()).unwrap();
    for (claims, reason) in [
        (
            json!({"iss": APP_KEY, "iat": iat, "exp": iat + 180, "qsh": qsh}),
            "token_expired",
        ),
        (
            json!({"iss": APP_KEY, "iat": now(), "exp": now() + 7200, "qsh": qsh}),
            "lifetime_too_long",
        ),
        (
            json!({"iss": "someone-else", "iat": now(), "exp": now() + 180, "qsh": qsh}),
            "iss_not_app_key",
        ),
        (
            json!({"iss": APP_KEY, "iat": now(), "exp": now() + 180}),
            "missing_claim",
        ),
    ] {
        let (status, body) = get(&sim, &target, Some(&format!("JWT {}", mint(claims)))).await;
        assert_eq!(status, 401);
        refused(&body, reason);
    }

    // A correct token, but in the query.
    let good = site_jwt(&acme, "acme", SPACES, "limit=5");
    let (status, body) = get(&sim, &format!("{target}&jwt={good}"), None).await;
    assert_eq!(status, 401);
    refused(&body, "jwt_in_query");
    let (status, body) = get(
        &sim,
        &format!("{target}&jwt={good}"),
        Some(&format!("JWT {good}")),
    )
    .await;
    assert_eq!(status, 401);
    refused(&body, "jwt_in_query");
    // No credentials, another scheme.
    let (status, body) = get(&sim, &target, None).await;
    assert_eq!(status, 401);
    refused(&body, "missing_authorization");
    let (status, _) = get(&sim, &target, Some("Basic YWxpY2U6cHc=")).await;
    assert_eq!(status, 401);
    // The good one works; unknown site is a 404.
    let (status, _) = get(&sim, &target, Some(&format!("JWT {good}"))).await;
    assert_eq!(status, 200);
    let (status, body) = get(
        &sim,
        "/sites/initech/wiki/api/v2/spaces",
        Some(&format!("JWT {good}")),
    )
    .await;
    assert_eq!(
        (status, body["error"].clone()),
        (404, json!("unknown_site"))
    );

    // The alias path has its own qsh: the token for the canonical path does not work there.
    let alias = "/sites/acme/wiki/alias/api/v2/spaces";
    let (status, _) = get(
        &sim,
        &format!("{alias}?limit=5"),
        Some(&format!("JWT {good}")),
    )
    .await;
    assert_eq!(status, 401);
    let (status, body) = get_as_app(&sim, &app, "acme", alias, "limit=5").await;
    assert_eq!((status, keys(&body).len()), (200, 5), "{body}");

    // Uninstalled: refused even with a correct token.
    let (status, _) = sim.call("POST", "/api/sites/acme/uninstall", None).await;
    assert_eq!(status, 200);
    let (status, body) = get(&sim, &target, Some(&format!("JWT {good}"))).await;
    assert_eq!(status, 401);
    refused(&body, "app_not_installed");
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_endpoint_checks_every_claim_and_issues_user_tokens() {
    let (sim, app) = setup().await;
    let acme = tenant(&sim, &app, "acme");
    let globex = tenant(&sim, &app, "globex");
    let good = assertion_claims(&sim, &acme, ALICE);

    let (status, body) = exchange(&sim, &sign(&good, &acme.secret), Some("READ ACT_AS_USER")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["scope"], "READ ACT_AS_USER");
    let alice = body["access_token"].as_str().unwrap().to_owned();
    assert!(alice.len() >= 32);

    // Each wrong claim: 400 invalid_grant naming the check.
    let iat = now();
    let mut cases: Vec<(Value, String, &str)> = Vec::new();
    let mut with = |key: &str, value: Value, secret: &str, expect: &'static str| {
        let mut claims = good.clone();
        if value.is_null() {
            claims.as_object_mut().unwrap().remove(key);
        } else {
            claims[key] = value;
        }
        cases.push((claims, secret.to_owned(), expect));
    };
    let secret = acme.secret.as_str();
    with("iss", json!(acme.oauth_client_id), secret, "iss must be");
    with(
        "iss",
        json!("urn:atlassian:connect:clientid:nope"),
        secret,
        "iss names no known",
    );
    with("iss", Value::Null, secret, "not a usable JWT");
    with(
        "iss",
        json!(format!(
            "urn:atlassian:connect:clientid:{}",
            globex.oauth_client_id
        )),
        secret,
        "bad signature",
    );
    with("sub", json!(ALICE), secret, "sub must be");
    with(
        "sub",
        json!("urn:atlassian:connect:useraccountid:557058:nobody"),
        secret,
        "sub names no known user",
    );
    with("sub", Value::Null, secret, "sub must be");
    with("tnt", json!(globex.base_url), secret, "tnt must be");
    with(
        "tnt",
        json!(format!("{}/", acme.base_url)),
        secret,
        "tnt must be",
    );
    with("tnt", Value::Null, secret, "tnt is missing");
    with(
        "aud",
        json!(format!("{}/", sim.url)),
        secret,
        "aud must be exactly",
    );
    with(
        "aud",
        json!("https://oauth-2-authorization-server.services.atlassian.com"),
        secret,
        "aud must be exactly",
    );
    with("aud", Value::Null, secret, "aud is missing");
    with("exp", json!(iat - 1), secret, "exp is before iat");
    with("exp", json!(iat + 61), secret, "at most 60 s");
    with("exp", Value::Null, secret, "missing claim: exp");
    with("iat", Value::Null, secret, "missing claim: iat");
    with("iss", json!(good["iss"]), "not-the-secret", "bad signature");
    cases.push((
        json!({"iss": good["iss"], "sub": good["sub"], "tnt": good["tnt"], "aud": good["aud"],
               "iat": iat - 120, "exp": iat - 70}),
        secret.to_owned(),
        "assertion expired",
    ));
    for (claims, secret, expect) in cases {
        let (status, body) = exchange(&sim, &sign(&claims, &secret), None).await;
        assert_eq!(status, 400, "{claims}: {body}");
        assert_eq!(body["error"], "invalid_grant", "{claims}: {body}");
        let description = body["error_description"].as_str().unwrap();
        assert!(
            description.contains(expect),
            "{claims}: {description:?} lacks {expect:?}"
        );
    }
    // Not HS256.
    let none_alg = {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.{}",
            b64.encode(r#"{"alg":"HS512","typ":"JWT"}"#),
            b64.encode(good.to_string()),
            b64.encode([0u8; 64])
        )
    };
    let (status, body) = exchange(&sim, &none_alg, None).await;
    assert_eq!(
        (status, body["error_description"].clone()),
        (400, json!("alg must be HS256"))
    );
    // Wrong grant type, missing assertion, undeclared scope, not a form.
    let (status, body) = token_request(
        &sim,
        &[("grant_type", "client_credentials"), ("assertion", "x")],
    )
    .await;
    assert_eq!(
        (status, body["error"].clone()),
        (400, json!("unsupported_grant_type"))
    );
    let (status, body) = token_request(&sim, &[("grant_type", GRANT)]).await;
    assert_eq!(
        (status, body["error"].clone()),
        (400, json!("invalid_request"))
    );
    let (status, body) = exchange(&sim, &sign(&good, &acme.secret), Some("READ WRITE")).await;
    assert_eq!(
        (status, body["error"].clone()),
        (400, json!("invalid_scope")),
        "{body}"
    );
    let response = sim
        .http
        .post(format!("{}/oauth2/token", sim.url))
        .header("content-type", "application/json")
        .body(json!({"grant_type": GRANT}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);

    // The bearer works as alice: her private space, not bob's.
    let alice_keys = all_keys(&sim, &app, &format!("{SPACES}?limit=10"), Some(&alice)).await;
    assert_eq!(alice_keys.len(), 34);
    assert!(alice_keys.contains(&"APRIV".to_owned()));
    assert!(!alice_keys.contains(&"BPRIV".to_owned()));
    let bob = user_token(&sim, &app, "acme", BOB).await;
    let bob_keys = all_keys(&sim, &app, &format!("{SPACES}?limit=250"), Some(&bob)).await;
    assert!(bob_keys.contains(&"BPRIV".to_owned()));
    assert!(!bob_keys.contains(&"APRIV".to_owned()));
    // By id too: APRIV (the 33rd seeded acme space) is there for alice, not for bob.
    let (status, body) = get(
        &sim,
        &format!("{SPACES}/1000033"),
        Some(&format!("Bearer {alice}")),
    )
    .await;
    assert_eq!((status, body["key"].clone()), (200, json!("APRIV")));
    let (status, _) = get(
        &sim,
        &format!("{SPACES}/1000033"),
        Some(&format!("Bearer {bob}")),
    )
    .await;
    assert_eq!(status, 404);

    // A token is bound to its site.
    let (status, body) = get(
        &sim,
        "/sites/globex/wiki/api/v2/spaces",
        Some(&format!("Bearer {alice}")),
    )
    .await;
    assert_eq!(
        (status, body["errors"][0]["detail"].clone()),
        (401, json!("token_for_another_site"))
    );
    let alice_globex = user_token(&sim, &app, "globex", ALICE).await;
    let (status, body) = get(
        &sim,
        "/sites/globex/wiki/api/v2/spaces",
        Some(&format!("Bearer {alice_globex}")),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(keys(&body), ["DOCS", "GLX", "GPRIV", "OPS"]);
    let (status, _) = get(&sim, SPACES, Some("Bearer made-up")).await;
    assert_eq!(status, 401);

    // Scope left out: the descriptor's scopes are granted.
    let (status, body) = exchange(&sim, &sign(&good, &acme.secret), None).await;
    assert_eq!(
        (status, body["scope"].clone()),
        (200, json!("READ ACT_AS_USER"))
    );
    // A token without READ may not list.
    let (status, body) = exchange(&sim, &sign(&good, &acme.secret), Some("ACT_AS_USER")).await;
    assert_eq!(status, 200);
    let token = body["access_token"].as_str().unwrap();
    let (status, _) = get(&sim, SPACES, Some(&format!("Bearer {token}"))).await;
    assert_eq!(status, 403);

    // Counters: 4 tokens on acme (alice twice more), 1 on globex.
    let (_, site) = sim.call("GET", "/api/sites/acme", None).await;
    assert_eq!(site["oauth_tokens_issued"], 4);
    let (_, stats) = sim.call("GET", "/api/stats", None).await;
    assert_eq!(
        stats["oauth_tokens_issued"],
        json!({"total": 5, "per_site": {"acme": 4, "globex": 1}})
    );
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_without_act_as_user_gets_no_user_token() {
    let (sim, app) = setup_with(json!(["READ"])).await;
    let acme = tenant(&sim, &app, "acme");
    let assertion = sign(&assertion_claims(&sim, &acme, ALICE), &acme.secret);
    let (status, body) = exchange(&sim, &assertion, None).await;
    assert_eq!(
        (status, body["error"].clone()),
        (400, json!("unauthorized_client")),
        "{body}"
    );
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_tokens_expire_and_are_revoked() {
    let (sim, app) = setup().await;
    let (status, config) = sim
        .call(
            "POST",
            "/api/config",
            Some(json!({"oauth_token_lifetime_secs": 1})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(config["oauth_token_lifetime_secs"], 1);
    assert_eq!(
        config["oauth_token_url"],
        format!("{}/oauth2/token", sim.url)
    );
    let (status, _) = sim
        .call(
            "POST",
            "/api/config",
            Some(json!({"oauth_token_lifetime_secs": 0})),
        )
        .await;
    assert_eq!(status, 400);

    let short = user_token(&sim, &app, "acme", ALICE).await;
    let (status, _) = get(&sim, SPACES, Some(&format!("Bearer {short}"))).await;
    assert_eq!(status, 200);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, body) = get(&sim, SPACES, Some(&format!("Bearer {short}"))).await;
    assert_eq!(
        (status, body["errors"][0]["detail"].clone()),
        (401, json!("token_expired"))
    );

    sim.call(
        "POST",
        "/api/config",
        Some(json!({"oauth_token_lifetime_secs": 900})),
    )
    .await;
    let alice = user_token(&sim, &app, "acme", ALICE).await;
    let bob = user_token(&sim, &app, "acme", BOB).await;
    let alice_globex = user_token(&sim, &app, "globex", ALICE).await;
    let (status, body) = sim
        .call(
            "POST",
            "/api/oauth/revoke",
            Some(json!({"site": "acme", "user": "alice"})),
        )
        .await;
    // The expired one is still on record and counts.
    assert_eq!((status, body["revoked"].clone()), (200, json!(2)));
    let (status, body) = get(&sim, SPACES, Some(&format!("Bearer {alice}"))).await;
    assert_eq!(
        (status, body["errors"][0]["detail"].clone()),
        (401, json!("unknown_or_revoked_token"))
    );
    let (status, _) = get(&sim, SPACES, Some(&format!("Bearer {bob}"))).await;
    assert_eq!(status, 200);
    let (status, _) = get(
        &sim,
        "/sites/globex/wiki/api/v2/spaces",
        Some(&format!("Bearer {alice_globex}")),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = sim.call("POST", "/api/oauth/revoke", Some(json!({}))).await;
    assert_eq!((status, body["revoked"].clone()), (200, json!(2)));
    let (status, _) = get(&sim, SPACES, Some(&format!("Bearer {bob}"))).await;
    assert_eq!(status, 401);
    let (status, body) = sim
        .call(
            "POST",
            "/api/oauth/revoke",
            Some(json!({"site": "initech"})),
        )
        .await;
    assert_eq!(
        (status, body["error"].clone()),
        (404, json!("unknown_site"))
    );

    // Uninstall: a live token stops working.
    let bob = user_token(&sim, &app, "acme", BOB).await;
    sim.call("POST", "/api/sites/acme/uninstall", None).await;
    let (status, _) = get(&sim, SPACES, Some(&format!("Bearer {bob}"))).await;
    assert_eq!(status, 401);
    sim.stop().await;
}

/// `DELETE` of an admin route (`Sim::call` only sends GET and POST).
async fn delete(sim: &Sim, path: &str) -> Value {
    let response = sim
        .http
        .delete(format!("{}{path}", sim.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    serde_json::from_str(&response.text().await.unwrap()).unwrap()
}

async fn add_fault(sim: &Sim, rule: Value) -> u64 {
    let (status, body) = sim.call("POST", "/api/faults", Some(rule)).await;
    assert_eq!(status, 200, "{body}");
    body["id"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_answer_before_auth() {
    let (sim, app) = setup().await;

    // 429 with Retry-After in seconds, once; no credentials needed to see it.
    let id = add_fault(
        &sim,
        json!({"path_prefix": SPACES, "kind": "status", "status": 429, "retry_after": "2", "times": 1}),
    )
    .await;
    let (status, body, headers) = get_at(&sim, &sim.url, SPACES, None).await;
    assert_eq!(status, 429);
    assert_eq!(headers["retry-after"], "2");
    assert_eq!(body["errors"][0]["code"], "TOO_MANY_REQUESTS");
    let (status, _) = get(&sim, SPACES, None).await;
    assert_eq!(status, 401, "the rule was used up");
    let (_, rules) = sim.call("GET", "/api/faults", None).await;
    assert_eq!(rules[0]["id"], id);
    assert_eq!(
        (rules[0]["remaining"].clone(), rules[0]["hits"].clone()),
        (json!(0), json!(1))
    );

    // 503 with an HTTP date, on the token endpoint, until cleared.
    let date = "Wed, 21 Oct 2026 07:28:00 GMT";
    add_fault(&sim, json!({"path_prefix": "/oauth2/token", "kind": "status", "status": 503, "retry_after": date})).await;
    for _ in 0..2 {
        let (status, _) = token_request(&sim, &[("grant_type", GRANT)]).await;
        assert_eq!(status, 503);
    }
    assert_eq!(delete(&sim, "/api/faults").await, json!({"cleared": 2}));
    let (_, rules) = sim.call("GET", "/api/faults", None).await;
    assert_eq!(rules, json!([]));
    let (status, _) = token_request(&sim, &[("grant_type", GRANT)]).await;
    assert_eq!(status, 400);

    // A slow answer, then the real one.
    add_fault(
        &sim,
        json!({"path_prefix": "/sites/acme/", "kind": "delay", "millis": 400, "times": 1}),
    )
    .await;
    let started = Instant::now();
    let (status, _) = get_as_app(&sim, &app, "acme", SPACES, "limit=1").await;
    assert_eq!(status, 200);
    assert!(started.elapsed() >= Duration::from_millis(400));

    // A same-host redirect to another query, and a cross-host one (localhost).
    add_fault(
        &sim,
        json!({"path_prefix": SPACES, "kind": "redirect", "status": 307,
               "location": format!("{SPACES}?limit=5"), "times": 1}),
    )
    .await;
    let (status, _, headers) =
        get_at(&sim, &sim.url, &format!("{SPACES}?limit=2"), Some("JWT x")).await;
    assert_eq!(status, 307);
    assert_eq!(headers["location"], format!("{SPACES}?limit=5"));
    let port = sim.url.rsplit(':').next().unwrap();
    let elsewhere = format!("http://localhost:{port}{SPACES}?limit=2");
    add_fault(
        &sim,
        json!({"path_prefix": "/sites/acme/wiki/api/", "kind": "redirect", "status": 301,
               "location": elsewhere, "times": 1}),
    )
    .await;
    let (status, _, headers) = get_at(&sim, &sim.url, SPACES, None).await;
    assert_eq!(
        (status, headers["location"].to_str().unwrap()),
        (301, elsewhere.as_str())
    );
    // A rule limited to one Host.
    add_fault(
        &sim,
        json!({"path_prefix": "/", "kind": "status", "status": 500, "host": format!("localhost:{port}")}),
    )
    .await;
    let (status, _) = get(&sim, SPACES, None).await;
    assert_eq!(status, 401);
    let (status, _, _) = get_at(&sim, &format!("http://localhost:{port}"), SPACES, None).await;
    assert_eq!(status, 500);

    // Bad rules are refused.
    for bad in [
        json!({"path_prefix": SPACES, "kind": "status", "status": 302}),
        json!({"path_prefix": SPACES, "kind": "redirect", "status": 307}),
        json!({"path_prefix": SPACES, "kind": "slow"}),
        json!({"kind": "delay", "millis": 1}),
    ] {
        let (status, _) = sim.call("POST", "/api/faults", Some(bad.clone())).await;
        assert_eq!(status, 400, "{bad}");
    }
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn received_log_records_host_and_scheme_never_tokens() {
    let (sim, app) = setup().await;
    delete(&sim, "/api/received").await;

    let (status, _) = get_as_app(&sim, &app, "acme", SPACES, "limit=3").await;
    assert_eq!(status, 200);
    let alice = user_token(&sim, &app, "acme", ALICE).await;
    let port = sim.url.rsplit(':').next().unwrap();
    let (status, _, _) = get_at(
        &sim,
        &format!("http://localhost:{port}"),
        SPACES,
        Some(&format!("Bearer {alice}")),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = get(&sim, &format!("{SPACES}?jwt=abc"), None).await;
    assert_eq!(status, 401);
    // Admin routes and host pages are not product routes.
    sim.call("GET", "/api/sites", None).await;

    let (status, log) = sim.call("GET", "/api/received", None).await;
    assert_eq!(status, 200);
    let log = log.as_array().unwrap();
    assert_eq!(log.len(), 4, "{log:?}");
    let host = sim.url.strip_prefix("http://").unwrap();
    let pick = |e: &Value| {
        (
            e["method"].as_str().unwrap().to_owned(),
            e["host"].as_str().unwrap().to_owned(),
            e["path"].as_str().unwrap().to_owned(),
            e["has_query"].as_bool().unwrap(),
            e["auth_scheme"].clone(),
            e["status"].as_u64().unwrap(),
        )
    };
    assert_eq!(
        pick(&log[0]),
        (
            "GET".into(),
            host.into(),
            SPACES.into(),
            true,
            json!("JWT"),
            200
        )
    );
    assert_eq!(
        pick(&log[1]),
        (
            "POST".into(),
            host.into(),
            "/oauth2/token".into(),
            false,
            Value::Null,
            200
        )
    );
    assert_eq!(
        pick(&log[2]),
        (
            "GET".into(),
            format!("localhost:{port}"),
            SPACES.into(),
            false,
            json!("Bearer"),
            200
        )
    );
    assert_eq!(log[3]["jwt_in_query"], true);
    assert_eq!(log[3]["status"], 401);
    assert!(log[0]["at"].as_i64().unwrap() > 1_700_000_000_000);
    let text = serde_json::to_string(&log).unwrap();
    assert!(!text.contains(&alice));
    assert!(!text.contains("limit"));
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forge_user_tokens_read_spaces_on_the_api_gateway() {
    let app = start_app(json!(["READ", "ACT_AS_USER"])).await;
    let mut config = simulator::Config::for_app(&app.base_url).unwrap();
    config.forge.as_mut().unwrap().api_base_url = "http://127.0.0.1:9/ex/confluence".to_owned();
    let sim = Sim::start(config).await;
    let (status, body) = sim
        .call("POST", "/api/sites/acme/forge/install", None)
        .await;
    assert_eq!(
        (status, body["installed"].clone()),
        (200, json!(true)),
        "{body}"
    );

    let (status, minted) = sim
        .call(
            "POST",
            "/api/sites/acme/forge/fit",
            Some(json!({"user": "alice"})),
        )
        .await;
    assert_eq!(status, 200, "{minted}");
    let cloud_id = minted["cloud_id"].as_str().unwrap();
    assert_eq!(
        minted["api_base_url"],
        format!("http://127.0.0.1:9/ex/confluence/{cloud_id}")
    );
    // The FIT names the configured API base.
    let payload = minted["token"].as_str().unwrap().split('.').nth(1).unwrap();
    let payload: Value = {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    };
    assert_eq!(payload["app"]["apiBaseUrl"], minted["api_base_url"]);
    let user_token = minted["oauth_user"].as_str().unwrap().to_owned();

    // On the gateway, as alice: her private space too; the links are the site's.
    let gateway = format!("/ex/confluence/{cloud_id}/wiki/api/v2/spaces");
    let (status, body) = get(
        &sim,
        &format!("{gateway}?keys=APRIV,BPRIV,ENG"),
        Some(&format!("Bearer {user_token}")),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(keys(&body), ["APRIV", "ENG"]);
    assert_eq!(
        body["_links"]["base"],
        format!("{}/sites/acme/wiki", sim.url)
    );
    let (status, body) = get(
        &sim,
        &format!("{gateway}/1000033"),
        Some(&format!("Bearer {user_token}")),
    )
    .await;
    assert_eq!((status, body["key"].clone()), (200, json!("APRIV")));
    // No Connect JWT on the gateway; unknown cloudId; no user, no token.
    let (status, body) = get(&sim, &gateway, Some("JWT a.b.c")).await;
    assert_eq!(
        (status, body["errors"][0]["detail"].clone()),
        (401, json!("jwt_not_accepted_on_gateway"))
    );
    let (status, _) = get(
        &sim,
        "/ex/confluence/nope/wiki/api/v2/spaces",
        Some(&format!("Bearer {user_token}")),
    )
    .await;
    assert_eq!(status, 404);
    let (_, minted) = sim.call("POST", "/api/sites/acme/forge/fit", None).await;
    assert_eq!(minted["oauth_user"], Value::Null);
    // The site is not Connect-installed: the Forge token still works (it needs Forge only)…
    let (status, _) = get(&sim, SPACES, Some(&format!("Bearer {user_token}"))).await;
    assert_eq!(status, 200);
    // …until the Forge uninstall.
    sim.call("POST", "/api/sites/acme/forge/uninstall", None)
        .await;
    let (status, body) = get(&sim, &gateway, Some(&format!("Bearer {user_token}"))).await;
    assert_eq!(
        (status, body["errors"][0]["detail"].clone()),
        (401, json!("app_not_installed"))
    );
    sim.stop().await;
}

/// POSTs `body` to acme's personal data reporting API with `authorization`.
async fn report(sim: &Sim, authorization: Option<&str>, body: &Value) -> (u16, Value, HeaderMap) {
    let mut request = sim
        .http
        .post(format!(
            "{}/sites/acme/wiki/rest/atlassian-connect/latest/report-accounts",
            sim.url
        ))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(authorization) = authorization {
        request = request.header("authorization", authorization);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        headers,
    )
}

fn accounts(ids: &[&str]) -> Value {
    let accounts: Vec<Value> = ids
        .iter()
        .map(|id| json!({"accountId": id, "updatedAt": "2026-12-06T17:00:00Z"}))
        .collect();
    json!({ "accounts": accounts })
}

#[tokio::test]
async fn the_personal_data_api_takes_the_apps_jwt_and_at_most_90_accounts() {
    let (sim, app) = setup().await;
    let acme = tenant(&sim, &app, "acme");
    let globex = tenant(&sim, &app, "globex");
    let path = "/sites/acme/wiki/rest/atlassian-connect/latest/report-accounts";
    let jwt = |secret: &str, method: &str| {
        format!(
            "JWT {}",
            app_jwt(secret, method, path, "", "/sites/acme/wiki")
        )
    };
    let good = jwt(&acme.secret, "POST");

    // Nothing closed: 204. The seeded closed test account, or one marked closed: 200 closed.
    let (status, _, _) = report(&sim, Some(&good), &accounts(&[ALICE, BOB])).await;
    assert_eq!(status, 204);
    let (status, body, _) = report(&sim, Some(&good), &accounts(&[ALICE, SEED_CLOSED])).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"accounts": [{"accountId": SEED_CLOSED, "status": "closed"}]})
    );
    let (status, _) = sim
        .call(
            "POST",
            "/api/personal-data/closed",
            Some(json!({"account_id": BOB})),
        )
        .await;
    assert_eq!(status, 200);
    sim.call(
        "POST",
        "/api/personal-data/cycle-period",
        Some(json!({"value": "P7D"})),
    )
    .await;
    let (status, body, headers) = report(&sim, Some(&good), &accounts(&[ALICE, BOB])).await;
    assert_eq!(status, 200);
    assert_eq!(body["accounts"][0]["accountId"], BOB);
    assert_eq!(headers["cycle-period"], "P7D");

    // 90 accounts pass, 91 do not, nor an empty list or a bad timestamp.
    let ids: Vec<String> = (0..91).map(|i| format!("557058:n{i}")).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    assert_eq!(
        report(&sim, Some(&good), &accounts(&refs[..90])).await.0,
        204
    );
    assert_eq!(report(&sim, Some(&good), &accounts(&refs)).await.0, 400);
    assert_eq!(report(&sim, Some(&good), &accounts(&[])).await.0, 400);
    let bad_time = json!({"accounts": [{"accountId": ALICE, "updatedAt": "yesterday"}]});
    assert_eq!(report(&sim, Some(&good), &bad_time).await.0, 400);

    // Only a correct app JWT of this site: not another site's secret, not a GET's qsh, not none.
    for refused in [
        Some(jwt(&globex.secret, "POST")),
        Some(jwt(&acme.secret, "GET")),
        None,
    ] {
        let (status, _, _) = report(&sim, refused.as_deref(), &accounts(&[ALICE])).await;
        assert_eq!(status, 401, "{refused:?}");
    }

    // Every answered batch is logged, with what was answered closed.
    let (_, batches) = sim.call("GET", "/api/personal-data/batches", None).await;
    let batches = batches.as_array().unwrap();
    assert_eq!(batches.len(), 4);
    assert_eq!(batches[1]["closed"], json!([SEED_CLOSED]));
    assert_eq!(batches[3]["accounts"].as_array().unwrap().len(), 90);
    let cleared = delete(&sim, "/api/personal-data/batches").await;
    assert_eq!(cleared["cleared"], 4);
}
