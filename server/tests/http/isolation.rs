//! No request sees another request's data: a server-function call polled on a thread where a
//! page render is suspended must answer its own caller's preferences, never the page viewer's
//! (`server/src/http/owner.rs` says how that once leaked).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::body::{Body, to_bytes};
use axum::http::Request;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::common::*;

const PAGE_QUERY: &str = "xdm_e=https%3A%2F%2Fsite.atlassian.net&cp=%2Fwiki&loc=en-GB";

/// Two sites, each with one user whose saved preferences are unmistakably theirs.
async fn two_sites(app: &TestApp) -> (Tenant, Tenant) {
    let a = app.install("site-a").await;
    let b = app.install("site-b").await;
    for (tenant, user, label, space) in [
        (&a, "alice", "only-site-a", "ASEC"),
        (&b, "bob", "only-site-b", "BOWN"),
    ] {
        let mut prefs = sample_prefs();
        prefs["favourite_labels"] = json!([label]);
        prefs["default_space_key"] = json!(space);
        let r = app
            .save_prefs(&TestApp::context_token(tenant, Some(user)), 0, &prefs)
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    (a, b)
}

/// Asserts that an API answer is bob's of site B and nothing of site A.
fn assert_is_bobs(status: u16, body: &str, b: &Tenant) {
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(body).unwrap();
    assert_eq!(
        v["preferences"]["favourite_labels"],
        json!(["only-site-b"]),
        "{body}"
    );
    assert_eq!(
        v["preferences"]["default_space_key"],
        json!("BOWN"),
        "{body}"
    );
    let site = v["site_url"].as_str().unwrap_or_default();
    assert!(site.contains(&b.client_key), "another site's URL: {body}");
    assert!(
        !body.contains("only-site-a") && !body.contains("ASEC"),
        "site A leaked: {body}"
    );
}

fn api_request(token: &str) -> Request<Body> {
    Request::get("/api/preferences")
        .header("authorization", format!("JWT {token}"))
        .body(Body::empty())
        .unwrap()
}

/// Deterministic: one thread. Site A's page load is polled by hand; every time it suspends
/// (the store read, the render waiting for its resource, …) a whole `GET /api/preferences` of
/// site B's user runs to completion on the same thread. Every one of them answers bob's data.
#[tokio::test(flavor = "current_thread")]
async fn an_api_call_during_a_suspended_page_render_sees_only_its_own_caller() {
    let app = TestApp::start_with(&[("PAGE_CACHE_MIB", "0")]).await;
    let (a, b) = two_sites(&app).await;
    let b_token = TestApp::context_token(&b, Some("bob"));

    let page_url = TestApp::iframe_url(&a, Some("alice"), "/preferences", PAGE_QUERY);
    let page_req = Request::get(page_url).body(Body::empty()).unwrap();
    let mut page = Box::pin(app.router.clone().oneshot(page_req));
    let mut interleaved = 0;
    let page = loop {
        match futures::poll!(page.as_mut()) {
            std::task::Poll::Ready(res) => break res.unwrap(),
            std::task::Poll::Pending => {
                let res = app
                    .router
                    .clone()
                    .oneshot(api_request(&b_token))
                    .await
                    .unwrap();
                let status = res.status().as_u16();
                let body = to_bytes(res.into_body(), 1 << 20).await.unwrap();
                assert_is_bobs(status, &String::from_utf8_lossy(&body), &b);
                interleaved += 1;
                tokio::task::yield_now().await;
            }
        }
    };
    // The render always suspends at least once: it waits for its resource, a task spawned on
    // this very thread that cannot run before the page future yields. (Reads served from the
    // caches may not suspend at all.)
    assert!(interleaved >= 1, "the page never suspended");
    assert_eq!(page.status(), 200);
    let html = to_bytes(page.into_body(), 1 << 20).await.unwrap();
    let html = String::from_utf8_lossy(&html);
    assert!(
        html.contains("only-site-a"),
        "the page shows alice's own labels"
    );
    assert!(
        !html.contains("only-site-b"),
        "site B leaked into site A's page"
    );
}

/// Concurrent, over HTTP on a multi-threaded runtime: site A's page loads (page cache off, so
/// every load renders) and site B's API reads at the same time, a few thousand requests. Every
/// B answer is B's, and every A page is A's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_loads_of_one_site_never_leak_into_api_reads_of_another() {
    const PER_SIDE: usize = 1500;
    const WORKERS: usize = 8;
    let app = Arc::new(TestApp::start_with(&[("PAGE_CACHE_MIB", "0")]).await);
    let (a, b) = two_sites(&app).await;
    let deadline = Instant::now() + Duration::from_secs(120);
    let pages = Arc::new(AtomicUsize::new(0));
    let reads = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..WORKERS {
        let (a_app, a, pages) = (Arc::clone(&app), a.clone(), Arc::clone(&pages));
        tasks.push(tokio::spawn(async move {
            while pages.fetch_add(1, Ordering::Relaxed) < PER_SIDE && Instant::now() < deadline {
                let url = TestApp::iframe_url(&a, Some("alice"), "/preferences", PAGE_QUERY);
                let r = a_app.get(&url).await;
                assert_eq!(r.status, 200, "{}", r.body);
                assert!(r.body.contains("only-site-a") && !r.body.contains("only-site-b"));
            }
        }));
        let (b_app, b, reads) = (Arc::clone(&app), b.clone(), Arc::clone(&reads));
        tasks.push(tokio::spawn(async move {
            let token = TestApp::context_token(&b, Some("bob"));
            while reads.fetch_add(1, Ordering::Relaxed) < PER_SIDE && Instant::now() < deadline {
                let r = b_app.get_prefs(&token).await;
                assert_is_bobs(r.status, &r.body, &b);
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert!(
        reads.load(Ordering::Relaxed) >= PER_SIDE && pages.load(Ordering::Relaxed) >= PER_SIDE,
        "ran out of time before {PER_SIDE} requests a side"
    );
}
