//! The preferences API through HTTP: tenant isolation (tenant and account come only from the
//! token), compare-and-swap saves, validation, limits and error shapes.

use serde_json::{Value, json};

use crate::common::*;

async fn setup() -> (TestApp, Tenant) {
    let app = TestApp::start().await;
    let tenant = app.install("site").await;
    (app, tenant)
}

fn assert_defaults(r: &Reply, case: &str) {
    assert_eq!(r.status, 200, "{case}: {}", r.body);
    let v = r.json();
    assert_eq!(v["revision"], 0, "{case}: {v}");
    assert_eq!(v["preferences"], default_prefs(), "{case}: {v}");
    assert_eq!(v["updated_at"], Value::Null, "{case}");
}

#[tokio::test]
async fn tenant_isolation_by_user_and_site() {
    let app = TestApp::start().await;
    let site1 = app.install("site-one").await;
    let site2 = app.install("site-two").await;
    let a1 = TestApp::context_token(&site1, Some("user-a"));
    let r = app.save_prefs(&a1, 0, &sample_prefs()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        app.get_prefs(&a1).await.json()["preferences"],
        sample_prefs()
    );

    let b1 = TestApp::context_token(&site1, Some("user-b"));
    assert_defaults(&app.get_prefs(&b1).await, "user B, same site");
    let a2 = TestApp::context_token(&site2, Some("user-a"));
    assert_defaults(&app.get_prefs(&a2).await, "same account, other site");
    // The site URL shown is the token's tenant's.
    assert_eq!(
        app.get_prefs(&a2).await.json()["site_url"],
        TestApp::lifecycle_body(&site2.client_key, None, "x")["displayUrl"]
    );
}

#[tokio::test]
async fn tenant_and_account_come_only_from_the_token() {
    let app = TestApp::start().await;
    let site1 = app.install("site-one").await;
    let site2 = app.install("site-two").await;
    let a1 = TestApp::context_token(&site1, Some("user-a"));
    assert_eq!(app.save_prefs(&a1, 0, &sample_prefs()).await.status, 200);

    // User B of site 2 names user A of site 1 in the query: still reads their own defaults.
    let b2 = TestApp::context_token(&site2, Some("user-b"));
    for query in [
        format!("?client_key={}&account_id=user-a", site1.client_key),
        format!(
            "?clientKey={}&accountId=user-a&sub=user-a&iss={}",
            site1.client_key, site1.client_key
        ),
    ] {
        let r = app
            .api("GET", &format!("/api/preferences{query}"), Some(&b2), None)
            .await;
        assert_defaults(&r, &query);
    }
    // Identity fields in the body: never honoured.
    let body = json!({
        "base_revision": 1,
        "preferences": sample_prefs(),
        "client_key": site1.client_key,
        "account_id": "user-a",
    });
    let r = app
        .api(
            "POST",
            "/api/preferences",
            Some(&b2),
            Some(&body.to_string()),
        )
        .await;
    assert_ne!(r.status, 200, "B saved over A's revision 1: {}", r.body);
    // An identity field inside the preferences: refused (the exact status is checked in
    // `unknown_preferences_field_is_a_bad_request`).
    let mut inner = sample_prefs();
    inner["account_id"] = json!("user-a");
    let r = app.save_prefs(&b2, 0, &inner).await;
    assert_ne!(
        r.status / 100,
        2,
        "unknown preferences field accepted: {}",
        r.body
    );
    // A's data is untouched, B still has nothing.
    let a = app.get_prefs(&a1).await.json();
    assert_eq!(a["revision"], 1);
    assert_eq!(a["preferences"], sample_prefs());
    assert_defaults(&app.get_prefs(&b2).await, "B after the attempts");
}

#[tokio::test]
async fn extra_top_level_body_fields_do_not_change_identity() {
    let app = TestApp::start().await;
    let site1 = app.install("site-one").await;
    let site2 = app.install("site-two").await;
    let b2 = TestApp::context_token(&site2, Some("user-b"));
    let body = json!({
        "base_revision": 0,
        "preferences": sample_prefs(),
        "client_key": site1.client_key,
        "account_id": "user-a",
        "iss": site1.client_key,
        "sub": "user-a",
    });
    let r = app
        .api(
            "POST",
            "/api/preferences",
            Some(&b2),
            Some(&body.to_string()),
        )
        .await;
    // Unknown top-level arguments are ignored; the save lands on the token's identity.
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(app.get_prefs(&b2).await.json()["revision"], 1);
    assert_defaults(
        &app.get_prefs(&TestApp::context_token(&site1, Some("user-a")))
            .await,
        "site 1 user A",
    );
}

#[tokio::test]
async fn unknown_preferences_field_is_a_bad_request() {
    let (app, tenant) = setup().await;
    let token = TestApp::context_token(&tenant, Some("u1"));
    let mut prefs = sample_prefs();
    prefs["account_id"] = json!("someone-else");
    let r = app.save_prefs(&token, 0, &prefs).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.error(), "bad_request");
    assert_defaults(&app.get_prefs(&token).await, "after the refusal");
}

#[tokio::test]
async fn save_then_stale_revision_conflicts() {
    let (app, tenant) = setup().await;
    let token = TestApp::context_token(&tenant, Some("u1"));
    let r = app.save_prefs(&token, 0, &sample_prefs()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["revision"], 1);
    assert_eq!(v["preferences"], sample_prefs());
    assert!(v["updated_at"].is_i64());
    assert_eq!(v["can_edit"], true);

    // A second editor still on revision 0.
    let mut theirs = sample_prefs();
    theirs["theme"] = json!("light");
    let r = app.save_prefs(&token, 0, &theirs).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(r.error(), "version_conflict");
    let v = r.json();
    assert_eq!(v["current"]["revision"], 1, "{v}");
    assert_eq!(v["current"]["preferences"], sample_prefs());
    // A revision from the future conflicts too.
    let r = app.save_prefs(&token, 7, &theirs).await;
    assert_eq!(r.status, 409, "{}", r.body);

    let r = app.save_prefs(&token, 1, &theirs).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["revision"], 2);
    assert_eq!(app.get_prefs(&token).await.json()["preferences"], theirs);
}

#[tokio::test]
async fn invalid_values_are_refused_field_by_field_and_nothing_is_stored() {
    let (app, tenant) = setup().await;
    let token = TestApp::context_token(&tenant, Some("u1"));
    assert_eq!(app.save_prefs(&token, 0, &sample_prefs()).await.status, 200);

    let labels: Vec<String> = (0..51).map(|i| format!("l{i}")).collect();
    type Case = (&'static str, Value, Vec<(&'static str, &'static str)>);
    let cases: [Case; 5] = [
        (
            "items_per_page 3",
            json!({"items_per_page": 3}),
            vec![("items_per_page", "out_of_range")],
        ),
        (
            "label with a space",
            json!({"favourite_labels": ["bad label"]}),
            vec![("favourite_labels[0]", "invalid_characters")],
        ),
        (
            "51 labels",
            json!({"favourite_labels": labels}),
            vec![("favourite_labels", "too_many")],
        ),
        (
            "bad space key",
            json!({"default_space_key": "DE-V"}),
            vec![("default_space_key", "invalid_format")],
        ),
        (
            "several at once",
            json!({"items_per_page": 101, "default_space_key": "A B", "favourite_labels": ["ok", "ok"]}),
            vec![
                ("items_per_page", "out_of_range"),
                ("default_space_key", "invalid_format"),
                ("favourite_labels[1]", "duplicate"),
            ],
        ),
    ];
    for (case, changes, expected) in cases {
        let mut prefs = sample_prefs();
        for (k, v) in changes.as_object().unwrap() {
            prefs[k] = v.clone();
        }
        let r = app.save_prefs(&token, 1, &prefs).await;
        assert_eq!(r.status, 422, "{case}: {}", r.body);
        assert_eq!(r.error(), "validation_failed", "{case}");
        let fields: Vec<(String, String)> = r.json()["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["field"].as_str().unwrap().to_string(),
                    f["code"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(f, c)| (f.to_string(), c.to_string()))
            .collect();
        assert_eq!(fields, expected, "{case}");
        let stored = app.get_prefs(&token).await.json();
        assert_eq!(stored["revision"], 1, "{case}");
        assert_eq!(stored["preferences"], sample_prefs(), "{case}");
    }
}

#[tokio::test]
async fn body_over_16_kib_is_refused() {
    let (app, tenant) = setup().await;
    let token = TestApp::context_token(&tenant, Some("u1"));
    let mut prefs = sample_prefs();
    prefs["favourite_labels"] = json!(["x".repeat(17 * 1024)]);
    let r = app.save_prefs(&token, 0, &prefs).await;
    assert_eq!(r.status, 413, "{}", r.body);
    assert_eq!(r.error(), "payload_too_large");
    // Without a Content-Length (chunked), the cap still holds.
    let head = r#"{"base_revision":0,"preferences":{"favourite_labels":[""#;
    let payload = format!("{head}{}\"]}}}}", "x".repeat(20 * 1024));
    let mut chunked = String::new();
    for chunk in payload.as_bytes().chunks(4096) {
        chunked.push_str(&format!(
            "{:x}\r\n{}\r\n",
            chunk.len(),
            String::from_utf8_lossy(chunk)
        ));
    }
    chunked.push_str("0\r\n\r\n");
    let r = raw_http(
        &app,
        &format!(
            "POST /api/preferences HTTP/1.1\r\nHost: x\r\nAuthorization: JWT {token}\r\n\
             Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\
             Connection: close\r\n\r\n{chunked}"
        ),
    )
    .await;
    assert_eq!(r.status, 413, "chunked: {}", r.body);
    assert_defaults(&app.get_prefs(&token).await, "after 413");
}

#[tokio::test]
async fn malformed_json_is_a_bad_request() {
    let (app, tenant) = setup().await;
    let token = TestApp::context_token(&tenant, Some("u1"));
    for (case, body) in [
        ("not JSON", "{not json".to_string()),
        ("empty", String::new()),
        (
            "wrong types",
            json!({"base_revision": "one", "preferences": sample_prefs()}).to_string(),
        ),
        (
            "missing preferences",
            json!({"base_revision": 0}).to_string(),
        ),
        ("unknown enum value", {
            let mut p = sample_prefs();
            p["theme"] = json!("neon");
            json!({"base_revision": 0, "preferences": p}).to_string()
        }),
        ("negative items_per_page", {
            let mut p = sample_prefs();
            p["items_per_page"] = json!(-1);
            json!({"base_revision": 0, "preferences": p}).to_string()
        }),
    ] {
        let r = app
            .api("POST", "/api/preferences", Some(&token), Some(&body))
            .await;
        assert_eq!(r.status, 400, "{case}: {}", r.body);
        assert_eq!(r.error(), "bad_request", "{case}");
    }
    assert_defaults(&app.get_prefs(&token).await, "after bad requests");
}

#[tokio::test]
async fn negative_base_revision_is_a_bad_request() {
    let (app, tenant) = setup().await;
    let token = TestApp::context_token(&tenant, Some("u1"));
    let r = app.save_prefs(&token, -1, &sample_prefs()).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.error(), "bad_request");
}

#[tokio::test]
async fn anonymous_user_can_read_defaults_but_not_save() {
    let (app, tenant) = setup().await;
    let token = TestApp::context_token(&tenant, None);
    let r = app.get_prefs(&token).await;
    assert_defaults(&r, "anonymous");
    assert_eq!(r.json()["can_edit"], false);
    let r = app.save_prefs(&token, 0, &sample_prefs()).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.error(), "forbidden");
    // An empty `sub` is not anonymity, it is a malformed token.
    let mut claims = TestApp::context_claims(&tenant, None);
    claims["sub"] = json!("");
    let r = app.get_prefs(&sign_hs256(&claims, &tenant.secret)).await;
    assert_eq!(r.status, 401, "{}", r.body);
}

#[tokio::test]
async fn unknown_endpoint_and_method_answer_json() {
    let (app, tenant) = setup().await;
    let token = TestApp::context_token(&tenant, Some("u1"));
    let r = app.api("GET", "/api/nope", Some(&token), None).await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(r.error(), "not_found");
    let r = app
        .api("DELETE", "/api/preferences", Some(&token), None)
        .await;
    assert_eq!(r.status, 405, "{}", r.body);
    assert_eq!(r.error(), "method_not_allowed");
    let allow = r.header("allow").unwrap_or_default();
    assert!(
        allow.contains("GET") && allow.contains("POST"),
        "allow {allow}"
    );
    for method in ["PUT", "PATCH"] {
        let r = app
            .api(method, "/api/preferences", Some(&token), Some("{}"))
            .await;
        assert_eq!(r.status, 405, "{method}: {}", r.body);
    }
}

#[tokio::test]
async fn unknown_endpoint_without_token_is_401_not_404() {
    let (app, _) = setup().await;
    for (method, path) in [
        ("GET", "/api/nope"),
        ("DELETE", "/api/preferences"),
        ("POST", "/api/a/b/c"),
    ] {
        let r = app.api(method, path, None, None).await;
        assert_eq!(r.status, 401, "{method} {path}: {}", r.body);
        assert_eq!(r.error(), "invalid_token");
    }
}
