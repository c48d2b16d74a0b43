//! The context-token route (`/api/*`, `Authorization: JWT`, qsh `context-qsh`): every token
//! attack of docs/AUTH-RULES.md §C5 that applies to it.

use serde_json::{Value, json};

use crate::common::*;

async fn setup() -> (TestApp, Tenant) {
    let app = TestApp::start().await;
    let tenant = app.install("site").await;
    (app, tenant)
}

/// `GET /api/preferences` with a raw Authorization header value (or none).
async fn get_with_authorization(app: &TestApp, value: Option<&str>) -> Reply {
    let mut req = app.client.get(app.url("/api/preferences"));
    if let Some(v) = value {
        req = req.header("authorization", v);
    }
    read(req.send().await.unwrap()).await
}

fn assert_invalid_token(r: &Reply, case: &str) {
    assert_eq!(r.status, 401, "{case}: {}", r.body);
    assert_eq!(r.error(), "invalid_token", "{case}: {}", r.body);
    assert_eq!(
        r.header("www-authenticate").as_deref(),
        Some(r#"JWT realm="com.example.test""#),
        "{case}"
    );
}

#[tokio::test]
async fn api_valid_context_token_is_accepted() {
    let (app, tenant) = setup().await;
    let r = app
        .get_prefs(&TestApp::context_token(&tenant, Some("u1")))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["revision"], 0);
    assert_eq!(r.json()["can_edit"], true);
    // Small clock skew (iat 20 s in the future) is tolerated.
    let mut claims = TestApp::context_claims(&tenant, Some("u1"));
    claims["iat"] = json!(now() + 20);
    let r = app.get_prefs(&sign_hs256(&claims, &tenant.secret)).await;
    assert_eq!(r.status, 200, "skew: {}", r.body);
}

#[tokio::test]
async fn api_without_token_is_refused_with_www_authenticate() {
    let (app, _) = setup().await;
    let r = get_with_authorization(&app, None).await;
    assert_invalid_token(&r, "no token");
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/json")
    );
    assert!(r.json()["message"].is_string());
}

#[tokio::test]
async fn api_bearer_scheme_is_refused() {
    let (app, tenant) = setup().await;
    let token = TestApp::context_token(&tenant, Some("u1"));
    for value in [
        format!("Bearer {token}"),
        format!("bearer {token}"),
        token.clone(),
        format!("JWT  {token}"),
        format!("JWT {token} x"),
        "JWT ".to_string(),
    ] {
        let r = get_with_authorization(&app, Some(&value)).await;
        assert_invalid_token(&r, &value[..value.len().min(12)]);
    }
}

#[tokio::test]
async fn api_token_in_query_instead_of_header_is_refused() {
    let (app, tenant) = setup().await;
    let token = TestApp::context_token(&tenant, Some("u1"));
    let r = app.get(&format!("/api/preferences?jwt={token}")).await;
    assert_invalid_token(&r, "?jwt=");
}

#[tokio::test]
async fn api_expired_token_is_refused_as_token_expired() {
    let (app, tenant) = setup().await;
    for (case, iat, exp) in [
        ("long expired", now() - 1200, now() - 300),
        ("just past the 60 s leeway", now() - 300, now() - 61),
    ] {
        let mut claims = TestApp::context_claims(&tenant, Some("u1"));
        claims["iat"] = json!(iat);
        claims["exp"] = json!(exp);
        let r = app.get_prefs(&sign_hs256(&claims, &tenant.secret)).await;
        assert_eq!(r.status, 401, "{case}: {}", r.body);
        assert_eq!(r.error(), "token_expired", "{case}");
    }
}

#[tokio::test]
async fn api_expired_token_with_wrong_signature_is_invalid_not_expired() {
    let (app, tenant) = setup().await;
    let mut claims = TestApp::context_claims(&tenant, Some("u1"));
    claims["iat"] = json!(now() - 1200);
    claims["exp"] = json!(now() - 300);
    let r = app.get_prefs(&sign_hs256(&claims, ATTACKER_SECRET)).await;
    assert_invalid_token(&r, "expired + forged");
    // Expired with an unknown issuer: no oracle either.
    claims["iss"] = json!(unique("nobody"));
    let r = app.get_prefs(&sign_hs256(&claims, ATTACKER_SECRET)).await;
    assert_invalid_token(&r, "expired + unknown iss");
}

#[tokio::test]
async fn api_iframe_token_replayed_is_refused() {
    let (app, tenant) = setup().await;
    let cases = [
        (
            "qsh of this API call",
            query_string_hash("GET", "/api/preferences", "", ""),
        ),
        (
            "qsh of the page URL",
            query_string_hash("GET", "/preferences", "lic=none&loc=en-GB", ""),
        ),
    ];
    for (case, qsh) in cases {
        let mut claims = TestApp::context_claims(&tenant, Some("u1"));
        claims["qsh"] = json!(qsh);
        let r = app.get_prefs(&sign_hs256(&claims, &tenant.secret)).await;
        assert_invalid_token(&r, case);
    }
}

#[tokio::test]
async fn api_context_token_missing_qsh_is_refused() {
    let (app, tenant) = setup().await;
    let mut claims = TestApp::context_claims(&tenant, Some("u1"));
    claims.as_object_mut().unwrap().remove("qsh");
    let r = app.get_prefs(&sign_hs256(&claims, &tenant.secret)).await;
    assert_invalid_token(&r, "no qsh");
    for qsh in [json!(""), json!("CONTEXT-QSH"), json!(null), json!(1)] {
        claims["qsh"] = qsh.clone();
        let r = app.get_prefs(&sign_hs256(&claims, &tenant.secret)).await;
        assert_invalid_token(&r, &format!("qsh {qsh}"));
    }
}

#[tokio::test]
async fn api_hs512_with_correct_secret_is_refused() {
    let (app, tenant) = setup().await;
    let claims = TestApp::context_claims(&tenant, Some("u1"));
    let header = json!({"alg": "HS512", "typ": "JWT"});
    let input = signing_input(&header, &claims);
    let token = format!(
        "{input}.{}",
        b64(hmac_sha512(tenant.secret.as_bytes(), input.as_bytes()))
    );
    assert_invalid_token(&app.get_prefs(&token).await, "HS512");
    // HS256 signature under a header that claims HS512 / hs256.
    for alg in ["HS512", "hs256", "HS384"] {
        let token = sign_hs256_with_header(
            &json!({"alg": alg, "typ": "JWT"}),
            &claims,
            tenant.secret.as_bytes(),
        );
        assert_invalid_token(&app.get_prefs(&token).await, alg);
    }
}

#[tokio::test]
async fn api_alg_none_is_refused() {
    let (app, tenant) = setup().await;
    let claims = TestApp::context_claims(&tenant, Some("u1"));
    for alg in ["none", "NONE"] {
        let unsigned = format!("{}.", signing_input(&json!({"alg": alg}), &claims));
        assert_invalid_token(&app.get_prefs(&unsigned).await, alg);
        let junk = format!("{unsigned}{}", b64("x"));
        assert_invalid_token(&app.get_prefs(&junk).await, alg);
    }
}

#[tokio::test]
async fn api_rs256_token_is_refused_without_fetching_a_key() {
    let (app, tenant) = setup().await;
    let before = app.keys.total_requests();
    let claims = TestApp::context_claims(&tenant, Some("u1"));
    let token = sign_rs256(&claims, LEGIT_KID, legit_key());
    assert_invalid_token(&app.get_prefs(&token).await, "RS256");
    // HS256 keyed with the install public key.
    let confused = sign_hs256_with_header(
        &json!({"alg": "HS256", "typ": "JWT"}),
        &claims,
        legit_key().public_pem.as_bytes(),
    );
    assert_invalid_token(&app.get_prefs(&confused).await, "alg confusion");
    assert_eq!(app.keys.total_requests(), before);
}

#[tokio::test]
async fn api_cross_tenant_signature_is_refused() {
    let app = TestApp::start().await;
    let a = app.install("site-a").await;
    let b = app.install("site-b").await;
    let claims = TestApp::context_claims(&a, Some("u1"));
    assert_invalid_token(
        &app.get_prefs(&sign_hs256(&claims, &b.secret)).await,
        "iss A signed with B",
    );
    let claims = TestApp::context_claims(&b, Some("u1"));
    assert_invalid_token(
        &app.get_prefs(&sign_hs256(&claims, &a.secret)).await,
        "iss B signed with A",
    );
}

#[tokio::test]
async fn api_aud_confusion_is_refused() {
    let app = TestApp::start().await;
    let a = app.install("site-a").await;
    let b = app.install("site-b").await;
    for aud in [json!([b.client_key]), json!(b.client_key)] {
        let mut claims = TestApp::context_claims(&a, Some("u1"));
        claims["aud"] = aud.clone();
        let r = app.get_prefs(&sign_hs256(&claims, &b.secret)).await;
        assert_invalid_token(&r, &format!("iss A, aud {aud}, signed with B"));
    }
}

#[tokio::test]
async fn api_unknown_missing_or_empty_iss_is_refused() {
    let (app, tenant) = setup().await;
    let mut claims = TestApp::context_claims(&tenant, Some("u1"));
    for (case, iss) in [
        ("unknown", Some(json!(unique("nobody")))),
        ("empty", Some(json!(""))),
        ("number", Some(json!(7))),
        ("missing", None),
    ] {
        match iss {
            Some(v) => claims["iss"] = v,
            None => {
                claims.as_object_mut().unwrap().remove("iss");
            }
        }
        let r = app.get_prefs(&sign_hs256(&claims, &tenant.secret)).await;
        assert_invalid_token(&r, case);
    }
}

#[tokio::test]
async fn api_tampered_or_unsigned_token_is_refused() {
    let (app, tenant) = setup().await;
    let token = TestApp::context_token(&tenant, Some("u1"));
    let parts: Vec<&str> = token.split('.').collect();
    let other_payload = b64_json(&TestApp::context_claims(&tenant, Some("admin")));
    let cases = [
        (
            "payload swapped",
            format!("{}.{}.{}", parts[0], other_payload, parts[2]),
        ),
        (
            "header swapped",
            format!(
                "{}.{}.{}",
                b64(r#"{"typ":"JWT","alg":"HS256"}"#),
                parts[1],
                parts[2]
            ),
        ),
        ("empty signature", format!("{}.{}.", parts[0], parts[1])),
        ("no signature", format!("{}.{}", parts[0], parts[1])),
        (
            "signature of another token",
            format!("{}.{}.{}", parts[0], parts[1], b64([0u8; 32])),
        ),
        ("malleated signature", malleate_signature(&token)),
        (
            "empty secret",
            sign_hs256_with_header(
                &json!({"alg": "HS256", "typ": "JWT"}),
                &TestApp::context_claims(&tenant, Some("u1")),
                b"",
            ),
        ),
        (
            "wrong secret",
            sign_hs256(
                &TestApp::context_claims(&tenant, Some("u1")),
                ATTACKER_SECRET,
            ),
        ),
        (
            "crit header",
            sign_hs256_with_header(
                &json!({"alg": "HS256", "crit": ["x"], "x": 1}),
                &TestApp::context_claims(&tenant, Some("u1")),
                tenant.secret.as_bytes(),
            ),
        ),
    ];
    for (case, token) in cases {
        assert_invalid_token(&app.get_prefs(&token).await, case);
    }
}

#[tokio::test]
async fn api_missing_exp_or_iat_future_or_nbf_future_is_refused() {
    let (app, tenant) = setup().await;
    let t = now();
    let cases: [(&str, Value); 7] = [
        ("missing exp", json!({"exp": null})),
        ("missing iat", json!({"iat": null})),
        ("exp as string", json!({"exp": (t + 180).to_string()})),
        ("iat far future", json!({"iat": t + 3600, "exp": t + 3780})),
        (
            "iat 2x leeway ahead",
            json!({"iat": t + 121, "exp": t + 300}),
        ),
        ("nbf future", json!({"nbf": t + 3600, "exp": t + 3780})),
        ("exp before iat", json!({"iat": t, "exp": t - 10})),
    ];
    for (case, changes) in cases {
        let mut claims = TestApp::context_claims(&tenant, Some("u1"));
        for (k, v) in changes.as_object().unwrap() {
            if v.is_null() {
                claims.as_object_mut().unwrap().remove(k);
            } else {
                claims[k] = v.clone();
            }
        }
        let r = app.get_prefs(&sign_hs256(&claims, &tenant.secret)).await;
        assert_invalid_token(&r, case);
    }
}

#[tokio::test]
async fn api_app_session_token_life_is_capped_at_15_minutes() {
    let (app, tenant) = setup().await;
    let session = |life: i64| {
        let t = now();
        sign_hs256(
            &json!({
                "iss": tenant.client_key, "sub": "u1", "qsh": CONTEXT_QSH,
                "iat": t, "exp": t + life, "kind": "app-session",
            }),
            &tenant.secret,
        )
    };
    let r = app.get_prefs(&session(15 * 60)).await;
    assert_eq!(r.status, 200, "15 min: {}", r.body);
    assert_invalid_token(&app.get_prefs(&session(16 * 60)).await, "16 min");
    // Unknown kinds are not session tokens.
    let t = now();
    let other_kind = sign_hs256(
        &json!({"iss": tenant.client_key, "sub": "u1", "qsh": CONTEXT_QSH,
                "iat": t, "exp": t + 60, "kind": "admin"}),
        &tenant.secret,
    );
    assert_invalid_token(&app.get_prefs(&other_kind).await, "kind admin");
}

#[tokio::test]
async fn api_app_session_token_with_extreme_times_is_refused_without_overflow() {
    let (app, tenant) = setup().await;
    let session = |iat: i64, exp: i64| {
        sign_hs256(
            &json!({
                "iss": tenant.client_key, "sub": "u1", "qsh": CONTEXT_QSH,
                "iat": iat, "exp": exp, "kind": "app-session",
            }),
            &tenant.secret,
        )
    };
    // `exp - iat` overflows i64 (a panic in a debug build, a wrap to -1, under the cap, in a
    // release build); each of these passes the time checks, so only the life check decides.
    for (case, iat, exp) in [
        ("iat min, exp max", i64::MIN, i64::MAX),
        ("iat min, exp now", i64::MIN, now() + 60),
        ("iat min + 1, exp max", i64::MIN + 1, i64::MAX),
    ] {
        assert_invalid_token(&app.get_prefs(&session(iat, exp)).await, case);
    }
    // The server still answers afterwards.
    let r = app.get_prefs(&session(now(), now() + 60)).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn api_two_authorization_headers_are_refused() {
    let (app, tenant) = setup().await;
    let token = TestApp::context_token(&tenant, Some("u1"));
    let r = read(
        app.client
            .get(app.url("/api/preferences"))
            .header("authorization", format!("JWT {token}"))
            .header("authorization", format!("JWT {token}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_invalid_token(&r, "two headers");
    let r = read(
        app.client
            .get(app.url("/api/preferences"))
            .header("authorization", "JWT garbage")
            .header("authorization", format!("JWT {token}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_invalid_token(&r, "garbage + valid");
}

#[tokio::test]
async fn api_huge_authorization_header_is_refused_without_5xx() {
    let (app, tenant) = setup().await;
    let token = TestApp::context_token(&tenant, Some("u1"));
    let huge = format!("JWT {token}{}", "A".repeat(100 * 1024));
    let r = get_with_authorization(&app, Some(&huge)).await;
    assert!(
        (400..500).contains(&r.status),
        "100 KB header: {} {}",
        r.status,
        r.body
    );
    // Just over the token cap, well under the server's header limit: a plain 401.
    let big = format!("JWT {}", "A".repeat(9 * 1024));
    assert_invalid_token(&get_with_authorization(&app, Some(&big)).await, "9 KB");
    // The server still answers afterwards.
    assert_eq!(app.get_prefs(&token).await.status, 200);
}
