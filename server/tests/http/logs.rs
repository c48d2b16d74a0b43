//! Logs never contain a token or a shared secret (the whole binary's log output is captured).

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn logs_never_contain_tokens_or_secrets() {
    let app = TestApp::start().await;
    let tenant = Tenant {
        client_key: unique("logged-site"),
        secret: unique("very-secret-shared-secret"),
        site: String::new(),
    };
    let mut secrets: Vec<String> = vec![tenant.secret.clone(), ATTACKER_SECRET.to_string()];

    // Install (RS256 token in a header, secret in the body).
    let (install_token, body) = app.install_request(&tenant.client_key, &tenant.secret);
    let r = app
        .post_lifecycle("/installed", &install_token, &body)
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    secrets.push(install_token.clone());
    // A refused replay with the attacker's secret.
    let mut forged = body.clone();
    forged["sharedSecret"] = json!(ATTACKER_SECRET);
    assert_eq!(
        app.post_lifecycle("/installed", &install_token, &forged)
            .await
            .status,
        401
    );

    // Page load (token in the query) and the session token it hands out.
    let url = TestApp::iframe_url(
        &tenant,
        Some("log-user"),
        "/preferences",
        "lic=none&loc=en-GB",
    );
    let page_token = url.rsplit("jwt=").next().unwrap().to_string();
    secrets.push(page_token);
    let r = app.get(&url).await;
    assert_eq!(r.status, 200);
    let start =
        r.body.find(r#"name="token" content=""#).unwrap() + r#"name="token" content=""#.len();
    let session = r.body[start..].split('"').next().unwrap().to_string();
    secrets.push(session.clone());

    // API calls: accepted and refused.
    let context = TestApp::context_token(&tenant, Some("log-user"));
    secrets.push(context.clone());
    assert_eq!(app.get_prefs(&context).await.status, 200);
    assert_eq!(
        app.save_prefs(&session, 0, &sample_prefs()).await.status,
        200
    );
    let forged_token = TestApp::context_token(&tenant.with_secret(ATTACKER_SECRET), Some("x"));
    secrets.push(forged_token.clone());
    assert_eq!(app.get_prefs(&forged_token).await.status, 401);
    let page_refused = with_jwt("/preferences", "lic=none", &context);
    assert_eq!(app.get(&page_refused).await.status, 401);
    // Uninstall.
    let (uninstall_token, uninstall_body) = app.uninstall_request(&tenant);
    secrets.push(uninstall_token.clone());
    assert_eq!(
        app.post_lifecycle("/uninstalled", &uninstall_token, &uninstall_body)
            .await
            .status,
        204
    );

    let logs = captured_logs();
    // The capture works: the server logged this test's requests.
    assert!(logs.contains(&tenant.client_key), "nothing captured");
    assert!(logs.contains("token rejected"), "rejections are logged");
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "a token or secret was logged"
        );
        // Not even a token's signature on its own.
        if let Some(sig) = secret.rsplit('.').next().filter(|s| s.len() > 20) {
            assert!(!logs.contains(sig), "a token signature was logged");
        }
    }
}
