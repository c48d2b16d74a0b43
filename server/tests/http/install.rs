//! `POST /installed` and `POST /uninstalled`: the signed-install rules (docs/AUTH-RULES.md §C4)
//! and every lifecycle attack of §C5. Each attack targets an installed victim with a body carrying
//! the attacker's secret; afterwards the victim's original secret must still work and the
//! attacker's must not.

use serde_json::{Value, json};

use crate::common::*;

/// A running app with one installed victim tenant.
async fn setup() -> (TestApp, Tenant) {
    let app = TestApp::start().await;
    let victim = app.install("victim").await;
    (app, victim)
}

/// The install body an attacker sends: the victim's clientKey, the attacker's secret.
fn attacker_body(victim: &Tenant) -> Value {
    TestApp::lifecycle_body(&victim.client_key, Some(ATTACKER_SECRET), "installed")
}

/// Genuine install claims for the victim (the attacker can read them off any token).
fn victim_claims(app: &TestApp, victim: &Tenant) -> Value {
    app.lifecycle_claims(&victim.client_key, "/installed")
}

/// Sends `token` with the attacker's body to `/installed`, expects `status`, and proves the
/// victim's secret was not replaced.
async fn expect_refused(app: &TestApp, victim: &Tenant, case: &str, token: &str, status: u16) {
    let r = app
        .post_lifecycle("/installed", token, &attacker_body(victim))
        .await;
    assert_eq!(r.status, status, "{case}: {}", r.body);
    if status == 401 {
        let code = r.error();
        assert!(
            code == "invalid_token" || code == "token_expired",
            "{case}: {code}"
        );
    }
    app.assert_secret_unchanged(victim, ATTACKER_SECRET).await;
}

fn rs256_header(kid: &str) -> Value {
    json!({"alg": "RS256", "typ": "JWT", "kid": kid})
}

#[tokio::test]
async fn install_correctly_signed_is_accepted_and_tenant_token_works() {
    let app = TestApp::start().await;
    let tenant = Tenant {
        client_key: unique("site"),
        secret: unique("secret"),
        site: String::new(),
    };
    assert_eq!(app.api_status_for(&tenant).await, 401, "not installed yet");
    let (token, body) = app.install_request(&tenant.client_key, &tenant.secret);
    let r = app.post_lifecycle("/installed", &token, &body).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(app.api_status_for(&tenant).await, 200);
    assert_eq!(app.keys.requests_for_kid(LEGIT_KID), 1);
}

#[tokio::test]
async fn install_aud_as_one_element_array_or_with_trailing_slash_is_accepted() {
    let app = TestApp::start().await;
    for aud in [json!([app.base]), json!(format!("{}/", app.base))] {
        let tenant = Tenant {
            client_key: unique("site"),
            secret: unique("secret"),
            site: String::new(),
        };
        let mut claims = app.lifecycle_claims(&tenant.client_key, "/installed");
        claims["aud"] = aud.clone();
        let token = sign_rs256(&claims, LEGIT_KID, legit_key());
        let body = TestApp::lifecycle_body(&tenant.client_key, Some(&tenant.secret), "installed");
        let r = app.post_lifecycle("/installed", &token, &body).await;
        assert_eq!(r.status, 204, "aud {aud}: {}", r.body);
        assert_eq!(app.api_status_for(&tenant).await, 200, "aud {aud}");
    }
}

#[tokio::test]
async fn install_key_is_fetched_once_per_kid() {
    let app = TestApp::start().await;
    app.install("one").await;
    app.install("two").await;
    app.install("three").await;
    assert_eq!(
        app.keys.requests_for_kid(LEGIT_KID),
        1,
        "{:?}",
        app.keys.requests()
    );
}

#[tokio::test]
async fn install_without_authorization_is_refused() {
    let (app, victim) = setup().await;
    let r = app
        .post_lifecycle_raw("/installed", None, &attacker_body(&victim).to_string())
        .await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.error(), "invalid_token");
    app.assert_secret_unchanged(&victim, ATTACKER_SECRET).await;
}

#[tokio::test]
async fn install_alg_none_is_refused() {
    let (app, victim) = setup().await;
    let claims = victim_claims(&app, &victim);
    for alg in ["none", "NONE", "None"] {
        let header = json!({"alg": alg, "typ": "JWT", "kid": LEGIT_KID});
        let unsigned = format!("{}.", signing_input(&header, &claims));
        expect_refused(
            &app,
            &victim,
            &format!("{alg}, empty signature"),
            &unsigned,
            401,
        )
        .await;
        let with_sig = format!("{unsigned}{}", b64("sig"));
        expect_refused(
            &app,
            &victim,
            &format!("{alg}, junk signature"),
            &with_sig,
            401,
        )
        .await;
    }
}

#[tokio::test]
async fn install_hs256_self_signed_with_body_secret_is_refused() {
    let (app, victim) = setup().await;
    let claims = victim_claims(&app, &victim);
    let token = sign_hs256(&claims, ATTACKER_SECRET);
    expect_refused(&app, &victim, "hs256 body secret", &token, 401).await;
    let with_kid = sign_hs256_with_header(
        &json!({"alg": "HS256", "typ": "JWT", "kid": LEGIT_KID}),
        &claims,
        ATTACKER_SECRET.as_bytes(),
    );
    expect_refused(&app, &victim, "hs256 body secret + kid", &with_kid, 401).await;
}

#[tokio::test]
async fn install_hs256_signed_with_current_secret_is_refused() {
    let (app, victim) = setup().await;
    let claims = victim_claims(&app, &victim);
    let token = sign_hs256(&claims, &victim.secret);
    expect_refused(&app, &victim, "hs256 current secret", &token, 401).await;
}

#[tokio::test]
async fn install_alg_confusion_hs256_keyed_with_public_key_is_refused() {
    let (app, victim) = setup().await;
    let claims = victim_claims(&app, &victim);
    let pem = legit_key().public_pem.as_str();
    for (case, key) in [
        ("pem", pem.to_string()),
        ("pem trimmed", pem.trim().to_string()),
    ] {
        let token = sign_hs256_with_header(
            &json!({"alg": "HS256", "typ": "JWT", "kid": LEGIT_KID}),
            &claims,
            key.as_bytes(),
        );
        expect_refused(&app, &victim, case, &token, 401).await;
    }
}

#[tokio::test]
async fn install_kid_path_traversal_is_refused_without_fetching() {
    let (app, victim) = setup().await;
    let host = app.keys.origin.trim_start_matches("http://").to_string();
    let attacker_pem = KeyReply::Pem(attacker_key().public_pem.clone());
    // Wherever a naive server would end up fetching, the attacker's key is waiting.
    app.keys.set_path("/attacker/k", attacker_pem.clone());
    let kids = [
        "../attacker/k".to_string(),
        "..%2Fattacker%2Fk".to_string(),
        "..%2fattacker%2fk".to_string(),
        "%2e%2e/attacker/k".to_string(),
        "a/../../attacker/k".to_string(),
        "./../attacker/k".to_string(),
        format!("//{host}/attacker/k"),
        format!("http://{host}/attacker/k"),
        "..\\attacker\\k".to_string(),
        "k?x=../../attacker/k".to_string(),
        "k#frag".to_string(),
        "a//b".to_string(),
        "k/".to_string(),
        ".".to_string(),
        "..".to_string(),
        "".to_string(),
        " k".to_string(),
        "k\n".to_string(),
        "x".repeat(300),
    ];
    for kid in &kids {
        app.keys.set_kid(kid, attacker_pem.clone());
    }
    app.keys.set_path("/keys/", attacker_pem.clone());
    let before = app.keys.total_requests();
    let claims = victim_claims(&app, &victim);
    for kid in &kids {
        let token = sign_rs256_with_header(&rs256_header(kid), &claims, attacker_key());
        expect_refused(&app, &victim, &format!("kid {kid:?}"), &token, 401).await;
    }
    // A non-string kid.
    for kid in [json!(1), json!(["a"]), json!({"a": 1}), json!(null)] {
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": kid});
        let token = sign_rs256_with_header(&header, &claims, attacker_key());
        expect_refused(&app, &victim, &format!("kid {kid}"), &token, 401).await;
    }
    assert_eq!(
        app.keys.total_requests(),
        before,
        "invalid kids were fetched: {:?}",
        app.keys.requests()
    );
}

#[tokio::test]
async fn install_missing_kid_is_refused_without_fetching() {
    let (app, victim) = setup().await;
    let before = app.keys.total_requests();
    let claims = victim_claims(&app, &victim);
    let header = json!({"alg": "RS256", "typ": "JWT"});
    for (case, key) in [("legit key", legit_key()), ("attacker key", attacker_key())] {
        let token = sign_rs256_with_header(&header, &claims, key);
        expect_refused(&app, &victim, case, &token, 401).await;
    }
    assert_eq!(
        app.keys.total_requests(),
        before,
        "{:?}",
        app.keys.requests()
    );
}

#[tokio::test]
async fn install_jku_header_is_ignored() {
    let (app, victim) = setup().await;
    let jwks = json!({"keys": [attacker_key().jwk()]}).to_string();
    app.keys.set_path("/attacker/jwks", KeyReply::Pem(jwks));
    let jku = format!("{}/attacker/jwks", app.keys.origin);
    let claims = victim_claims(&app, &victim);
    for kid in [LEGIT_KID, "attacker-kid"] {
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": kid, "jku": jku});
        let token = sign_rs256_with_header(&header, &claims, attacker_key());
        expect_refused(&app, &victim, &format!("jku with kid {kid}"), &token, 401).await;
    }
    assert_eq!(app.keys.requests_for_path("/attacker/jwks"), 0);
}

#[tokio::test]
async fn install_embedded_jwk_header_is_ignored() {
    let (app, victim) = setup().await;
    let claims = victim_claims(&app, &victim);
    for kid in [LEGIT_KID, "attacker-kid"] {
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": kid, "jwk": attacker_key().jwk()});
        let token = sign_rs256_with_header(&header, &claims, attacker_key());
        expect_refused(&app, &victim, &format!("jwk with kid {kid}"), &token, 401).await;
    }
}

#[tokio::test]
async fn install_x5u_and_x5c_headers_are_ignored() {
    let (app, victim) = setup().await;
    app.keys.set_path(
        "/attacker/cert.pem",
        KeyReply::Pem(attacker_key().public_pem.clone()),
    );
    let x5u = format!("{}/attacker/cert.pem", app.keys.origin);
    let claims = victim_claims(&app, &victim);
    let headers = [
        json!({"alg": "RS256", "typ": "JWT", "kid": LEGIT_KID, "x5u": x5u}),
        json!({"alg": "RS256", "typ": "JWT", "kid": LEGIT_KID, "x5c": [b64("not a cert")]}),
    ];
    for header in headers {
        let token = sign_rs256_with_header(&header, &claims, attacker_key());
        expect_refused(&app, &victim, &header.to_string(), &token, 401).await;
    }
    assert_eq!(app.keys.requests_for_path("/attacker/cert.pem"), 0);
}

#[tokio::test]
async fn install_rs256_attacker_key_with_legit_kid_is_refused() {
    let (app, victim) = setup().await;
    let token = sign_rs256(&victim_claims(&app, &victim), LEGIT_KID, attacker_key());
    expect_refused(&app, &victim, "attacker key, legit kid", &token, 401).await;
}

#[tokio::test]
async fn install_unknown_kid_is_refused() {
    let (app, victim) = setup().await;
    let kid = "5d1f8a4c-0000-4000-8000-000000000000";
    let token = sign_rs256(&victim_claims(&app, &victim), kid, attacker_key());
    expect_refused(&app, &victim, "unknown kid", &token, 401).await;
    assert_eq!(
        app.keys.requests_for_kid(kid),
        1,
        "a valid kid is looked up"
    );
    // Signed with the legitimate key but under a kid the key server does not know.
    let token = sign_rs256(&victim_claims(&app, &victim), kid, legit_key());
    expect_refused(&app, &victim, "unknown kid, legit key", &token, 401).await;
}

#[tokio::test]
async fn install_key_server_500_is_refused() {
    let (app, victim) = setup().await;
    let kid = "kid-server-error";
    app.keys.set_kid(kid, KeyReply::ServerError);
    let token = sign_rs256(&victim_claims(&app, &victim), kid, legit_key());
    expect_refused(&app, &victim, "key server 500", &token, 401).await;
    assert_eq!(app.keys.requests_for_kid(kid), 1);
}

#[tokio::test]
async fn install_key_server_garbage_key_is_refused() {
    let (app, victim) = setup().await;
    let claims = victim_claims(&app, &victim);
    let cases = [
        ("kid-garbage", KeyReply::Garbage),
        ("kid-html", KeyReply::Pem("<html>maintenance</html>".into())),
        ("kid-empty", KeyReply::Pem(String::new())),
        (
            "kid-private-key",
            KeyReply::Pem(attacker_key().private_pkcs8.clone()),
        ),
    ];
    for (kid, reply) in cases {
        app.keys.set_kid(kid, reply);
        let token = sign_rs256(&claims, kid, legit_key());
        expect_refused(&app, &victim, kid, &token, 401).await;
    }
}

#[tokio::test]
async fn install_key_server_redirect_is_not_followed() {
    let (app, victim) = setup().await;
    // The redirect leads to the legitimate key: following it would make the token verify.
    app.keys.set_path(
        "/elsewhere/key",
        KeyReply::Pem(legit_key().public_pem.clone()),
    );
    let kid = "kid-redirect";
    app.keys
        .set_kid(kid, KeyReply::Redirect("/elsewhere/key".into()));
    let token = sign_rs256(&victim_claims(&app, &victim), kid, legit_key());
    expect_refused(&app, &victim, "redirect", &token, 401).await;
    assert_eq!(app.keys.requests_for_kid(kid), 1);
    assert_eq!(
        app.keys.requests_for_path("/elsewhere/key"),
        0,
        "redirect followed"
    );
}

#[tokio::test]
async fn install_wrong_aud_is_refused() {
    let (app, victim) = setup().await;
    let cases = [
        json!("https://other-vendor.example.com"),
        json!(format!("{}/other", app.base)),
        json!(app.base.replace("127.0.0.1", "localhost")),
        json!(["https://other-vendor.example.com"]),
        json!([app.base, "https://other-vendor.example.com"]),
        json!(["https://other-vendor.example.com", app.base]),
        json!(""),
        json!(1),
    ];
    for aud in cases {
        let mut claims = victim_claims(&app, &victim);
        claims["aud"] = aud.clone();
        let token = sign_rs256(&claims, LEGIT_KID, legit_key());
        expect_refused(&app, &victim, &format!("aud {aud}"), &token, 401).await;
    }
}

#[tokio::test]
async fn install_missing_aud_is_refused() {
    let (app, victim) = setup().await;
    for aud in [None, Some(json!([])), Some(json!(null))] {
        let mut claims = victim_claims(&app, &victim);
        match &aud {
            None => {
                claims.as_object_mut().unwrap().remove("aud");
            }
            Some(v) => claims["aud"] = v.clone(),
        }
        let token = sign_rs256(&claims, LEGIT_KID, legit_key());
        expect_refused(&app, &victim, &format!("aud {aud:?}"), &token, 401).await;
    }
}

#[tokio::test]
async fn install_iss_differs_from_body_client_key_is_refused() {
    let (app, victim) = setup().await;
    // A genuine token Atlassian issued for the attacker's own site.
    let attacker_site = app.install("attacker").await;
    let claims = app.lifecycle_claims(&attacker_site.client_key, "/installed");
    let token = sign_rs256(&claims, LEGIT_KID, legit_key());
    expect_refused(&app, &victim, "iss = attacker site", &token, 401).await;
    // The attacker's own tenant is untouched too.
    assert_eq!(app.api_status_for(&attacker_site).await, 200);
}

#[tokio::test]
async fn install_qsh_wrong_is_refused() {
    let (app, victim) = setup().await;
    let cases = [
        ("random", json!("0".repeat(64))),
        (
            "GET /installed",
            json!(query_string_hash("GET", "/installed", "", "")),
        ),
        (
            "POST /installed?x=1",
            json!(query_string_hash("POST", "/installed", "x=1", "")),
        ),
        (
            "POST /enabled",
            json!(query_string_hash("POST", "/enabled", "", "")),
        ),
        (
            "upper-case hex",
            json!(query_string_hash("POST", "/installed", "", "").to_uppercase()),
        ),
        ("number", json!(1)),
        ("empty", json!("")),
    ];
    for (case, qsh) in cases {
        let mut claims = victim_claims(&app, &victim);
        claims["qsh"] = qsh;
        let token = sign_rs256(&claims, LEGIT_KID, legit_key());
        expect_refused(&app, &victim, case, &token, 401).await;
    }
}

#[tokio::test]
async fn install_qsh_missing_is_refused() {
    let (app, victim) = setup().await;
    let mut claims = victim_claims(&app, &victim);
    claims.as_object_mut().unwrap().remove("qsh");
    let token = sign_rs256(&claims, LEGIT_KID, legit_key());
    expect_refused(&app, &victim, "no qsh", &token, 401).await;
}

#[tokio::test]
async fn install_context_qsh_is_refused() {
    let (app, victim) = setup().await;
    let mut claims = victim_claims(&app, &victim);
    claims["qsh"] = json!(CONTEXT_QSH);
    let token = sign_rs256(&claims, LEGIT_KID, legit_key());
    expect_refused(&app, &victim, "context-qsh", &token, 401).await;
}

#[tokio::test]
async fn install_token_sent_to_uninstalled_is_refused() {
    let (app, victim) = setup().await;
    // A genuine install token (with its genuine install body) replayed as an uninstall.
    let (token, _) = app.install_request(&victim.client_key, &victim.secret);
    let body = TestApp::lifecycle_body(&victim.client_key, None, "uninstalled");
    let r = app.post_lifecycle("/uninstalled", &token, &body).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(
        app.api_status_for(&victim).await,
        200,
        "tenant was uninstalled"
    );
}

#[tokio::test]
async fn install_expired_is_refused() {
    let (app, victim) = setup().await;
    for (case, iat, exp) in [
        ("long expired", now() - 1200, now() - 300),
        ("just past the 60 s leeway", now() - 300, now() - 61),
    ] {
        let mut claims = victim_claims(&app, &victim);
        claims["iat"] = json!(iat);
        claims["exp"] = json!(exp);
        let token = sign_rs256(&claims, LEGIT_KID, legit_key());
        expect_refused(&app, &victim, case, &token, 401).await;
    }
}

#[tokio::test]
async fn install_missing_or_non_numeric_exp_or_iat_is_refused() {
    let (app, victim) = setup().await;
    let exp = now() + 180;
    let cases: [(&str, &str, Option<Value>); 6] = [
        ("missing exp", "exp", None),
        ("missing iat", "iat", None),
        ("exp as string", "exp", Some(json!(exp.to_string()))),
        ("iat as string", "iat", Some(json!(now().to_string()))),
        ("exp null", "exp", Some(json!(null))),
        ("exp as bool", "exp", Some(json!(true))),
    ];
    for (case, claim, value) in cases {
        let mut claims = victim_claims(&app, &victim);
        match value {
            None => {
                claims.as_object_mut().unwrap().remove(claim);
            }
            Some(v) => claims[claim] = v,
        }
        let token = sign_rs256(&claims, LEGIT_KID, legit_key());
        expect_refused(&app, &victim, case, &token, 401).await;
    }
}

#[tokio::test]
async fn install_iat_far_future_is_refused() {
    let (app, victim) = setup().await;
    for ahead in [3600, 121] {
        let mut claims = victim_claims(&app, &victim);
        claims["iat"] = json!(now() + ahead);
        claims["exp"] = json!(now() + ahead + 180);
        let token = sign_rs256(&claims, LEGIT_KID, legit_key());
        expect_refused(&app, &victim, &format!("iat +{ahead}s"), &token, 401).await;
    }
}

#[tokio::test]
async fn install_nbf_future_is_refused() {
    let (app, victim) = setup().await;
    for ahead in [3600, 121] {
        let mut claims = victim_claims(&app, &victim);
        claims["nbf"] = json!(now() + ahead);
        claims["exp"] = json!(now() + ahead + 180);
        let token = sign_rs256(&claims, LEGIT_KID, legit_key());
        expect_refused(&app, &victim, &format!("nbf +{ahead}s"), &token, 401).await;
    }
}

#[tokio::test]
async fn install_crit_header_is_refused() {
    let (app, victim) = setup().await;
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": LEGIT_KID, "crit": ["exp"]});
    let token = sign_rs256_with_header(&header, &victim_claims(&app, &victim), legit_key());
    expect_refused(&app, &victim, "crit", &token, 401).await;
}

#[tokio::test]
async fn install_body_key_not_app_key_is_refused() {
    let (app, victim) = setup().await;
    for (case, field, value) in [
        ("other app key", "key", json!("com.other.app")),
        ("eventType uninstalled", "eventType", json!("uninstalled")),
        ("baseUrl not a URL", "baseUrl", json!("javascript:alert(1)")),
    ] {
        let (token, _) = app.install_request(&victim.client_key, ATTACKER_SECRET);
        let mut body = attacker_body(&victim);
        body[field] = value;
        let r = app.post_lifecycle("/installed", &token, &body).await;
        assert_eq!(r.status, 400, "{case}: {}", r.body);
        assert_eq!(r.error(), "bad_request", "{case}");
        app.assert_secret_unchanged(&victim, ATTACKER_SECRET).await;
    }
}

#[tokio::test]
async fn install_malformed_token_is_refused() {
    let (app, victim) = setup().await;
    let (good, _) = app.install_request(&victim.client_key, ATTACKER_SECRET);
    let parts: Vec<&str> = good.split('.').collect();
    let cases = [
        ("empty", String::new()),
        ("one segment", "abc".to_string()),
        ("two segments", format!("{}.{}", parts[0], parts[1])),
        ("four segments", format!("{good}.{}", parts[2])),
        ("dots only", "..".to_string()),
        ("not base64", "!!!.???.***".to_string()),
        ("padded", format!("{}=.{}.{}", parts[0], parts[1], parts[2])),
        (
            "header not JSON",
            format!("{}.{}.{}", b64("{not json"), parts[1], parts[2]),
        ),
        (
            "header an array",
            format!("{}.{}.{}", b64("[1,2]"), parts[1], parts[2]),
        ),
        (
            "payload not JSON",
            format!("{}.{}.{}", parts[0], b64("nope"), parts[2]),
        ),
        (
            "payload a string",
            format!("{}.{}.{}", parts[0], b64("\"x\""), parts[2]),
        ),
        (
            "duplicate claims",
            format!(
                "{}.{}.{}",
                parts[0],
                b64(format!(r#"{{"iss":"{0}","iss":"{0}"}}"#, victim.client_key)),
                parts[2]
            ),
        ),
        (
            "huge",
            format!("{}.{}.{}", parts[0], "A".repeat(20_000), parts[2]),
        ),
        ("unicode", "é.ü.ß".to_string()),
    ];
    for (case, token) in cases {
        let r = app
            .post_lifecycle_raw(
                "/installed",
                Some(&token),
                &attacker_body(&victim).to_string(),
            )
            .await;
        assert_eq!(r.status, 401, "{case}: {}", r.body);
    }
    // A scheme other than JWT, and a header without a token.
    for value in [
        format!("Bearer {good}"),
        "JWT".to_string(),
        "JWT ".to_string(),
    ] {
        let r = read(
            app.client
                .post(app.url("/installed"))
                .header("authorization", value.clone())
                .body(attacker_body(&victim).to_string())
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, 401, "authorization {value:?}: {}", r.body);
    }
    app.assert_secret_unchanged(&victim, ATTACKER_SECRET).await;
}

#[tokio::test]
async fn install_oversized_body_is_refused() {
    let (app, victim) = setup().await;
    let (token, _) = app.install_request(&victim.client_key, ATTACKER_SECRET);
    let mut body = attacker_body(&victim);
    body["description"] = json!("x".repeat(100 * 1024));
    let r = app.post_lifecycle("/installed", &token, &body).await;
    assert_eq!(r.status, 413, "{}", r.body);
    assert_eq!(r.error(), "payload_too_large");
    app.assert_secret_unchanged(&victim, ATTACKER_SECRET).await;
}

#[tokio::test]
async fn install_unparseable_body_is_refused() {
    let (app, victim) = setup().await;
    let cases = [
        ("not JSON", "{not json".to_string()),
        ("empty", String::new()),
        ("array", "[]".to_string()),
        (
            "no clientKey",
            json!({"key": APP_KEY, "sharedSecret": ATTACKER_SECRET, "baseUrl": "https://x.atlassian.net/wiki", "eventType": "installed"}).to_string(),
        ),
        (
            "clientKey a number",
            json!({"key": APP_KEY, "clientKey": 1, "sharedSecret": ATTACKER_SECRET, "baseUrl": "https://x.atlassian.net/wiki", "eventType": "installed"}).to_string(),
        ),
    ];
    for (case, body) in cases {
        let (token, _) = app.install_request(&victim.client_key, ATTACKER_SECRET);
        let r = app
            .post_lifecycle_raw("/installed", Some(&token), &body)
            .await;
        assert_eq!(r.status, 400, "{case}: {}", r.body);
        assert_eq!(r.error(), "bad_request", "{case}");
    }
    // A verified token whose body has no sharedSecret.
    let (token, _) = app.install_request(&victim.client_key, ATTACKER_SECRET);
    let body = TestApp::lifecycle_body(&victim.client_key, None, "installed");
    let r = app.post_lifecycle("/installed", &token, &body).await;
    assert_eq!(r.status, 400, "no sharedSecret: {}", r.body);
    app.assert_secret_unchanged(&victim, ATTACKER_SECRET).await;
}

#[tokio::test]
async fn install_replay_with_forged_body_is_refused() {
    let app = TestApp::start().await;
    let victim = Tenant {
        client_key: unique("victim"),
        secret: unique("secret"),
        site: String::new(),
    };
    let (token, body) = app.install_request(&victim.client_key, &victim.secret);
    let r = app.post_lifecycle("/installed", &token, &body).await;
    assert_eq!(r.status, 204, "{}", r.body);
    // The captured live token, replayed with the attacker's secret in the unsigned body.
    expect_refused(&app, &victim, "replay, forged body", &token, 401).await;
    // Even the identical request is accepted only once.
    let r = app.post_lifecycle("/installed", &token, &body).await;
    assert_eq!(r.status, 401, "identical replay: {}", r.body);
    app.assert_secret_unchanged(&victim, ATTACKER_SECRET).await;
}

#[tokio::test]
async fn install_replay_with_malleated_signature_is_refused() {
    let app = TestApp::start().await;
    let victim = Tenant {
        client_key: unique("victim"),
        secret: unique("secret"),
        site: String::new(),
    };
    let (token, body) = app.install_request(&victim.client_key, &victim.secret);
    let r = app.post_lifecycle("/installed", &token, &body).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let malleated = malleate_signature(&token);
    expect_refused(
        &app,
        &victim,
        "replay, malleated signature",
        &malleated,
        401,
    )
    .await;
}

// ----- uninstall attacks: the tenant must stay installed -----------------------------------

async fn expect_uninstall_refused(app: &TestApp, victim: &Tenant, case: &str, token: &str) {
    let body = TestApp::lifecycle_body(&victim.client_key, None, "uninstalled");
    let r = app.post_lifecycle("/uninstalled", token, &body).await;
    assert_eq!(r.status, 401, "{case}: {}", r.body);
    assert_eq!(
        app.api_status_for(victim).await,
        200,
        "{case}: tenant uninstalled"
    );
}

#[tokio::test]
async fn uninstall_wrong_aud_is_refused() {
    let (app, victim) = setup().await;
    for aud in [Some(json!("https://other-vendor.example.com")), None] {
        let mut claims = app.lifecycle_claims(&victim.client_key, "/uninstalled");
        match &aud {
            Some(v) => claims["aud"] = v.clone(),
            None => {
                claims.as_object_mut().unwrap().remove("aud");
            }
        }
        let token = sign_rs256(&claims, LEGIT_KID, legit_key());
        expect_uninstall_refused(&app, &victim, &format!("aud {aud:?}"), &token).await;
    }
}

#[tokio::test]
async fn uninstall_iss_differs_from_body_is_refused() {
    let (app, victim) = setup().await;
    let attacker_site = app.install("attacker").await;
    let claims = app.lifecycle_claims(&attacker_site.client_key, "/uninstalled");
    let token = sign_rs256(&claims, LEGIT_KID, legit_key());
    expect_uninstall_refused(&app, &victim, "iss = attacker site", &token).await;
    assert_eq!(app.api_status_for(&attacker_site).await, 200);
}

#[tokio::test]
async fn uninstall_hs256_signed_with_current_secret_is_refused() {
    let (app, victim) = setup().await;
    let claims = app.lifecycle_claims(&victim.client_key, "/uninstalled");
    let token = sign_hs256(&claims, &victim.secret);
    expect_uninstall_refused(&app, &victim, "hs256 current secret", &token).await;
}

#[tokio::test]
async fn uninstall_expired_or_wrong_qsh_is_refused() {
    let (app, victim) = setup().await;
    let mut expired = app.lifecycle_claims(&victim.client_key, "/uninstalled");
    expired["iat"] = json!(now() - 1200);
    expired["exp"] = json!(now() - 300);
    let mut context = app.lifecycle_claims(&victim.client_key, "/uninstalled");
    context["qsh"] = json!(CONTEXT_QSH);
    let mut no_qsh = app.lifecycle_claims(&victim.client_key, "/uninstalled");
    no_qsh.as_object_mut().unwrap().remove("qsh");
    for (case, claims) in [
        ("expired", expired),
        ("context-qsh", context),
        ("no qsh", no_qsh),
    ] {
        let token = sign_rs256(&claims, LEGIT_KID, legit_key());
        expect_uninstall_refused(&app, &victim, case, &token).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_concurrent_replay_is_accepted_once() {
    let app = TestApp::start().await;
    let client_key = unique("raced");
    let claims = app.lifecycle_claims(&client_key, "/installed");
    let token = sign_rs256(&claims, LEGIT_KID, legit_key());
    // The genuine request and seven replays with other secrets, all at once.
    let secrets: Vec<String> = (0..8).map(|i| format!("{}-{i}", unique("race"))).collect();
    let requests = secrets.iter().map(|secret| {
        let body = TestApp::lifecycle_body(&client_key, Some(secret), "installed");
        let token = token.clone();
        let app = &app;
        async move { app.post_lifecycle("/installed", &token, &body).await }
    });
    let replies = futures::future::join_all(requests).await;
    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 204).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 204 || *s == 401),
        "{statuses:?}"
    );
    let winner = statuses.iter().position(|s| *s == 204).unwrap();
    for (i, secret) in secrets.iter().enumerate() {
        let tenant = Tenant {
            client_key: client_key.clone(),
            secret: secret.clone(),
            site: String::new(),
        };
        let expected = if i == winner { 200 } else { 401 };
        assert_eq!(app.api_status_for(&tenant).await, expected, "secret {i}");
    }
}
