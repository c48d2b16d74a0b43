//! The metrics listener (`METRICS_ADDR`): known traffic moves the counters by exactly what it
//! should (each test server has its own registry), no line carries a token, an account id or a
//! client key, and the app's own address never serves `/metrics`.

use serde_json::json;

use crate::common::*;

const P: &str = "confluence_prefs_";
const QUERY: &str = "lic=none&cv=1001.0.0-SNAPSHOT&xdm_e=https%3A%2F%2Fsite.atlassian.net&xdm_c=channel-prefs&cp=%2Fwiki&xdm_deprecated_addon_key_do_not_use=com.example.test&loc=en-GB";

/// The value of the series `name{labels}` (labels in the order the server writes them); 0 when
/// the series is absent (a counter not yet created).
fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    let series = if labels.is_empty() {
        format!("{P}{name} ")
    } else {
        format!("{P}{name}{{{}}} ", labels.join(","))
    };
    let mut found = text.lines().filter_map(|line| line.strip_prefix(&series));
    let v = found.next().map_or(0.0, |v| v.trim().parse().unwrap());
    assert!(found.next().is_none(), "{series} twice");
    v
}

/// Scrapes before and after, and reads deltas.
struct Deltas {
    before: String,
    after: String,
}

impl Deltas {
    fn of(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        value(&self.after, name, labels) - value(&self.before, name, labels)
    }
}

const PREFERENCES: &str = "/api/preferences";

#[tokio::test]
async fn known_traffic_moves_each_counter_by_exactly_its_share() {
    let app = TestApp::start().await;
    let tenant = app.install("site").await;
    let token = TestApp::context_token(&tenant, Some("u1"));
    let before = app.metrics().await;

    // A valid read.
    assert_eq!(app.get_prefs(&token).await.status, 200);
    // An expired token.
    let mut claims = TestApp::context_claims(&tenant, Some("u1"));
    claims["iat"] = json!(now() - 600);
    claims["exp"] = json!(now() - 300);
    let r = app.get_prefs(&sign_hs256(&claims, &tenant.secret)).await;
    assert_eq!(r.error(), "token_expired");
    // A bad signature (signed with another secret).
    let forged = TestApp::context_token(&tenant.with_secret("not-the-tenant-secret"), Some("u1"));
    assert_eq!(app.get_prefs(&forged).await.status, 401);
    // A save, then a save conflict.
    assert_eq!(app.save_prefs(&token, 0, &sample_prefs()).await.status, 200);
    assert_eq!(app.save_prefs(&token, 0, &sample_prefs()).await.status, 409);
    // A page load, then the same page again: a page cache miss, then a hit (every backend).
    let page = TestApp::iframe_url(&tenant, Some("u1"), "/preferences", QUERY);
    assert_eq!(app.get(&page).await.status, 200);
    let page = TestApp::iframe_url(&tenant, Some("u1"), "/preferences", QUERY);
    assert_eq!(app.get(&page).await.status, 200);

    let d = Deltas {
        before,
        after: app.metrics().await,
    };
    let connect_context = [("transport", "connect"), ("kind", "context")];
    // The read and the two saves.
    assert_eq!(d.of("auth_tokens_accepted_total", &connect_context), 3.0);
    let refused = |reason| {
        d.of(
            "auth_tokens_refused_total",
            &[
                ("transport", "connect"),
                ("kind", "context"),
                ("reason", reason),
            ],
        )
    };
    assert_eq!(refused("token_expired"), 1.0);
    assert_eq!(refused("bad_signature"), 1.0);
    let iframe = [("transport", "connect"), ("kind", "iframe")];
    assert_eq!(d.of("auth_tokens_accepted_total", &iframe), 2.0);

    let requests = |route, method, status| {
        d.of(
            "http_requests_total",
            &[("route", route), ("method", method), ("status", status)],
        )
    };
    assert_eq!(requests(PREFERENCES, "GET", "2xx"), 1.0);
    assert_eq!(requests(PREFERENCES, "GET", "4xx"), 2.0);
    assert_eq!(requests(PREFERENCES, "POST", "2xx"), 1.0);
    assert_eq!(requests(PREFERENCES, "POST", "4xx"), 1.0);
    assert_eq!(requests("/api/{*fn_name}", "GET", "2xx"), 0.0);
    assert_eq!(requests("/preferences", "GET", "2xx"), 2.0);
    let api_route = [("route", PREFERENCES)];
    assert_eq!(d.of("http_request_duration_seconds_count", &api_route), 5.0);

    let saves = |outcome| d.of("store_saves_total", &[("outcome", outcome)]);
    assert_eq!(saves("saved"), 1.0);
    assert_eq!(saves("conflict"), 1.0);
    assert_eq!(saves("outcome_unknown"), 0.0);
    assert_eq!(saves("unavailable"), 0.0);

    let pages = [("cache", "pages")];
    assert_eq!(d.of("cache_hits_total", &pages), 1.0);
    assert_eq!(d.of("cache_misses_total", &pages), 1.0);
    assert!(value(&d.after, "cache_bytes", &pages) > 0.0);
    assert_eq!(value(&d.after, "cache_entries", &pages), 1.0);
}

#[tokio::test]
async fn every_request_is_counted_under_its_route_template_its_server_function_or_as_unmatched() {
    let app = TestApp::start().await;
    let before = app.metrics().await;
    assert_eq!(app.get("/healthz").await.status, 200);
    assert_eq!(app.get("/no/such/path-7f3a").await.status, 404);
    assert_eq!(app.get("/api/no-such-fn-9c2e").await.status, 401);
    // The assets are a nested service (no `MatchedPath`): still their template.
    let asset = app.get("/pkg/no-such-asset-5d1b.js").await;
    let d = Deltas {
        before,
        after: app.metrics().await,
    };
    let requests = |route, status| {
        d.of(
            "http_requests_total",
            &[("route", route), ("method", "GET"), ("status", status)],
        )
    };
    assert_eq!(requests("/healthz", "2xx"), 1.0);
    assert_eq!(requests("unmatched", "4xx"), 1.0);
    assert_eq!(requests("/api/{*fn_name}", "4xx"), 1.0);
    assert_eq!(requests(PREFERENCES, "4xx"), 0.0);
    let class = format!("{}xx", asset.status / 100);
    assert_eq!(requests("/pkg/{*file}", &class), 1.0);
    for raw in ["path-7f3a", "no-such-fn", "no-such-asset"] {
        assert!(!d.after.contains(raw), "{raw}");
    }
}

#[tokio::test]
async fn no_metric_line_carries_a_token_an_account_id_or_a_client_key() {
    let app = TestApp::start().await;
    let tenant = app.install("site").await;
    let account = "557058:5f1e2d3c-account-id-0b9a";
    let token = TestApp::context_token(&tenant, Some(account));
    assert_eq!(app.get_prefs(&token).await.status, 200);
    assert_eq!(app.save_prefs(&token, 0, &sample_prefs()).await.status, 200);
    let mut claims = TestApp::context_claims(&tenant, Some(account));
    claims["exp"] = json!(now() - 300);
    let expired = sign_hs256(&claims, &tenant.secret);
    assert_eq!(app.get_prefs(&expired).await.status, 401);
    let page = TestApp::iframe_url(&tenant, Some(account), "/preferences", QUERY);
    assert_eq!(app.get(&page).await.status, 200);

    let text = app.metrics().await;
    let site_host = tenant
        .site
        .split("://")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap();
    let mut secrets: Vec<&str> = vec![account, &tenant.client_key, &tenant.secret, site_host];
    for t in [&token, &expired] {
        secrets.push(t);
        secrets.extend(t.split('.'));
    }
    for line in text.lines() {
        for secret in &secrets {
            assert!(!line.contains(secret), "{secret:?} in {line:?}");
        }
    }
    // The traffic was counted (the check above is not vacuous).
    assert!(text.contains(&format!("{P}auth_tokens_accepted_total{{")));
}

#[tokio::test]
async fn metrics_are_served_on_their_own_address_only() {
    let app = TestApp::start().await;
    // The app's address: no such route.
    let r = app.get("/metrics").await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert!(!r.body.contains(P));

    let base = app.metrics_base.clone().unwrap();
    let r = read(
        app.client
            .get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    assert!(r.body.ends_with("# EOF\n"), "{}", r.body);
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        r.body
            .contains(&format!("{P}build_info{{version=\"{version}\",commit=\"")),
        "{}",
        r.body
    );
    assert!(value(&r.body, "uptime_seconds", &[]) >= 0.0);
    assert!(value(&r.body, "store_pool_max_connections", &[]) >= 1.0);
    // Open connections may be none at a quiet moment (PostgreSQL closes idle ones): the series
    // is there all the same.
    for gauge in ["connections", "connections_in_use", "connections_idle"] {
        let series = format!("{P}store_pool_{gauge} ");
        assert!(r.body.lines().any(|l| l.starts_with(&series)), "{series}");
    }
    // The metrics listener serves nothing else.
    let r = read(
        app.client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn without_metrics_addr_there_is_no_metrics_listener() {
    let app = TestApp::start_with(&[("METRICS_ADDR", "")]).await;
    assert!(app.metrics_base.is_none());
    assert_eq!(app.get("/metrics").await.status, 404);
    assert_eq!(app.get("/healthz").await.status, 200);
}

#[tokio::test]
async fn interleaved_reads_of_two_sites_and_users_are_each_counted_once() {
    let app = TestApp::start().await;
    let a = app.install("site-a").await;
    let b = app.install("site-b").await;
    let tokens = [
        TestApp::context_token(&a, Some("u1")),
        TestApp::context_token(&a, Some("u2")),
        TestApp::context_token(&b, Some("u1")),
        TestApp::context_token(&b, Some("u3")),
    ];
    let before = app.metrics().await;
    // 32 reads at once, the four callers interleaved, plus one refused token among them.
    let reads = futures::future::join_all((0..32).map(|i| app.get_prefs(&tokens[i % 4])));
    let (replies, refused) = tokio::join!(reads, app.get_prefs("not-a-token"));
    assert!(replies.iter().all(|r| r.status == 200));
    assert_eq!(refused.status, 401);
    let d = Deltas {
        before,
        after: app.metrics().await,
    };
    let requests = |status| {
        d.of(
            "http_requests_total",
            &[
                ("route", PREFERENCES),
                ("method", "GET"),
                ("status", status),
            ],
        )
    };
    assert_eq!(requests("2xx"), 32.0);
    assert_eq!(requests("4xx"), 1.0);
    let context = [("transport", "connect"), ("kind", "context")];
    assert_eq!(d.of("auth_tokens_accepted_total", &context), 32.0);
    for secret in [&a.secret, &b.secret] {
        assert!(!d.after.contains(secret.as_str()));
    }
}
