//! The Forge JWKS cache against a real JWKS server on loopback (docs/AUTH-RULES.md §F1.2,
//! issue 14): a rotation costs exactly one refetch, a flood of made-up kids at most one fetch per
//! cooldown, cached keys keep working while the JWKS is down and a new kid then gets the
//! distinct "unavailable" error, only RSA keys of 2048 bits or more are used, and oversized or
//! redirected documents are refused. The server counts every request.

use std::time::Duration;

use axum::http::StatusCode;
use connect::forge::{AppId, EnvironmentId, EnvironmentPolicy, FitError, FitPolicy};
use connect::{VerifyError, mint};
use futures::future::join_all;
use rsa::traits::PublicKeyParts;
use server::forge::jwks::{ForgeJwks, MAX_JWKS_BYTES};
use server::forge::verifier::{ForgeAuthError, ForgeVerifier};

use crate::common::*;

pub(crate) const APP: &str = "ari:cloud:ecosystem::app/d9e4002b-120b-426b-834b-402a4a5adce7";
const ENV: &str = "ari:cloud:ecosystem::environment/d9e4002b-120b-426b-834b-402a4a5adce7/1e468bcd-89ab-49f0-a648-14620b9cde00";
pub(crate) const OLD_KID: &str = "forge/invocation-token/wf-00000000-0000-4000-8000-000000000001";
pub(crate) const NEW_KID: &str = "forge/invocation-token/wf-00000000-0000-4000-8000-000000000002";
const COOLDOWN: Duration = Duration::from_millis(300);

/// Two Forge signing keys: the one published first and the one rotated in.
pub(crate) fn old_key() -> &'static KeyPair {
    legit_key()
}
pub(crate) fn new_key() -> &'static KeyPair {
    attacker_key()
}

pub(crate) fn fit_claims() -> serde_json::Value {
    let now = now();
    serde_json::json!({
        "iss": "forge/invocation-token", "aud": APP, "iat": now, "nbf": now, "exp": now + 25,
        "jti": unique("jti"), "principal": "557058:user-1",
        "app": {
            "id": APP,
            "installationId": "ari:cloud:ecosystem::installation/11ac20df-be56-457d-af77-b776285cb0f0",
            "apiBaseUrl": "https://api.atlassian.com/ex/confluence/866c3a03-ec62-4717-91c4-1ad078bfcc60",
            "environment": {"type": "DEVELOPMENT", "id": ENV}
        }
    })
}

pub(crate) fn fit(kid: &str, key: &KeyPair) -> String {
    mint::rs256(&fit_claims(), kid, &key.private_pkcs8).unwrap()
}

fn jwks(keys: &[(&str, &KeyPair)]) -> JwksReply {
    let keys: Vec<_> = keys
        .iter()
        .map(|(kid, key)| key.jwk_with_kid(kid))
        .collect();
    JwksReply::Json(serde_json::json!({ "keys": keys }))
}

pub(crate) fn verifier(url: &str) -> ForgeVerifier {
    let policy = FitPolicy::new(
        AppId::parse(APP).unwrap(),
        EnvironmentPolicy::Only(vec![EnvironmentId::parse(ENV).unwrap()]),
        30,
    );
    ForgeVerifier::new(ForgeJwks::new(url, COOLDOWN).unwrap(), policy)
}

async fn verify(v: &ForgeVerifier, token: &str) -> Result<(), ForgeAuthError> {
    v.verify(token, now()).await.map(|_| ())
}

#[tokio::test]
async fn forge_jwks_rotation_costs_exactly_one_refetch() {
    let server = JwksServer::start(jwks(&[(OLD_KID, old_key())])).await;
    let v = verifier(&server.url());
    for _ in 0..5 {
        verify(&v, &fit(OLD_KID, old_key())).await.unwrap();
    }
    assert_eq!(server.hits(), 1, "a known kid never fetches again");
    tokio::time::sleep(COOLDOWN).await;

    server.set(jwks(&[(OLD_KID, old_key()), (NEW_KID, new_key())]));
    let token = fit(NEW_KID, new_key());
    let results = join_all((0..20).map(|_| verify(&v, &token))).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(
        server.hits(),
        2,
        "twenty callers with the new kid share one refetch"
    );
    verify(&v, &fit(OLD_KID, old_key())).await.unwrap();
    assert_eq!(server.hits(), 2);
    assert_eq!(v.jwks().fetch_count(), 2);
}

#[tokio::test]
async fn forge_jwks_a_flood_of_bogus_kids_is_bounded_by_the_cooldown() {
    let server = JwksServer::start(jwks(&[(OLD_KID, old_key())])).await;
    let v = verifier(&server.url());
    let tokens: Vec<String> = (0..200)
        .map(|i| fit(&format!("bogus/{i}"), old_key()))
        .collect();
    let results = join_all(tokens.iter().map(|t| verify(&v, t))).await;
    assert!(
        results
            .iter()
            .all(|r| *r == Err(ForgeAuthError::UnknownKid))
    );
    assert_eq!(server.hits(), 1, "200 made-up kids at once: one fetch");
    let results = join_all(tokens.iter().map(|t| verify(&v, t))).await;
    assert!(
        results
            .iter()
            .all(|r| *r == Err(ForgeAuthError::UnknownKid))
    );
    assert_eq!(server.hits(), 1, "within the cooldown: none");
    tokio::time::sleep(COOLDOWN).await;
    let _ = join_all(tokens.iter().map(|t| verify(&v, t))).await;
    assert_eq!(server.hits(), 2, "after the cooldown: one more");
    // The real key still verifies without a fetch.
    verify(&v, &fit(OLD_KID, old_key())).await.unwrap();
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn forge_jwks_down_keeps_cached_keys_and_answers_unavailable_for_new_kids() {
    let server = JwksServer::start(jwks(&[(OLD_KID, old_key())])).await;
    let v = verifier(&server.url());
    verify(&v, &fit(OLD_KID, old_key())).await.unwrap();
    server.set(JwksReply::Status(StatusCode::SERVICE_UNAVAILABLE));
    tokio::time::sleep(COOLDOWN).await;

    verify(&v, &fit(OLD_KID, old_key())).await.unwrap();
    let new = fit(NEW_KID, new_key());
    let e = verify(&v, &new).await.unwrap_err();
    assert_eq!(e, ForgeAuthError::KeysUnavailable);
    assert_eq!(e.code(), "forge_keys_unavailable");
    assert_eq!(server.hits(), 2);
    // Within the cooldown the failure is remembered, not retried.
    assert_eq!(verify(&v, &new).await, Err(ForgeAuthError::KeysUnavailable));
    assert_eq!(server.hits(), 2);
    verify(&v, &fit(OLD_KID, old_key())).await.unwrap();

    // Back up, with the rotated key: the next attempt after the cooldown finds it.
    server.set(jwks(&[(OLD_KID, old_key()), (NEW_KID, new_key())]));
    tokio::time::sleep(COOLDOWN).await;
    verify(&v, &new).await.unwrap();
    assert_eq!(server.hits(), 3);

    // Nothing listening at all: unavailable, not invalid.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/jwks.json", l.local_addr().unwrap())
    };
    let v = verifier(&closed);
    assert_eq!(verify(&v, &new).await, Err(ForgeAuthError::KeysUnavailable));
}

#[tokio::test]
async fn forge_jwks_only_strong_rsa_signing_keys_are_used() {
    let weak = rsa::PrivateKey::new(&mut getrandom::SysRng, 1024).unwrap();
    let n = weak.to_public_key().n().to_be_bytes();
    let first = n.iter().position(|&b| b != 0).unwrap_or(0);
    let server = JwksServer::start(JwksReply::Json(serde_json::json!({"keys": [
        {"kty": "RSA", "kid": "weak", "e": "AQAB", "n": b64(&n[first..])},
        {"kty": "EC", "kid": "ec", "crv": "P-256", "x": b64([1u8; 32]), "y": b64([2u8; 32])},
        {"kty": "oct", "kid": "oct", "k": b64(b"0123456789abcdef0123456789abcdef")},
        {"kty": "RSA", "kid": "enc", "use": "enc", "e": "AQAB", "n": old_key().jwk()["n"]},
        old_key().jwk_with_kid(OLD_KID),
    ]})))
    .await;
    let v = verifier(&server.url());
    // Tokens that fail the header never cause a fetch: HS256 keyed with the `oct` key, ES256.
    let oct = sign_hs256_with_header(
        &serde_json::json!({"alg": "HS256", "kid": "oct"}),
        &fit_claims(),
        b"0123456789abcdef0123456789abcdef",
    );
    assert_eq!(
        verify(&v, &oct).await,
        Err(ForgeAuthError::Token(FitError::Token(
            VerifyError::UnsupportedAlgorithm
        )))
    );
    let es = sign_rs256_with_header(
        &serde_json::json!({"alg": "ES256", "kid": "ec"}),
        &fit_claims(),
        old_key(),
    );
    assert_eq!(
        verify(&v, &es).await,
        Err(ForgeAuthError::Token(FitError::Token(
            VerifyError::UnsupportedAlgorithm
        )))
    );
    assert_eq!(server.hits(), 0, "the header is checked before any fetch");

    verify(&v, &fit(OLD_KID, old_key())).await.unwrap();
    for kid in ["weak", "ec", "oct", "enc"] {
        assert_eq!(
            verify(&v, &fit(kid, old_key())).await,
            Err(ForgeAuthError::UnknownKid),
            "{kid}"
        );
    }
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn forge_jwks_oversized_redirected_or_empty_documents_are_refused() {
    let mut big = old_key().jwk_with_kid(OLD_KID);
    big["x-pad"] = serde_json::json!("x".repeat(MAX_JWKS_BYTES));
    let server = JwksServer::start(JwksReply::Json(serde_json::json!({"keys": [big]}))).await;
    let v = verifier(&server.url());
    let token = fit(OLD_KID, old_key());
    assert_eq!(
        verify(&v, &token).await,
        Err(ForgeAuthError::KeysUnavailable)
    );

    let server = JwksServer::start(JwksReply::Redirect("/elsewhere.json".into())).await;
    let v = verifier(&server.url());
    assert_eq!(
        verify(&v, &fit("redirected", old_key())).await,
        Err(ForgeAuthError::KeysUnavailable)
    );
    assert_eq!(
        server.requests(),
        ["/jwks.json"],
        "the redirect is not followed"
    );

    // A document without one usable key is a failed fetch: cached keys stay.
    let server = JwksServer::start(jwks(&[(OLD_KID, old_key())])).await;
    let v = verifier(&server.url());
    verify(&v, &token).await.unwrap();
    for reply in [
        JwksReply::Json(serde_json::json!({"keys": []})),
        JwksReply::Raw("<html>maintenance</html>".into()),
    ] {
        server.set(reply);
        tokio::time::sleep(COOLDOWN).await;
        assert_eq!(
            verify(&v, &fit(NEW_KID, new_key())).await,
            Err(ForgeAuthError::KeysUnavailable)
        );
        verify(&v, &token).await.unwrap();
    }
}
