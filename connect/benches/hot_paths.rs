//! Criterion microbenchmarks of the Connect hot paths (pure code, no I/O):
//! verifying a context token as the API does before touching the database result (strict parse,
//! HS256 with the tenant secret, times, `qsh`), computing the `qsh` of a page-load request, and
//! minting the page's session token.
//!
//! `cargo bench -p connect --bench hot_paths` (results: docs/BENCHMARKS.md)

use std::hint::black_box;

use connect::{CONTEXT_QSH, UnverifiedToken, query_string_hash, verify_hs256};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;

const NOW: i64 = 1_795_864_800;
const SECRET: &[u8] = b"q0zKjJ7mXb4m3lU8nP2sV9wY1cE6hT5rA0dF7gH3kL4";

/// A context token as `AP.context.getToken()` gives it.
fn context_token() -> String {
    connect::mint::hs256(
        &json!({
            "iss": "bench-client-0b7c2f1e-5d1a-4c4e-9c53-2f1d7e0a9b11",
            "sub": "557058:0b7c2f1e-5d1a-4c4e-9c53-2f1d7e0a9b11",
            "qsh": CONTEXT_QSH,
            "iat": NOW,
            "exp": NOW + 900,
            "context": {"license": "none"}
        }),
        SECRET,
    )
    .expect("mint a context token")
}

/// The pure part of `Verifier::context`: what runs besides the tenant lookup.
fn verify_context(token: &str) -> bool {
    let Ok(parsed) = UnverifiedToken::parse(token) else {
        return false;
    };
    parsed.header().alg == "HS256"
        && verify_hs256(&parsed, SECRET).is_ok()
        && parsed.claims().check_times(NOW + 10, 30).is_ok()
        && parsed.claims().check_qsh(CONTEXT_QSH).is_ok()
        && parsed.claims().kind.is_none()
}

fn tokens(c: &mut Criterion) {
    let token = context_token();
    assert!(verify_context(&token), "the benchmark token must verify");
    c.bench_function("context_token/parse", |b| {
        b.iter(|| UnverifiedToken::parse(black_box(&token)).is_ok())
    });
    c.bench_function("context_token/verify", |b| {
        b.iter(|| verify_context(black_box(&token)))
    });
    let claims = json!({
        "iss": "bench-client-0b7c2f1e-5d1a-4c4e-9c53-2f1d7e0a9b11",
        "sub": "557058:0b7c2f1e-5d1a-4c4e-9c53-2f1d7e0a9b11",
        "qsh": CONTEXT_QSH, "iat": NOW, "exp": NOW + 900, "kind": connect::SESSION_KIND
    });
    c.bench_function("session_token/mint", |b| {
        b.iter(|| connect::mint::hs256(black_box(&claims), SECRET).is_ok())
    });
}

fn qsh(c: &mut Criterion) {
    let token = context_token();
    // What Confluence appends to a general page's iframe URL, plus the page-load token.
    let query = format!(
        "xdm_e=https%3A%2F%2Fbench-tenant.invalid&xdm_c=channel-bench__preferences&cp=%2Fwiki\
         &xdm_deprecated_addon_key_do_not_use=com.example.confluence-preferences&lic=none\
         &cv=1001.0.0-SNAPSHOT&loc=en-GB&jwt={token}"
    );
    c.bench_function("qsh/page_load", |b| {
        b.iter(|| query_string_hash("GET", black_box("/preferences"), black_box(&query), ""))
    });
    c.bench_function("qsh/lifecycle_post", |b| {
        b.iter(|| query_string_hash("POST", black_box("/connect/installed"), "", "/connect"))
    });
}

criterion_group!(benches, tokens, qsh);
criterion_main!(benches);
