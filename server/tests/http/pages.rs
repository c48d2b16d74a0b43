//! The page route (`GET /preferences?...&jwt=`): an iframe token bound to the request by its
//! computed qsh; never a context token, never from a header, never RS256.

use std::collections::{HashMap, HashSet};

use serde_json::json;
use sha2::Digest;

use crate::common::*;

const QUERY: &str = "lic=none&cv=1001.0.0-SNAPSHOT&xdm_e=https%3A%2F%2Fsite.atlassian.net&xdm_c=channel-prefs&cp=%2Fwiki&xdm_deprecated_addon_key_do_not_use=com.example.test&loc=en-GB";

async fn setup() -> (TestApp, Tenant) {
    let app = TestApp::start().await;
    let tenant = app.install("site").await;
    (app, tenant)
}

/// The `content` of `<meta name="token">`.
fn meta_token(html: &str) -> Option<String> {
    let start =
        html.find(r#"<meta name="token" content=""#)? + r#"<meta name="token" content=""#.len();
    let len = html[start..].find('"')?;
    Some(html[start..start + len].to_string())
}

/// The refusal page: 401, HTML, no scripts, asks to open the page from Confluence.
fn assert_refusal_page(r: &Reply, case: &str) {
    assert_eq!(r.status, 401, "{case}: {}", r.body);
    let ct = r.header("content-type").unwrap_or_default();
    assert!(ct.starts_with("text/html"), "{case}: content-type {ct}");
    assert!(!r.body.contains("<script"), "{case}");
    assert!(meta_token(&r.body).is_none(), "{case}: token leaked");
}

fn assert_open_from_confluence(r: &Reply, case: &str) {
    assert_refusal_page(r, case);
    assert!(
        r.body.contains("Open this page from Confluence"),
        "{case}: {}",
        r.body
    );
}

#[tokio::test]
async fn page_valid_iframe_token_renders_with_working_session_token() {
    let (app, tenant) = setup().await;
    let url = TestApp::iframe_url(&tenant, Some("user-1"), "/preferences", QUERY);
    let r = app.get(&url).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.header("content-type")
            .unwrap_or_default()
            .starts_with("text/html")
    );
    // One piece with its length (rendered whole, not streamed), and the resolved preferences
    // after the document for hydration.
    assert_eq!(
        r.header("content-length").as_deref(),
        Some(r.body.len().to_string().as_str())
    );
    assert!(
        r.body.contains("<script>__RESOLVED_RESOURCES=["),
        "{}",
        r.body
    );
    let token = meta_token(&r.body).expect("meta token in the page");
    assert!(!token.is_empty());
    assert!(!url.contains(&token), "the page token is not the URL token");
    // The session token works on the API, as the same user.
    let save = app.save_prefs(&token, 0, &sample_prefs()).await;
    assert_eq!(save.status, 200, "{}", save.body);
    let read_back = app
        .get_prefs(&TestApp::context_token(&tenant, Some("user-1")))
        .await;
    assert_eq!(read_back.json()["preferences"], sample_prefs());
    // ... and is never valid as a page token.
    let r = app.get(&with_jwt("/preferences", QUERY, &token)).await;
    assert_open_from_confluence(&r, "session token on the page");
}

#[tokio::test]
async fn page_qsh_matches_the_java_canonical_form() {
    let (app, tenant) = setup().await;
    // The worked example of docs/AUTH-RULES.md §C3.5, hashed independently of the connect crate.
    let query = "zee_last=param&repeated=parameter%201&first=param&repeated=parameter+2";
    let canonical =
        "GET&/preferences&first=param&repeated=parameter%201,parameter%202&zee_last=param";
    let qsh: String = sha2::Sha256::digest(canonical.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut claims = TestApp::iframe_claims(&tenant, Some("u1"), "/preferences", query);
    claims["qsh"] = json!(qsh);
    let token = sign_hs256(&claims, &tenant.secret);
    let r = app.get(&with_jwt("/preferences", query, &token)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // The jwt parameter's position does not matter.
    let r = app.get(&format!("/preferences?jwt={token}&{query}")).await;
    assert_eq!(r.status, 200, "jwt first: {}", r.body);
}

#[tokio::test]
async fn page_context_token_is_refused() {
    let (app, tenant) = setup().await;
    let token = TestApp::context_token(&tenant, Some("u1"));
    for url in [
        with_jwt("/preferences", QUERY, &token),
        with_jwt("/preferences", "", &token),
    ] {
        let r = app.get(&url).await;
        assert_open_from_confluence(&r, "context-qsh on page");
        assert_eq!(
            r.header("www-authenticate").as_deref(),
            Some(r#"JWT realm="com.example.test""#)
        );
    }
}

#[tokio::test]
async fn page_tampered_query_param_is_refused() {
    let (app, tenant) = setup().await;
    let token = sign_hs256(
        &TestApp::iframe_claims(&tenant, Some("u1"), "/preferences", QUERY),
        &tenant.secret,
    );
    let cases = [
        ("param changed", QUERY.replace("loc=en-GB", "loc=de-DE")),
        ("param added", format!("{QUERY}&admin=true")),
        ("param removed", QUERY.replace("&loc=en-GB", "")),
        ("no query", String::new()),
        ("JWT param kept", format!("{QUERY}&JWT=x")),
    ];
    for (case, query) in cases {
        let r = app.get(&with_jwt("/preferences", &query, &token)).await;
        assert_open_from_confluence(&r, case);
    }
    // `+` (a space) and `%2B` (a plus) are different values.
    let spaced = sign_hs256(
        &TestApp::iframe_claims(&tenant, Some("u1"), "/preferences", "q=a+b"),
        &tenant.secret,
    );
    let r = app.get(&with_jwt("/preferences", "q=a%20b", &spaced)).await;
    assert_eq!(r.status, 200, "space encoded two ways: {}", r.body);
    let r = app.get(&with_jwt("/preferences", "q=a%2Bb", &spaced)).await;
    assert_open_from_confluence(&r, "+ vs %2B");
    // Another path or method.
    let other_path = sign_hs256(
        &TestApp::iframe_claims(&tenant, Some("u1"), "/other", QUERY),
        &tenant.secret,
    );
    let r = app.get(&with_jwt("/preferences", QUERY, &other_path)).await;
    assert_open_from_confluence(&r, "qsh for /other");
    let mut post = TestApp::iframe_claims(&tenant, Some("u1"), "/preferences", QUERY);
    post["qsh"] = json!(query_string_hash("POST", "/preferences", QUERY, ""));
    let r = app
        .get(&with_jwt(
            "/preferences",
            QUERY,
            &sign_hs256(&post, &tenant.secret),
        ))
        .await;
    assert_open_from_confluence(&r, "qsh for POST");
    let mut no_qsh = TestApp::iframe_claims(&tenant, Some("u1"), "/preferences", QUERY);
    no_qsh.as_object_mut().unwrap().remove("qsh");
    let r = app
        .get(&with_jwt(
            "/preferences",
            QUERY,
            &sign_hs256(&no_qsh, &tenant.secret),
        ))
        .await;
    assert_open_from_confluence(&r, "no qsh");
}

#[tokio::test]
async fn page_duplicate_parameter_injection_is_refused() {
    let (app, tenant) = setup().await;
    let query = "space=DEV&loc=en-GB";
    let token = sign_hs256(
        &TestApp::iframe_claims(&tenant, Some("u1"), "/preferences", query),
        &tenant.secret,
    );
    for (case, tampered) in [
        ("second value appended", "space=DEV&space=ADMIN&loc=en-GB"),
        ("second value first", "space=ADMIN&space=DEV&loc=en-GB"),
        ("comma collision", "space=DEV%2CADMIN&loc=en-GB"),
    ] {
        let r = app.get(&with_jwt("/preferences", tampered, &token)).await;
        assert_open_from_confluence(&r, case);
    }
    // A second jwt parameter.
    let other = sign_hs256(
        &TestApp::iframe_claims(&tenant, Some("admin"), "/preferences", query),
        &tenant.secret,
    );
    let r = app
        .get(&format!("/preferences?{query}&jwt={token}&jwt={other}"))
        .await;
    assert_open_from_confluence(&r, "two jwt parameters");
}

#[tokio::test]
async fn page_token_in_authorization_header_only_is_refused() {
    let (app, tenant) = setup().await;
    let token = sign_hs256(
        &TestApp::iframe_claims(&tenant, Some("u1"), "/preferences", QUERY),
        &tenant.secret,
    );
    let r = read(
        app.client
            .get(app.url(&format!("/preferences?{QUERY}")))
            .header("authorization", format!("JWT {token}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_open_from_confluence(&r, "Authorization header");
    let r = app.get("/preferences").await;
    assert_open_from_confluence(&r, "no token at all");
}

#[tokio::test]
async fn page_rs256_token_is_refused_without_fetching_a_key() {
    let (app, tenant) = setup().await;
    let before = app.keys.total_requests();
    let claims = TestApp::iframe_claims(&tenant, Some("u1"), "/preferences", QUERY);
    for key in [legit_key(), attacker_key()] {
        let token = sign_rs256(&claims, LEGIT_KID, key);
        let r = app.get(&with_jwt("/preferences", QUERY, &token)).await;
        assert_open_from_confluence(&r, "RS256 on page");
    }
    assert_eq!(app.keys.total_requests(), before);
}

#[tokio::test]
async fn page_expired_token_is_refused_with_html() {
    let (app, tenant) = setup().await;
    let mut claims = TestApp::iframe_claims(&tenant, Some("u1"), "/preferences", QUERY);
    claims["iat"] = json!(now() - 1200);
    claims["exp"] = json!(now() - 300);
    let r = app
        .get(&with_jwt(
            "/preferences",
            QUERY,
            &sign_hs256(&claims, &tenant.secret),
        ))
        .await;
    assert_refusal_page(&r, "expired");
    assert!(r.body.contains("expired"), "{}", r.body);
    // Expired and forged: the generic answer, no oracle.
    let r = app
        .get(&with_jwt(
            "/preferences",
            QUERY,
            &sign_hs256(&claims, ATTACKER_SECRET),
        ))
        .await;
    assert_open_from_confluence(&r, "expired + forged");
}

#[tokio::test]
async fn page_forged_or_foreign_tokens_are_refused() {
    let app = TestApp::start().await;
    let a = app.install("site-a").await;
    let b = app.install("site-b").await;
    let claims = TestApp::iframe_claims(&a, Some("u1"), "/preferences", QUERY);
    let mut aud_b = claims.clone();
    aud_b["aud"] = json!([b.client_key]);
    let mut unknown = claims.clone();
    unknown["iss"] = json!(unique("nobody"));
    let cases = [
        ("attacker secret", sign_hs256(&claims, ATTACKER_SECRET)),
        ("iss A signed with B", sign_hs256(&claims, &b.secret)),
        ("aud confusion", sign_hs256(&aud_b, &b.secret)),
        ("unknown iss", sign_hs256(&unknown, &a.secret)),
        (
            "alg none",
            format!("{}.", signing_input(&json!({"alg": "none"}), &claims)),
        ),
        ("garbage", "not-a-token".to_string()),
        ("empty", String::new()),
    ];
    for (case, token) in cases {
        let r = app.get(&with_jwt("/preferences", QUERY, &token)).await;
        assert_open_from_confluence(&r, case);
    }
}

#[tokio::test]
async fn page_anonymous_user_renders_read_only_and_small_skew_is_tolerated() {
    let (app, tenant) = setup().await;
    let mut claims = TestApp::iframe_claims(&tenant, None, "/preferences", QUERY);
    claims["iat"] = json!(now() + 20);
    let r = app
        .get(&with_jwt(
            "/preferences",
            QUERY,
            &sign_hs256(&claims, &tenant.secret),
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let token = meta_token(&r.body).expect("meta token");
    let view = app.get_prefs(&token).await;
    assert_eq!(view.status, 200, "{}", view.body);
    assert_eq!(view.json()["can_edit"], false);
    let save = app.save_prefs(&token, 0, &sample_prefs()).await;
    assert_eq!(save.status, 403, "{}", save.body);
    assert_eq!(save.error(), "forbidden");
}

#[tokio::test]
async fn page_huge_query_is_refused_without_5xx() {
    let (app, tenant) = setup().await;
    // 40 KB of query, correctly signed: served or refused, never a 5xx.
    let query = format!("pad={}", "a".repeat(40 * 1024));
    let url = TestApp::iframe_url(&tenant, Some("u1"), "/preferences", &query);
    let r = app.get(&url).await;
    assert!(
        r.status == 200 || (400..500).contains(&r.status),
        "40 KB query: {}",
        r.status
    );
    // 100 KB request target (more than an http::Uri holds): sent raw.
    let r = raw_http(
        &app,
        &format!(
            "GET /preferences?jwt={} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            "A".repeat(100 * 1024)
        ),
    )
    .await;
    assert!(
        (400..500).contains(&r.status),
        "100 KB jwt: {} {}",
        r.status,
        &r.body[..r.body.len().min(200)]
    );
    assert_eq!(
        app.api_status_for(&tenant).await,
        200,
        "server still answers"
    );
}

#[tokio::test]
async fn page_reloaded_after_a_save_shows_it_with_a_fresh_token() {
    let (app, tenant) = setup().await;
    let url = |user| TestApp::iframe_url(&tenant, Some(user), "/preferences", QUERY);
    let without_token = |r: &Reply| r.body.replace(&meta_token(&r.body).expect("token"), "");
    let first = app.get(&url("user-1")).await;
    let again = app.get(&url("user-1")).await;
    assert_eq!((first.status, again.status), (200, 200), "{}", again.body);
    // Apart from its token, the same page (the second may come from the page cache).
    assert_eq!(without_token(&first), without_token(&again));
    assert!(!again.body.contains("release-notes"));

    let token = meta_token(&again.body).expect("token");
    let save = app.save_prefs(&token, 0, &sample_prefs()).await;
    assert_eq!(save.status, 200, "{}", save.body);
    let after = app.get(&url("user-1")).await;
    assert_eq!(after.status, 200);
    assert!(
        after
            .body
            .contains(r#"\"favourite_labels\":[\"release-notes\",\"howto\"]"#)
            && after.body.contains(r#"\"revision\":1,"#),
        "the reload shows the save: {}",
        after.body
    );
    // The page carries this load's token, which works as this user.
    let read = app
        .get_prefs(&meta_token(&after.body).expect("token"))
        .await;
    assert_eq!(read.json()["revision"], 1);
    // Another user of the same site has their own page.
    let other = app.get(&url("user-2")).await;
    assert!(!other.body.contains("release-notes"), "{}", other.body);
    let read = app
        .get_prefs(&meta_token(&other.body).expect("token"))
        .await;
    assert_eq!(read.json()["revision"], 0);
}

#[tokio::test]
async fn the_page_is_compressed_for_browsers_and_keeps_its_security_headers() {
    let (app, tenant) = setup().await;
    // reqwest is built without decompression here: the headers arrive as the server sent them.
    let get = |path: String, auth: Option<String>| {
        let mut req = app
            .client
            .get(app.url(&path))
            .header("accept-encoding", "gzip, br");
        if let Some(token) = auth {
            req = req.header("authorization", format!("JWT {token}"));
        }
        req.send()
    };
    let url = TestApp::iframe_url(&tenant, Some("user-1"), "/preferences", QUERY);
    let res = get(url, None).await.expect("page");
    assert_eq!(res.status(), 200);
    let h = res.headers();
    assert!(
        h.get("content-encoding")
            .is_some_and(|v| v == "gzip" || v == "br"),
        "{h:?}"
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["cache-control"], "no-cache, no-store");
    // A small API answer goes as it is: compressing it would cost more than sending it.
    let token = TestApp::context_token(&tenant, Some("user-1"));
    let res = get("/api/preferences".into(), Some(token))
        .await
        .expect("api");
    assert_eq!(res.status(), 200);
    let h = res.headers();
    assert!(h.get("content-encoding").is_none(), "{h:?}");
    assert_eq!(h["x-content-type-options"], "nosniff");
}

/// The directives of a CSP header: name → sources.
fn csp_directives(r: &Reply) -> HashMap<String, Vec<String>> {
    let csp = r.header("content-security-policy").expect("a CSP header");
    let mut directives = HashMap::new();
    for directive in csp.split(';') {
        let mut words = directive.split_whitespace().map(str::to_owned);
        if let Some(name) = words.next() {
            let old = directives.insert(name.clone(), words.collect());
            assert!(old.is_none(), "{name} twice in {csp}");
        }
    }
    directives
}

/// The texts of the `<script>` elements without `src` in `html`, in order.
fn inline_scripts(html: &str) -> Vec<&str> {
    let mut scripts = Vec::new();
    for (i, _) in html.match_indices("<script") {
        let open_end = i + html[i..].find('>').unwrap();
        let close = open_end + html[open_end..].find("</script>").unwrap();
        if !html[i..open_end].contains(" src=") {
            scripts.push(&html[open_end + 1..close]);
        }
    }
    scripts
}

fn hash_source(text: &str) -> String {
    use base64::Engine;
    let digest = sha2::Sha256::digest(text.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

fn words(list: &[&str]) -> Vec<String> {
    list.iter().map(|w| w.to_string()).collect()
}

/// Asserts the page policy and that its script hashes are exactly those of the page's inline
/// scripts (and at least the hydration bootstrap and the resolved resources); returns them.
fn assert_page_policy(r: &Reply, case: &str) -> HashSet<String> {
    assert_eq!(r.status, 200, "{case}: {}", r.body);
    let d = csp_directives(r);
    let only = |name: &str, sources: &[&str]| {
        assert_eq!(
            d.get(name),
            Some(&words(sources)),
            "{case}: {name} in {d:?}"
        )
    };
    only("default-src", &["'self'"]);
    only("connect-src", &["'self'"]);
    only("img-src", &["'self'", "data:"]);
    only("style-src", &["'self'"]);
    only("object-src", &["'none'"]);
    only("base-uri", &["'none'"]);
    only("form-action", &["'self'"]);
    let ancestors = &d["frame-ancestors"];
    assert!(
        ancestors.contains(&"'self'".into())
            && ancestors.contains(&"https://*.atlassian.net".into()),
        "{case}: {ancestors:?}"
    );
    let script = &d["script-src"];
    assert_eq!(
        script[..3],
        words(&["'self'", ALL_JS_ORIGIN, "'wasm-unsafe-eval'"]),
        "{case}: {script:?}"
    );
    let hashes: HashSet<String> = script[3..].iter().cloned().collect();
    assert!(
        hashes.iter().all(|h| h.starts_with("'sha256-")),
        "{case}: only hashes after the sources: {script:?}"
    );
    let scripts = inline_scripts(&r.body);
    assert!(
        scripts.iter().any(|s| s.contains("mod.hydrate()"))
            && scripts
                .iter()
                .any(|s| s.starts_with("__RESOLVED_RESOURCES=[")),
        "{case}: {scripts:?}"
    );
    let wanted: HashSet<String> = scripts.iter().map(|s| hash_source(s)).collect();
    assert_eq!(
        hashes, wanted,
        "{case}: the hashes are the page's inline scripts'"
    );
    // No inline event handlers or style attributes, which no hash could allow.
    assert!(!r.body.contains(" style="), "{case}");
    assert!(!r.body.contains(" onclick="), "{case}");
    hashes
}

const ALL_JS_ORIGIN: &str = "http://127.0.0.1:9";

#[tokio::test]
async fn page_csp_allows_exactly_its_own_scripts_also_from_the_page_cache() {
    let app =
        TestApp::start_with(&[("CONNECT_ALL_JS_URL", "http://127.0.0.1:9/simulator/all.js")]).await;
    let tenant = app.install("site").await;
    let url = |user| TestApp::iframe_url(&tenant, Some(user), "/preferences", QUERY);
    let first = app.get(&url("user-1")).await;
    let first_hashes = assert_page_policy(&first, "rendered");
    // The same view again: from the page cache (with this load's token), the same policy.
    let again = app.get(&url("user-1")).await;
    assert_eq!(assert_page_policy(&again, "cached"), first_hashes);
    assert_eq!(
        again.header("content-security-policy"),
        first.header("content-security-policy")
    );
    // A save changes the resolved resources, so the next page has another hash for them (the
    // bootstrap's stays).
    let token = meta_token(&again.body).expect("token");
    let save = app.save_prefs(&token, 0, &sample_prefs()).await;
    assert_eq!(save.status, 200, "{}", save.body);
    let after = app.get(&url("user-1")).await;
    let after_hashes = assert_page_policy(&after, "after a save");
    assert_ne!(after_hashes, first_hashes);
    let bootstrap = inline_scripts(&first.body)
        .into_iter()
        .find(|s| s.contains("mod.hydrate()"))
        .map(hash_source)
        .unwrap();
    assert!(after_hashes.contains(&bootstrap) && first_hashes.contains(&bootstrap));
    let cached_after = app.get(&url("user-1")).await;
    assert_eq!(
        assert_page_policy(&cached_after, "cached after a save"),
        after_hashes
    );
    // Another viewer: their own render, their own policy.
    let other = app.get(&url("user-2")).await;
    assert_page_policy(&other, "user-2");

    // Everything else allows nothing but the message page's inline style.
    let refusal = app.get("/preferences").await;
    assert_eq!(refusal.status, 401);
    let d = csp_directives(&refusal);
    assert_eq!(d["default-src"], words(&["'none'"]));
    let style_start = refusal.body.find("<style>").unwrap() + "<style>".len();
    let style_len = refusal.body[style_start..].find("</style>").unwrap();
    let style = &refusal.body[style_start..style_start + style_len];
    assert_eq!(d["style-src"], vec![hash_source(style)]);
    assert_eq!(d["img-src"], words(&["data:"]));
    assert!(!d.contains_key("script-src"), "{d:?}");
    let api = app.get_prefs(&token).await;
    assert_eq!(api.status, 200);
    assert_eq!(csp_directives(&api)["default-src"], words(&["'none'"]));
    assert!(csp_directives(&api).contains_key("frame-ancestors"));
}
