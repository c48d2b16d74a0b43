//! Calling Confluence: the app against the simulator playing the product (its spaces API, its
//! JWT-bearer token endpoint, injected 429/503/slowness/redirects, and its log of what arrived).
//! The site is installed by the simulator itself, so tenant, secret and `oauthClientId` are
//! what a real install delivers, and every token the app sends is checked by the simulator.

use crate::common::*;
use crate::world::World;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

use server::outbound::ProductAccess;

const ALICE: &str = "557058:aaaa-alice";

impl World {
    async fn spaces(&self, token: &str, query: &str) -> Reply {
        self.app
            .api("GET", &format!("/api/spaces{query}"), Some(token), None)
            .await
    }

    async fn clear(&self) {
        self.sim_call("DELETE", "/api/faults", None).await;
        self.sim_call("DELETE", "/api/received", None).await;
    }

    async fn received(&self) -> Vec<Value> {
        self.sim_call("GET", "/api/received", None)
            .await
            .1
            .as_array()
            .unwrap()
            .clone()
    }

    async fn exchanges(&self, site: &str) -> u64 {
        let (_, body) = self
            .sim_call("GET", &format!("/api/sites/{site}"), None)
            .await;
        body["oauth_tokens_issued"].as_u64().unwrap()
    }

    fn port(&self) -> &str {
        self.sim.rsplit(':').next().unwrap()
    }
}

fn keys(reply: &Reply) -> Vec<String> {
    reply.json()["spaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["key"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn spaces_are_listed_as_the_user_with_paging_and_search() {
    let w = World::launch(&[], false).await;
    let alice = w.token("acme", "alice").await;
    let first = w.spaces(&alice, "").await;
    assert_eq!(first.status, 200, "{}", first.body);
    let page = first.json();
    assert_eq!(keys(&first).len(), 25);
    assert_eq!(
        page["spaces"][0]["key"], "APRIV",
        "alice's own private space, sorted by key"
    );
    assert_eq!(page["spaces"][0]["name"], "Alice Private");
    assert_eq!(
        page["spaces"][0]["url"],
        format!("{}/sites/acme/wiki/spaces/APRIV", w.sim)
    );
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest = w
        .spaces(&alice, &format!("?cursor={}", urlencode(cursor)))
        .await;
    assert_eq!(rest.status, 200, "{}", rest.body);
    let mut all = keys(&first);
    all.extend(keys(&rest));
    assert_eq!(all.len(), 34, "DOCS, ENG, MKT, T01..T30 and APRIV: {all:?}");
    assert!(
        !all.contains(&"BPRIV".to_owned()),
        "never another user's private space"
    );
    assert!(rest.json()["next_cursor"].is_null());

    let bob = w.token("acme", "bob").await;
    let bobs = keys(&w.spaces(&bob, "?q=priv").await);
    assert_eq!(bobs, ["BPRIV"]);

    let search = w.spaces(&alice, "?q=team%200").await;
    assert_eq!(
        keys(&search),
        [
            "T01", "T02", "T03", "T04", "T05", "T06", "T07", "T08", "T09"
        ]
    );
    assert_eq!(
        keys(&w.spaces(&alice, "?q=eng").await),
        ["ENG"],
        "by key or name, any case"
    );

    // Every call above went out with a user token of the right user; one exchange per user.
    assert_eq!(w.exchanges("acme").await, 2);
    let received = w.received().await;
    assert!(
        received
            .iter()
            .all(|r| r["auth_scheme"] == "Bearer" || r["path"] == "/oauth2/token")
    );

    // Each call is logged (kind, path relative to the site, outcome, time), never a token or a
    // query: not the cursor, not the search text.
    let logs = captured_logs();
    assert!(logs.contains("outbound call") && logs.contains("/api/v2/spaces"));
    for secret in [
        alice.as_str(),
        bob.as_str(),
        cursor,
        "team%200",
        "team 0",
        "Bearer ",
    ] {
        assert!(!logs.contains(secret), "{secret:?} was logged");
    }

    let anonymous = w.token("acme", "anonymous").await;
    assert_eq!(w.spaces(&anonymous, "").await.status, 403);
    for bad in ["?cursor=%3Cscript%3E", &format!("?q={}", "x".repeat(101))] {
        let r = w.spaces(&alice, bad).await;
        assert_eq!((r.status, r.error()), (400, "bad_request".into()), "{bad}");
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn concurrent_calls_of_one_user_share_one_token_exchange() {
    let w = Arc::new(World::launch(&[], false).await);
    let alice = w.token("acme", "alice").await;
    // The exchange is slow, so every call below arrives while it is in flight.
    w.fault(json!({"path_prefix": "/oauth2/token", "kind": "delay", "millis": 300}))
        .await;
    let calls = (0..8).map(|_| {
        let (w, alice) = (Arc::clone(&w), alice.clone());
        tokio::spawn(async move { w.spaces(&alice, "").await.status })
    });
    for status in futures::future::join_all(calls).await {
        assert_eq!(status.unwrap(), 200);
    }
    assert_eq!(w.exchanges("acme").await, 1);
}

#[tokio::test]
async fn users_of_two_sites_listing_at_once_each_see_only_their_own_spaces() {
    let w = Arc::new(World::launch(&[], false).await);
    // Slow exchanges, so every user's exchange and listing overlap with the others'.
    w.fault(json!({"path_prefix": "/oauth2/token", "kind": "delay", "millis": 200}))
        .await;
    let cases = [
        ("acme", "alice", "APRIV"),
        ("acme", "bob", "BPRIV"),
        ("globex", "alice", "GPRIV"),
        ("globex", "bob", ""),
    ];
    let calls = cases.iter().flat_map(|&(site, user, private)| {
        let w = Arc::clone(&w);
        (0..3).map(move |_| {
            let w = Arc::clone(&w);
            tokio::spawn(async move {
                let token = w.token(site, user).await;
                (
                    site,
                    user,
                    private,
                    keys(&w.spaces(&token, "?q=priv").await),
                )
            })
        })
    });
    for result in futures::future::join_all(calls.collect::<Vec<_>>()).await {
        let (site, user, private, seen) = result.unwrap();
        let expected: Vec<&str> = [private].into_iter().filter(|k| !k.is_empty()).collect();
        assert_eq!(seen, expected, "{user} on {site}");
    }
    // One exchange per (site, user), whatever the interleaving.
    assert_eq!(w.exchanges("acme").await, 2);
    assert_eq!(w.exchanges("globex").await, 2);
}

#[tokio::test]
async fn a_call_cancelled_during_its_token_exchange_leaves_no_one_waiting() {
    let w = World::launch(&[], false).await;
    let key = w.client_key("acme").await;
    let tenant = w.app.state.verifier.installed_tenant(&key).await.unwrap();
    let access = ProductAccess::Connect {
        tenant: Arc::new(tenant),
        account_id: Some(ALICE.to_owned()),
    };
    let outbound = &w.app.state.outbound;
    w.fault(json!({"path_prefix": "/oauth2/token", "kind": "delay", "millis": 1500, "times": 1}))
        .await;
    // Cancelled half-way: dropped while it holds the exchange of alice's token.
    let cancelled = tokio::time::timeout(
        Duration::from_millis(300),
        access.get_as_user(outbound, "/api/v2/spaces?limit=1"),
    )
    .await;
    assert!(
        cancelled.is_err(),
        "still waiting for the exchange when dropped"
    );
    // The next call is not stuck behind the abandoned exchange: it makes its own, at once.
    let started = std::time::Instant::now();
    let reply = access
        .get_as_user(outbound, "/api/v2/spaces?limit=1")
        .await
        .unwrap();
    assert_eq!(reply.status, 200);
    assert!(
        started.elapsed() < Duration::from_millis(1000),
        "{:?}",
        started.elapsed()
    );
    // The abandoned exchange was dropped with its connection before a token was issued.
    assert_eq!(
        w.exchanges("acme").await,
        1,
        "one token issued, by the new exchange"
    );
}

#[tokio::test]
async fn with_the_authorization_server_down_waiting_callers_do_not_queue_up() {
    let w = Arc::new(World::launch(&[], false).await);
    let alice = w.token("acme", "alice").await;
    w.fault(json!({"path_prefix": "/oauth2/token", "kind": "status", "status": 503}))
        .await;
    let started = std::time::Instant::now();
    let calls = (0..4).map(|_| {
        let (w, alice) = (Arc::clone(&w), alice.clone());
        tokio::spawn(async move { w.spaces(&alice, "").await })
    });
    for reply in futures::future::join_all(calls).await {
        let reply = reply.unwrap();
        assert_eq!(
            (reply.status, reply.error()),
            (503, "confluence_unavailable".into())
        );
    }
    // Each waited at most its own budget (4 s), not the failed exchanges of those before it.
    assert!(
        started.elapsed() < Duration::from_secs(7),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn revoked_and_expired_user_tokens_are_exchanged_again() {
    let w = World::launch(&[], false).await;
    let alice = w.token("acme", "alice").await;
    assert_eq!(w.spaces(&alice, "").await.status, 200);
    let (_, revoked) = w
        .sim_call(
            "POST",
            "/api/oauth/revoke",
            Some(json!({"site": "acme", "user": "alice"})),
        )
        .await;
    assert_eq!(revoked["revoked"], 1);
    let again = w.spaces(&alice, "").await;
    assert_eq!(
        again.status, 200,
        "a 401 with a cached token exchanges once more: {}",
        again.body
    );
    assert_eq!(w.exchanges("acme").await, 2);

    // A 2 s token is used for about 1 s (refreshed at half its life when that is shorter than
    // the usual minute of margin), then exchanged again before Atlassian would refuse it.
    w.sim_call(
        "POST",
        "/api/config",
        Some(json!({"oauth_token_lifetime_secs": 2})),
    )
    .await;
    let bob = w.token("acme", "bob").await;
    assert_eq!(w.spaces(&bob, "").await.status, 200);
    assert_eq!(w.exchanges("acme").await, 3);
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(w.spaces(&bob, "").await.status, 200);
    assert_eq!(w.exchanges("acme").await, 4);
    let refused = w
        .received()
        .await
        .iter()
        .filter(|r| r["status"] == 401)
        .count();
    assert_eq!(refused, 1, "only the revoked token was ever refused");
}

#[tokio::test]
async fn rate_limits_are_waited_out_within_the_budget_and_beyond_it_the_page_is_told() {
    let w = World::launch(&[], false).await;
    let alice = w.token("acme", "alice").await;
    assert_eq!(w.spaces(&alice, "").await.status, 200);
    let spaces = "/sites/acme/wiki/api/v2/spaces";

    // Retry-After: 1 (seconds), twice: the call waits and succeeds.
    w.clear().await;
    w.fault(json!({"path_prefix": spaces, "kind": "status", "status": 429, "retry_after": "1", "times": 2})).await;
    let r = w.spaces(&alice, "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(w.received().await.len(), 3);

    // Retry-After as an HTTP date a second ahead: the same.
    w.clear().await;
    let soon = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(1));
    w.fault(json!({"path_prefix": spaces, "kind": "status", "status": 429, "retry_after": soon, "times": 1})).await;
    assert_eq!(w.spaces(&alice, "").await.status, 200);

    // Asked to wait longer than the cap: no waiting, the page hears "rate limited" at once.
    w.clear().await;
    w.fault(json!({"path_prefix": spaces, "kind": "status", "status": 429, "retry_after": "30"}))
        .await;
    let r = w.spaces(&alice, "").await;
    assert_eq!((r.status, r.error()), (429, "rate_limited".into()));
    assert_eq!(w.received().await.len(), 1, "one request, no retry");

    // 429 without Retry-After, for ever: a few backed-off retries, then the same answer.
    w.clear().await;
    w.fault(json!({"path_prefix": spaces, "kind": "status", "status": 429}))
        .await;
    let r = w.spaces(&alice, "").await;
    assert_eq!((r.status, r.error()), (429, "rate_limited".into()));
    assert_eq!(
        w.received().await.len(),
        4,
        "the first try and three retries"
    );

    // 503 for ever: confluence_unavailable.
    w.clear().await;
    w.fault(json!({"path_prefix": spaces, "kind": "status", "status": 503, "retry_after": "1"}))
        .await;
    let r = w.spaces(&alice, "").await;
    assert_eq!(
        (r.status, r.error()),
        (503, "confluence_unavailable".into())
    );

    // Slower than the whole budget: the user's request does not wait for it.
    w.clear().await;
    w.fault(json!({"path_prefix": spaces, "kind": "delay", "millis": 8000, "times": 1}))
        .await;
    let started = std::time::Instant::now();
    let r = w.spaces(&alice, "").await;
    assert_eq!(
        (r.status, r.error()),
        (503, "confluence_unavailable".into())
    );
    assert!(
        started.elapsed() < Duration::from_secs(7),
        "gave up within its budget"
    );
}

#[tokio::test]
async fn no_credential_follows_a_redirect_to_another_host() {
    let w = World::launch(&[], false).await;
    let alice = w.token("acme", "alice").await;
    assert_eq!(w.spaces(&alice, "").await.status, 200);
    w.clear().await;
    let elsewhere = format!(
        "http://localhost:{}/sites/acme/wiki/api/v2/spaces",
        w.port()
    );
    w.fault(
        json!({"path_prefix": "/sites/acme/wiki/api/v2/spaces", "kind": "redirect",
                   "status": 302, "location": elsewhere, "times": 1}),
    )
    .await;
    let r = w.spaces(&alice, "").await;
    assert_eq!(
        (r.status, r.error()),
        (503, "confluence_unavailable".into())
    );
    let received = w.received().await;
    assert_eq!(
        received.len(),
        1,
        "the redirect was not followed: {received:?}"
    );
    assert!(
        received
            .iter()
            .all(|r| r["host"] != format!("localhost:{}", w.port()))
    );
}

#[tokio::test]
async fn app_calls_are_signed_for_each_hop_and_stay_inside_the_tenant() {
    let w = World::launch(&[], false).await;
    let (_, site) = w.sim_call("GET", "/api/sites/acme", None).await;
    let tenant = w
        .app
        .state
        .verifier
        .installed_tenant(site["client_key"].as_str().unwrap())
        .await
        .unwrap();
    let access = ProductAccess::Connect {
        tenant: Arc::new(tenant),
        account_id: None,
    };
    let outbound = &w.app.state.outbound;
    let body =
        |r: server::outbound::send::Reply| -> Value { serde_json::from_slice(&r.body).unwrap() };

    // As the app: a JWT whose qsh the simulator checks with /wiki (here /sites/acme/wiki) removed.
    let page = body(
        access
            .get_as_app(outbound, "/api/v2/spaces?limit=5&keys=MKT&keys=ENG")
            .await
            .unwrap(),
    );
    let keys: Vec<_> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["key"].clone())
        .collect();
    assert_eq!(keys, [json!("ENG"), json!("MKT")]);

    // A same-host redirect to a path with another qsh: followed with a new JWT for that path
    // (the simulator refuses the old one there).
    w.clear().await;
    w.fault(
        json!({"path_prefix": "/sites/acme/wiki/api/v2/spaces", "kind": "redirect", "status": 307,
                   "location": "/sites/acme/wiki/alias/api/v2/spaces?limit=2", "times": 1}),
    )
    .await;
    let moved = body(access.get_as_app(outbound, "/api/v2/spaces").await.unwrap());
    assert_eq!(moved["results"].as_array().unwrap().len(), 2);
    let received = w.received().await;
    assert_eq!(received.len(), 2);
    assert_eq!(received[1]["path"], "/sites/acme/wiki/alias/api/v2/spaces");
    assert_eq!(received[1]["auth_scheme"], "JWT");
    assert_eq!(
        received[1]["status"], 200,
        "the second hop's own qsh was accepted"
    );

    // Out of the tenant: refused before anything is sent; cross-host redirects not followed.
    w.clear().await;
    let outside = access
        .get_as_app(outbound, "https://evil.example/wiki/api/v2/spaces")
        .await;
    assert_eq!(outside.unwrap_err().code(), "outside_tenant");
    let other_site = access
        .get_as_app(
            outbound,
            &format!("{}/sites/globex/wiki/api/v2/spaces", w.sim),
        )
        .await;
    assert_eq!(
        other_site.unwrap_err().code(),
        "outside_tenant",
        "another site on the same host"
    );
    assert!(w.received().await.is_empty());
    let elsewhere = format!(
        "http://localhost:{}/sites/acme/wiki/api/v2/spaces",
        w.port()
    );
    w.fault(
        json!({"path_prefix": "/sites/acme/wiki/api/v2/spaces", "kind": "redirect", "status": 302,
                   "location": elsewhere, "times": 1}),
    )
    .await;
    let refused = access.get_as_app(outbound, "/api/v2/spaces").await;
    assert_eq!(refused.unwrap_err().code(), "redirect_refused");
    assert_eq!(w.received().await.len(), 1);
}

#[tokio::test]
async fn saving_a_space_checks_it_as_the_user_and_keeps_its_name() {
    let w = World::launch(&[], false).await;
    let alice = w.token("acme", "alice").await;
    let mut prefs = default_prefs();

    prefs["default_space_key"] = json!("bpriv");
    let hidden = w.app.save_prefs(&alice, 0, &prefs).await;
    assert_eq!(hidden.status, 422, "{}", hidden.body);
    assert_eq!(
        hidden.json()["fields"],
        json!([{"field": "default_space_key", "code": "not_found"}])
    );

    prefs["default_space_key"] = json!("apriv");
    prefs["default_space_name"] = json!("Made Up");
    let saved = w.app.save_prefs(&alice, 0, &prefs).await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let view = saved.json();
    assert_eq!(view["preferences"]["default_space_key"], "APRIV");
    assert_eq!(
        view["preferences"]["default_space_name"], "Alice Private",
        "Confluence's name, not the client's"
    );

    // Confluence down: other fields still save; the unchanged key keeps its checked name, and a
    // new key is kept as typed, unchecked (no name), rather than losing the save.
    w.fault(json!({"path_prefix": "/sites/acme/wiki/api/", "kind": "status", "status": 503}))
        .await;
    prefs["items_per_page"] = json!(40);
    let r = w.app.save_prefs(&alice, 1, &prefs).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.json()["preferences"]["default_space_name"],
        "Alice Private"
    );
    prefs["default_space_key"] = json!("ENG");
    let r = w.app.save_prefs(&alice, 2, &prefs).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["preferences"]["default_space_key"], "ENG");
    assert!(r.json()["preferences"].get("default_space_name").is_none());
    let read = w.app.get_prefs(&alice).await.json();
    assert_eq!(read["preferences"]["items_per_page"], 40);
}

#[tokio::test]
async fn on_forge_spaces_are_read_with_the_user_token_at_the_fits_api_base() {
    let w = World::launch(&[], true).await;
    let (status, body) = w
        .sim_call("POST", "/api/sites/acme/forge/install", None)
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, fit) = w
        .sim_call(
            "POST",
            "/api/sites/acme/forge/fit",
            Some(json!({"user": "alice"})),
        )
        .await;
    assert_eq!(status, 200, "{fit}");
    let call = |user_token: Option<&str>| {
        let mut req = w.app.client.get(w.app.url("/api/spaces?q=priv")).header(
            "authorization",
            format!("Bearer {}", fit["token"].as_str().unwrap()),
        );
        if let Some(t) = user_token {
            req = req.header("x-forge-oauth-user", t);
        }
        async move { read(req.send().await.unwrap()).await }
    };
    w.clear().await;
    let r = call(fit["oauth_user"].as_str()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(keys(&r), ["APRIV"], "alice's view, through the gateway");
    let received = w.received().await;
    assert!(
        received[0]["path"]
            .as_str()
            .unwrap()
            .starts_with("/ex/confluence/")
    );
    assert_eq!(received[0]["auth_scheme"], "Bearer");
    assert_eq!(
        w.exchanges("acme").await,
        0,
        "no Connect token exchange for Forge"
    );

    // Without the user token Forge adds, the app cannot read Confluence for the user.
    let r = call(None).await;
    assert_eq!(
        (r.status, r.error()),
        (403, "forbidden".into()),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn a_tenant_without_oauth_client_cannot_act_as_the_user() {
    // The harness installs tenants itself, without oauthClientId: nothing is sent anywhere.
    let app = TestApp::start().await;
    let tenant = app.install("no-oauth").await;
    let token = TestApp::context_token(&tenant, Some(ALICE));
    let r = app.api("GET", "/api/spaces", Some(&token), None).await;
    assert_eq!(
        (r.status, r.error()),
        (403, "forbidden".into()),
        "{}",
        r.body
    );
}
