//! Lifecycle scenarios: secret rotation on re-install, uninstall, and the ordering of
//! `enabled`/`disabled`/`uninstalled` by the token's `iat`.

use crate::common::*;

/// Status of the page with a fresh iframe token of `tenant`.
async fn page_status(app: &TestApp, tenant: &Tenant) -> u16 {
    app.get(&TestApp::iframe_url(
        tenant,
        Some("page-user"),
        "/preferences",
        "lic=none&loc=en-GB",
    ))
    .await
    .status
}

#[tokio::test]
async fn reinstall_rotates_secret_immediately() {
    let app = TestApp::start().await;
    let old = app.install("site").await;
    let old_token = TestApp::context_token(&old, Some("u1"));
    assert_eq!(app.get_prefs(&old_token).await.status, 200);

    let new = old.with_secret(&unique("rotated-secret"));
    app.install_tenant(&new).await;

    // A token minted before the rotation, and fresh ones with the old secret: refused at once.
    for token in [old_token, TestApp::context_token(&old, Some("u1"))] {
        let r = app.get_prefs(&token).await;
        assert_eq!(r.status, 401, "{}", r.body);
        assert_eq!(r.error(), "invalid_token");
    }
    assert_eq!(page_status(&app, &old).await, 401);
    assert_eq!(app.api_status_for(&new).await, 200);
    assert_eq!(page_status(&app, &new).await, 200);
}

#[tokio::test]
async fn uninstall_refuses_context_and_iframe_tokens() {
    let app = TestApp::start().await;
    let tenant = app.install("site").await;
    let context = TestApp::context_token(&tenant, Some("u1"));
    let page = TestApp::iframe_url(&tenant, Some("u1"), "/preferences", "lic=none");
    assert_eq!(app.get_prefs(&context).await.status, 200);
    assert_eq!(app.get(&page).await.status, 200);

    let r = app.uninstall(&tenant).await;
    assert_eq!(r.status, 204, "{}", r.body);

    let r = app.get_prefs(&context).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.error(), "invalid_token");
    assert_eq!(app.get(&page).await.status, 401);
    assert_eq!(page_status(&app, &tenant).await, 401);
    // Host callbacks with the old secret cannot bring it back either.
    let r = app.host_callback(&tenant, "enabled", now()).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(app.api_status_for(&tenant).await, 401);
}

#[tokio::test]
async fn reinstall_after_uninstall_restores_access_and_uninstall_replay_is_refused() {
    let app = TestApp::start().await;
    let tenant = app.install("site").await;
    let (uninstall_token, uninstall_body) = app.uninstall_request(&tenant);
    let r = app
        .post_lifecycle("/uninstalled", &uninstall_token, &uninstall_body)
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(app.api_status_for(&tenant).await, 401);

    let reinstalled = tenant.with_secret(&unique("new-secret"));
    app.install_tenant(&reinstalled).await;
    assert_eq!(app.api_status_for(&reinstalled).await, 200);
    assert_eq!(page_status(&app, &reinstalled).await, 200);

    // The captured uninstall token, replayed after the re-install (scenario G).
    let r = app
        .post_lifecycle("/uninstalled", &uninstall_token, &uninstall_body)
        .await;
    assert_eq!(r.status, 401, "{}", r.body);
    let malleated = malleate_signature(&uninstall_token);
    let r = app
        .post_lifecycle("/uninstalled", &malleated, &uninstall_body)
        .await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(
        app.api_status_for(&reinstalled).await,
        200,
        "tenant uninstalled"
    );
}

#[tokio::test]
async fn late_enabled_does_not_undo_newer_disabled() {
    let app = TestApp::start().await;
    let tenant = Tenant {
        client_key: unique("site"),
        secret: unique("secret"),
        site: String::new(),
    };
    let t = now();
    // Installed at t-40 (iat drives the ordering).
    let mut claims = app.lifecycle_claims(&tenant.client_key, "/installed");
    claims["iat"] = serde_json::json!(t - 40);
    let token = sign_rs256(&claims, LEGIT_KID, legit_key());
    let body = TestApp::lifecycle_body(&tenant.client_key, Some(&tenant.secret), "installed");
    assert_eq!(
        app.post_lifecycle("/installed", &token, &body).await.status,
        204
    );
    assert_eq!(app.api_status_for(&tenant).await, 200);

    let r = app.host_callback(&tenant, "disabled", t - 20).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(app.api_status_for(&tenant).await, 401, "disabled tenant");
    assert_eq!(page_status(&app, &tenant).await, 401, "disabled tenant");

    // An `enabled` issued before the `disabled`, delivered late.
    let r = app.host_callback(&tenant, "enabled", t - 30).await;
    // Acknowledged (the host must not retry) but not applied.
    assert_eq!(r.status, 204, "late enabled: {}", r.body);
    assert_eq!(
        app.api_status_for(&tenant).await,
        401,
        "late enabled applied"
    );

    // A newer `enabled` does apply.
    let r = app.host_callback(&tenant, "enabled", t - 10).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(app.api_status_for(&tenant).await, 200);
}

#[tokio::test]
async fn late_enabled_after_uninstall_does_not_resurrect() {
    let app = TestApp::start().await;
    let tenant = app.install("site").await;
    let t = now();
    let r = app.host_callback(&tenant, "disabled", t).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = app.uninstall(&tenant).await;
    assert_eq!(r.status, 204, "{}", r.body);
    for iat in [t - 5, t + 5] {
        let r = app.host_callback(&tenant, "enabled", iat).await;
        assert_eq!(r.status, 401, "enabled at {iat}: {}", r.body);
        assert_eq!(app.api_status_for(&tenant).await, 401, "resurrected");
    }
}

#[tokio::test]
async fn host_callback_replay_is_refused() {
    let app = TestApp::start().await;
    let tenant = app.install("site").await;
    let claims = serde_json::json!({
        "iss": tenant.client_key,
        "qsh": query_string_hash("POST", "/disabled", "", ""),
        "iat": now(),
        "exp": now() + 180,
    });
    let disabled = sign_hs256(&claims, &tenant.secret);
    let body = TestApp::lifecycle_body(&tenant.client_key, None, "disabled");
    assert_eq!(
        app.post_lifecycle("/disabled", &disabled, &body)
            .await
            .status,
        204
    );
    let r = app.host_callback(&tenant, "enabled", now() + 1).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(app.api_status_for(&tenant).await, 200);
    let r = app.post_lifecycle("/disabled", &disabled, &body).await;
    assert_eq!(r.status, 401, "replayed disabled: {}", r.body);
    assert_eq!(app.api_status_for(&tenant).await, 200);
}

#[tokio::test]
async fn host_callback_forged_or_misbound_is_refused() {
    let app = TestApp::start().await;
    let tenant = app.install("site").await;
    let other = app.install("other").await;
    let body = TestApp::lifecycle_body(&tenant.client_key, None, "disabled");
    let base = serde_json::json!({
        "iss": tenant.client_key,
        "qsh": query_string_hash("POST", "/disabled", "", ""),
        "iat": now(),
        "exp": now() + 180,
    });
    let mut context_qsh = base.clone();
    context_qsh["qsh"] = serde_json::json!(CONTEXT_QSH);
    let mut enabled_qsh = base.clone();
    enabled_qsh["qsh"] = serde_json::json!(query_string_hash("POST", "/enabled", "", ""));
    let mut no_qsh = base.clone();
    no_qsh.as_object_mut().unwrap().remove("qsh");
    let cases = [
        ("attacker secret", sign_hs256(&base, ATTACKER_SECRET)),
        ("other tenant's secret", sign_hs256(&base, &other.secret)),
        ("context-qsh", sign_hs256(&context_qsh, &tenant.secret)),
        ("qsh of /enabled", sign_hs256(&enabled_qsh, &tenant.secret)),
        ("no qsh", sign_hs256(&no_qsh, &tenant.secret)),
        ("rs256", sign_rs256(&base, LEGIT_KID, legit_key())),
    ];
    for (case, token) in cases {
        let r = app.post_lifecycle("/disabled", &token, &body).await;
        assert_eq!(r.status, 401, "{case}: {}", r.body);
    }
    assert_eq!(app.api_status_for(&tenant).await, 200);
    assert_eq!(app.api_status_for(&other).await, 200);
}

#[tokio::test]
async fn host_callback_iss_differs_from_body_client_key_is_refused() {
    let app = TestApp::start().await;
    let tenant = app.install("site").await;
    let other = app.install("other").await;
    // A valid `disabled` token of `other`, with the victim's clientKey in the body.
    let claims = serde_json::json!({
        "iss": other.client_key,
        "qsh": query_string_hash("POST", "/disabled", "", ""),
        "iat": now(),
        "exp": now() + 180,
    });
    let body = TestApp::lifecycle_body(&tenant.client_key, None, "disabled");
    let r = app
        .post_lifecycle("/disabled", &sign_hs256(&claims, &other.secret), &body)
        .await;
    assert_eq!(r.status, 401, "body clientKey differs from iss: {}", r.body);
    assert_eq!(app.api_status_for(&tenant).await, 200);
    assert_eq!(app.api_status_for(&other).await, 200);
}
