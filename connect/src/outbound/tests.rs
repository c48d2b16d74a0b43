use super::*;
use crate::token::UnverifiedToken;
use crate::verify::verify_hs256;
use serde_json::Value;

/// Canonical requests and hashes computed by npm `atlassian-jwt` (tests/fixtures/outbound_qsh.js).
#[test]
fn signs_what_atlassian_jwt_computes_for_the_same_request() {
    let fixture: Value =
        serde_json::from_str(include_str!("../../tests/fixtures/outbound_qsh.json")).unwrap();
    let vectors = fixture["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 9);
    for v in vectors {
        let s = |k: &str| v[k].as_str().unwrap();
        let target = ProductTarget::resolve(s("base_url"), s("target")).unwrap();
        let url = target.url();
        let sent = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        assert_eq!(sent, s("sent"), "what is sent for {}", s("target"));
        let canonical = crate::qsh::canonical_request(
            s("method"),
            url.path(),
            url.query().unwrap_or(""),
            &target.base_path,
        );
        assert_eq!(
            canonical,
            s("canonical"),
            "canonical request of {}",
            s("target")
        );
        assert_eq!(target.qsh(s("method")), s("qsh"), "qsh of {}", s("target"));
    }
}

#[test]
fn the_context_path_is_removed_once_whatever_form_the_target_has() {
    let base = "https://x.atlassian.net/wiki";
    let forms = [
        "/api/v2/spaces?limit=5",
        "/wiki/api/v2/spaces?limit=5",
        "https://x.atlassian.net/wiki/api/v2/spaces?limit=5#frag",
    ];
    for form in forms {
        let t = ProductTarget::resolve(base, form).unwrap();
        assert_eq!(
            t.url().as_str(),
            "https://x.atlassian.net/wiki/api/v2/spaces?limit=5"
        );
        assert_eq!(t.relative_path(), "/api/v2/spaces");
        assert_eq!(
            t.qsh("GET"),
            crate::qsh::query_string_hash("GET", "/api/v2/spaces", "limit=5", "")
        );
    }
    // A path that merely starts with the same letters is below the base, not the base itself.
    let t = ProductTarget::resolve(base, "/wikipedia").unwrap();
    assert_eq!(t.url().path(), "/wiki/wikipedia");
}

#[test]
fn nothing_outside_the_tenant_is_a_target() {
    let base = "https://x.atlassian.net/wiki";
    let outside = [
        "https://evil.example/wiki/api/v2/spaces",
        "http://x.atlassian.net/wiki/api/v2/spaces",
        "https://x.atlassian.net:444/wiki/api/v2/spaces",
        "https://x.atlassian.net/admin",
        "https://x.atlassian.net/wikiother/x",
        "https://user:pw@x.atlassian.net/wiki/x",
        "/wiki/../admin",
        "/api/../../admin",
        "https://x.atlassian.net/wiki/%2e%2e/admin",
    ];
    for target in outside {
        assert_eq!(
            ProductTarget::resolve(base, target),
            Err(TargetError::OutsideTenant),
            "{target}"
        );
    }
    for target in [
        "api/v2/spaces",
        "//evil.example/x",
        "",
        "ftp://x.atlassian.net/wiki",
    ] {
        assert_eq!(
            ProductTarget::resolve(base, target),
            Err(TargetError::Invalid),
            "{target}"
        );
    }
    for base in [
        "not a url",
        "ftp://x/wiki",
        "https://x.atlassian.net/wiki?a=b",
        "https://u@x/",
    ] {
        assert_eq!(
            ProductTarget::resolve(base, "/x"),
            Err(TargetError::BadBaseUrl),
            "{base}"
        );
    }
}

#[test]
fn redirects_are_followed_only_inside_the_base_url() {
    let t =
        ProductTarget::resolve("https://x.atlassian.net/wiki", "/api/v2/spaces?limit=5").unwrap();
    let moved = t.follow("/wiki/api/v2/spaces?limit=5&cursor=n").unwrap();
    assert_eq!(moved.relative_path(), "/api/v2/spaces");
    assert_ne!(
        moved.qsh("GET"),
        t.qsh("GET"),
        "a new query needs a new qsh"
    );
    let relative = t.follow("other").unwrap();
    assert_eq!(relative.url().path(), "/wiki/api/v2/other");
    for away in [
        "https://x2.atlassian.net/wiki/api/v2/spaces",
        "//x2.atlassian.net/wiki/api/v2/spaces",
        "/admin",
        "http://x.atlassian.net/wiki/api/v2/spaces",
    ] {
        assert_eq!(t.follow(away), Err(TargetError::OutsideTenant), "{away}");
    }
}

#[test]
fn the_app_jwt_names_the_app_and_this_request_only() {
    let t =
        ProductTarget::resolve("https://x.atlassian.net/wiki", "/api/v2/spaces?limit=5").unwrap();
    let token = t.app_jwt("GET", "my-app", b"tenant-secret", 1_000).unwrap();
    let parsed = UnverifiedToken::parse(&token).unwrap();
    verify_hs256(&parsed, b"tenant-secret").unwrap();
    assert!(verify_hs256(&parsed, b"other").is_err());
    let c = parsed.claims();
    assert_eq!(c.iss, "my-app");
    assert_eq!(c.iat, 1_000);
    assert_eq!(c.exp, 1_180);
    assert_eq!(c.qsh.as_deref(), Some(t.qsh("GET").as_str()));
    assert_ne!(t.qsh("POST"), t.qsh("GET"));
}

#[test]
fn the_user_assertion_carries_every_claim_of_the_grant() {
    let a = UserAssertion::new(
        "oauth-id",
        "557058:abc",
        "https://x.atlassian.net/wiki",
        ATLASSIAN_OAUTH_URL,
        2_000,
    );
    let token = a.sign(b"tenant-secret").unwrap();
    let parsed = UnverifiedToken::parse(&token).unwrap();
    verify_hs256(&parsed, b"tenant-secret").unwrap();
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        claims,
        serde_json::json!({
            "iss": "urn:atlassian:connect:clientid:oauth-id",
            "sub": "urn:atlassian:connect:useraccountid:557058:abc",
            "tnt": "https://x.atlassian.net/wiki",
            "aud": ATLASSIAN_OAUTH_URL,
            "iat": 2_000,
            "exp": 2_000 + ASSERTION_LIFETIME_SECS,
        })
    );
    const { assert!(ASSERTION_LIFETIME_SECS <= 60) };
}
