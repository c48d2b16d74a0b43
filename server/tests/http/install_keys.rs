//! Install-key fetches cannot be driven by strangers (issue 13 §4, docs/AUTH-RULES.md §C4.2):
//! anyone may send
//! `POST /installed` with a made-up `kid`, so fetches are shared per kid, unknown kids are
//! remembered for a while, fetches in flight are capped (503 `key_service_busy` beyond), failure
//! warnings are rate-limited, and a cached key expires. The key server counts every request.

use std::time::Duration;

use futures::future::join_all;
use server::connect::install_keys::InstallKeyPolicy;

use crate::common::*;

/// A genuine install of a new tenant whose token names `kid` (signed with the legitimate key).
async fn install_with_kid(app: &TestApp, kid: &str) -> (Tenant, Reply) {
    let tenant = Tenant {
        client_key: unique("site"),
        secret: unique("secret"),
        site: String::new(),
    };
    let claims = app.lifecycle_claims(&tenant.client_key, "/installed");
    let token = sign_rs256(&claims, kid, legit_key());
    let body = TestApp::lifecycle_body(&tenant.client_key, Some(&tenant.secret), "installed");
    let reply = app.post_lifecycle("/installed", &token, &body).await;
    (tenant, reply)
}

fn legit_pem() -> KeyReply {
    KeyReply::Pem(legit_key().public_pem.clone())
}

fn held(reply: KeyReply) -> KeyReply {
    KeyReply::Held(Box::new(reply))
}

/// Lines of the captured log that mention `needle`.
fn log_lines_with(needle: &str) -> Vec<String> {
    captured_logs()
        .lines()
        .filter(|line| line.contains(needle))
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn concurrent_installs_with_one_new_kid_share_one_fetch() {
    let app = TestApp::start().await;
    let kid = unique("kid");
    app.keys.set_kid(&kid, held(legit_pem()));
    let kids = [kid.clone()];
    let (installs, ()) = tokio::join!(
        join_all((0..8).map(|_| install_with_kid(&app, &kid))),
        async {
            // The fetch is held until every install has had time to arrive and need the key.
            assert_eq!(app.keys.wait_for_requests(&kids, 1).await, 1);
            tokio::time::sleep(Duration::from_millis(300)).await;
            app.keys.release();
        }
    );
    for (tenant, reply) in &installs {
        assert_eq!(reply.status, 204, "{}", reply.body);
        assert_eq!(app.api_status_for(tenant).await, 200);
    }
    assert_eq!(
        app.keys.requests_for_kid(&kid),
        1,
        "{:?}",
        app.keys.requests()
    );
}

#[tokio::test]
async fn unknown_kid_is_refused_from_memory_until_the_window_ends() {
    let window = Duration::from_secs(2);
    let app = TestApp::start_tuned(&[], |c| c.install_key_policy.unknown_ttl = window).await;
    // Not on the key server (404), and a 200 that is no key: both mean "no such key".
    let missing = unique("missing-kid");
    let garbage = unique("garbage-kid");
    app.keys.set_kid(&garbage, KeyReply::Garbage);
    for kid in [&missing, &garbage] {
        let started = std::time::Instant::now();
        for _ in 0..5 {
            let (_, r) = install_with_kid(&app, kid).await;
            assert_eq!(
                (r.status, r.error()),
                (401, "invalid_token".into()),
                "{kid}"
            );
        }
        // Concurrent ones too.
        for (_, r) in join_all((0..4).map(|_| install_with_kid(&app, kid))).await {
            assert_eq!(r.status, 401, "{kid}");
        }
        assert!(started.elapsed() < window, "too slow to test the window");
        assert_eq!(app.keys.requests_for_kid(kid), 1, "{kid}");
    }
    tokio::time::sleep(window + Duration::from_millis(100)).await;
    for kid in [&missing, &garbage] {
        let (_, r) = install_with_kid(&app, kid).await;
        assert_eq!(r.status, 401, "{kid}");
        assert_eq!(app.keys.requests_for_kid(kid), 2, "{kid}: asked again");
    }
    // The key server now knows the kid: once the window has passed, installs succeed.
    app.keys.set_kid(&missing, legit_pem());
    tokio::time::sleep(window + Duration::from_millis(100)).await;
    let (_, r) = install_with_kid(&app, &missing).await;
    assert_eq!(r.status, 204, "{}", r.body);
}

#[tokio::test]
async fn fetches_beyond_the_limit_are_refused_with_503_and_not_made() {
    let app = TestApp::start().await;
    let cap = InstallKeyPolicy::default().max_fetches;
    let slow: Vec<String> = (0..cap).map(|_| unique("slow-kid")).collect();
    let extra: Vec<String> = (0..3).map(|_| unique("extra-kid")).collect();
    for kid in &slow {
        app.keys.set_kid(kid, held(legit_pem()));
    }
    for kid in &extra {
        app.keys.set_kid(kid, legit_pem());
    }
    let (slow_installs, (extra_installs, seen_while_full)) = tokio::join!(
        join_all(slow.iter().map(|kid| install_with_kid(&app, kid))),
        async {
            assert_eq!(app.keys.wait_for_requests(&slow, cap).await, cap);
            let replies = join_all(extra.iter().map(|kid| install_with_kid(&app, kid))).await;
            let seen = app.keys.total_requests();
            app.keys.release();
            (replies, seen)
        }
    );
    for (_, r) in &extra_installs {
        assert_eq!(r.status, 503, "{}", r.body);
        assert_eq!(r.error(), "key_service_busy");
    }
    assert_eq!(seen_while_full, cap, "{:?}", app.keys.requests());
    for (tenant, r) in &slow_installs {
        assert_eq!(r.status, 204, "{}", r.body);
        assert_eq!(app.api_status_for(tenant).await, 200);
    }
    // A refusal is not remembered: with room again, the same kid is fetched and accepted.
    let (_, r) = install_with_kid(&app, &extra[0]).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(app.keys.requests_for_kid(&extra[0]), 1);
}

#[tokio::test]
async fn cached_key_expires_so_a_withdrawn_key_stops_verifying() {
    let ttl = Duration::from_secs(2);
    let app = TestApp::start_tuned(&[], |c| c.install_key_policy.key_ttl = ttl).await;
    let kid = unique("kid");
    app.keys.set_kid(&kid, legit_pem());
    for _ in 0..2 {
        assert_eq!(install_with_kid(&app, &kid).await.1.status, 204);
    }
    assert_eq!(app.keys.requests_for_kid(&kid), 1, "cached");
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    assert_eq!(install_with_kid(&app, &kid).await.1.status, 204);
    assert_eq!(app.keys.requests_for_kid(&kid), 2, "fetched again");
    // Atlassian withdraws the key: once the cached copy expires, it no longer verifies.
    app.keys.set_kid(&kid, KeyReply::NotFound);
    assert_eq!(
        install_with_kid(&app, &kid).await.1.status,
        204,
        "still cached"
    );
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    let (_, r) = install_with_kid(&app, &kid).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(app.keys.requests_for_kid(&kid), 3);
}

#[tokio::test]
async fn failed_fetch_warnings_are_rate_limited_and_count_the_rest() {
    let every = Duration::from_secs(2);
    let app = TestApp::start_tuned(&[], |c| c.install_key_policy.warn_every = every).await;
    let started = std::time::Instant::now();
    let kids: Vec<String> = (0..5).map(|_| unique("failing-kid")).collect();
    for kid in &kids {
        app.keys.set_kid(kid, KeyReply::ServerError);
        assert_eq!(install_with_kid(&app, kid).await.1.status, 401);
        assert_eq!(app.keys.requests_for_kid(kid), 1);
    }
    assert!(started.elapsed() < every, "too slow to test the period");
    let warned = |kid: &str| {
        log_lines_with(kid)
            .into_iter()
            .filter(|l| l.contains("WARN") && l.contains("install key fetch failed"))
            .collect::<Vec<_>>()
    };
    assert_eq!(warned(&kids[0]).len(), 1, "the first failure is told");
    for kid in &kids[1..] {
        assert!(log_lines_with(kid).is_empty(), "{kid} was logged");
    }
    tokio::time::sleep(every).await;
    let next = unique("failing-kid");
    app.keys.set_kid(&next, KeyReply::ServerError);
    assert_eq!(install_with_kid(&app, &next).await.1.status, 401);
    let lines = warned(&next);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("suppressed=4"), "{}", lines[0]);
}
