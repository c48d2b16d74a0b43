//! The route table (default deny), the descriptor, health probes and the security headers every
//! response carries.

use server::http::routes::{AuthPolicy, route_table};

use crate::common::*;

/// The contract: every route and its policy. Adding a route must update this list (and the
/// method map in `default_deny_every_non_public_route_refuses_anonymous_requests`).
const EXPECTED_ROUTES: &[(&str, AuthPolicy)] = &[
    ("/atlassian-connect.json", AuthPolicy::Public),
    ("/healthz", AuthPolicy::Public),
    ("/readyz", AuthPolicy::Public),
    ("/installed", AuthPolicy::SignedLifecycle),
    ("/uninstalled", AuthPolicy::SignedLifecycle),
    ("/enabled", AuthPolicy::HostCallback),
    ("/disabled", AuthPolicy::HostCallback),
    ("/preferences", AuthPolicy::IframeToken),
    ("/api/{*fn_name}", AuthPolicy::UserApiToken),
    ("/forge/installed", AuthPolicy::ForgeEvent),
    ("/forge/uninstalled", AuthPolicy::ForgeEvent),
    ("/pkg/{*file}", AuthPolicy::Public),
];

#[tokio::test]
async fn route_table_is_exactly_the_contract() {
    let app = TestApp::start().await;
    let mut actual: Vec<(&str, AuthPolicy)> = route_table(&app.state)
        .iter()
        .map(|r| (r.path, r.policy))
        .collect();
    let mut expected = EXPECTED_ROUTES.to_vec();
    actual.sort_by_key(|(p, _)| *p);
    expected.sort_by_key(|(p, _)| *p);
    assert_eq!(actual, expected);
}

/// The requests that exercise a route without credentials.
fn probes(path: &str) -> Vec<(&'static str, &'static str)> {
    match path {
        "/atlassian-connect.json" => vec![("GET", "/atlassian-connect.json")],
        "/healthz" => vec![("GET", "/healthz")],
        "/readyz" => vec![("GET", "/readyz")],
        "/installed" => vec![("POST", "/installed")],
        "/uninstalled" => vec![("POST", "/uninstalled")],
        "/enabled" => vec![("POST", "/enabled")],
        "/disabled" => vec![("POST", "/disabled")],
        "/preferences" => vec![("GET", "/preferences")],
        "/api/{*fn_name}" => vec![
            ("GET", "/api/preferences"),
            ("POST", "/api/preferences"),
            ("GET", "/api/nope"),
        ],
        "/forge/installed" => vec![("POST", "/forge/installed")],
        "/forge/uninstalled" => vec![("POST", "/forge/uninstalled")],
        "/pkg/{*file}" => vec![],
        other => panic!("route {other} has no probe: add one"),
    }
}

#[tokio::test]
async fn default_deny_every_non_public_route_refuses_anonymous_requests() {
    let app = TestApp::start().await;
    let body = TestApp::lifecycle_body("anyone", Some(ATTACKER_SECRET), "installed").to_string();
    for spec in route_table(&app.state) {
        for (method, path) in probes(spec.path) {
            let r = app.api(method, path, None, Some(&body)).await;
            if spec.policy == AuthPolicy::Public {
                assert_ne!(r.status, 401, "{method} {path} is public: {}", r.body);
                assert!(r.status < 500, "{method} {path}: {} {}", r.status, r.body);
            } else {
                assert_eq!(
                    r.status, 401,
                    "{method} {path} ({:?}) without a token: {}",
                    spec.policy, r.body
                );
            }
        }
    }
    // Nothing was installed by those anonymous posts.
    assert_eq!(
        app.api_status_for(&Tenant {
            client_key: "anyone".into(),
            secret: ATTACKER_SECRET.into(),
            site: String::new(),
        })
        .await,
        401
    );
}

#[tokio::test]
async fn path_not_in_the_table_is_404_json() {
    let app = TestApp::start().await;
    for path in [
        "/nope",
        "/admin",
        "/preferences/x",
        "/installed/x",
        "/pkg/missing.js",
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status, 404, "{path}: {}", r.body);
    }
    let r = app.get("/nope").await;
    assert_eq!(r.error(), "not_found");
}

#[tokio::test]
async fn descriptor_is_served_filled_from_config() {
    let app = TestApp::start().await;
    let r = app.get("/atlassian-connect.json").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    assert!(
        r.header("content-type")
            .unwrap_or_default()
            .starts_with("application/json")
    );
    let d = r.json();
    assert_eq!(d["baseUrl"], app.base.as_str());
    assert_eq!(d["key"], APP_KEY);
    assert_eq!(d["authentication"]["type"], "jwt");
    assert_eq!(d["apiMigrations"]["context-qsh"], true);
    assert_eq!(d["apiMigrations"]["signed-install"], true);
    assert_eq!(d["apiMigrations"]["gdpr"], true);
    for (event, path) in [
        ("installed", "/installed"),
        ("uninstalled", "/uninstalled"),
        ("enabled", "/enabled"),
        ("disabled", "/disabled"),
    ] {
        assert_eq!(d["lifecycle"][event], path, "{event}");
    }
    let pages = d["modules"]["generalPages"].as_array().unwrap();
    assert!(pages.iter().any(|p| p["url"] == "/preferences"), "{d}");
    assert!(!r.body.contains("{{"), "unfilled placeholder: {}", r.body);
}

#[tokio::test]
async fn health_probes_answer() {
    let app = TestApp::start().await;
    assert_eq!(app.get("/healthz").await.status, 200);
    assert_eq!(app.get("/readyz").await.status, 200);
}

fn assert_security_headers(r: &Reply, case: &str) {
    assert_eq!(
        r.header("x-content-type-options").as_deref(),
        Some("nosniff"),
        "{case}"
    );
    assert_eq!(
        r.header("referrer-policy").as_deref(),
        Some("no-referrer"),
        "{case}"
    );
    let csp = r.header("content-security-policy").unwrap_or_default();
    let ancestors = csp
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("frame-ancestors"))
        .unwrap_or_else(|| panic!("{case}: no frame-ancestors in {csp:?}"));
    assert!(
        ancestors.contains("https://*.atlassian.net"),
        "{case}: {csp}"
    );
    assert!(
        !ancestors.split_whitespace().any(|s| s == "*"),
        "{case}: any origin may frame: {csp}"
    );
    assert!(
        r.header("x-frame-options").is_none(),
        "{case}: X-Frame-Options set"
    );
    let cache = r.header("cache-control").unwrap_or_default();
    assert!(
        cache.contains("no-store"),
        "{case}: cache-control {cache:?}"
    );
}

#[tokio::test]
async fn security_headers_on_every_response() {
    let app = TestApp::start().await;
    let tenant = app.install("site").await;
    let token = TestApp::context_token(&tenant, Some("u1"));
    let page = TestApp::iframe_url(&tenant, Some("u1"), "/preferences", "lic=none");
    let cases = [
        ("descriptor", app.get("/atlassian-connect.json").await, 200),
        ("page", app.get(&page).await, 200),
        ("page 401", app.get("/preferences?jwt=x").await, 401),
        ("api 200", app.get_prefs(&token).await, 200),
        (
            "api 401",
            app.api("GET", "/api/preferences", None, None).await,
            401,
        ),
        (
            "api 404",
            app.api("GET", "/api/nope", Some(&token), None).await,
            404,
        ),
        ("404", app.get("/nope").await, 404),
        ("healthz", app.get("/healthz").await, 200),
        (
            "install 401",
            app.post_lifecycle_raw("/installed", None, "{}").await,
            401,
        ),
    ];
    for (case, r, status) in &cases {
        assert_eq!(r.status, *status, "{case}: {}", r.body);
        assert_security_headers(r, case);
        if *case != "descriptor" {
            assert_eq!(
                r.header("cache-control").as_deref(),
                Some("no-cache, no-store"),
                "{case}"
            );
        }
    }
}
