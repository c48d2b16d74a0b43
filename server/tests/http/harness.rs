//! Self-checks of the test harness (so a green attack test means what it says).

use serde_json::json;

use crate::common::*;

#[test]
fn hand_rolled_hs256_matches_the_connect_crate() {
    let claims = json!({"iss": "a", "iat": 1, "exp": 2});
    let header = json!({"alg": "HS256", "typ": "JWT"});
    assert_eq!(
        sign_hs256_with_header(&header, &claims, b"secret"),
        sign_hs256(&claims, "secret")
    );
    // RFC 4231 test case 2 for HMAC-SHA-512.
    let mac = hmac_sha512(b"Jefe", b"what do ya want for nothing?");
    let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
    assert!(hex.starts_with("164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"));
}

#[test]
fn hand_rolled_rs256_verifies_with_the_published_key() {
    let claims = json!({"iss": "a", "iat": 1, "exp": 2});
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": LEGIT_KID});
    let key = connect::InstallPublicKey::from_pem(&legit_key().public_pem).unwrap();
    for token in [
        sign_rs256_with_header(&header, &claims, legit_key()),
        sign_rs256(&claims, LEGIT_KID, legit_key()),
    ] {
        let parsed = connect::UnverifiedToken::parse(&token).unwrap();
        assert_eq!(connect::verify_rs256(&parsed, &key), Ok(()));
    }
    let forged = sign_rs256_with_header(&header, &claims, attacker_key());
    let parsed = connect::UnverifiedToken::parse(&forged).unwrap();
    assert!(connect::verify_rs256(&parsed, &key).is_err());
}

#[test]
fn malleated_signature_decodes_to_the_same_bytes() {
    let token = sign_rs256(&json!({"iss": "a"}), LEGIT_KID, legit_key());
    let m = malleate_signature(&token);
    assert_ne!(m, token);
    assert_eq!(m.len(), token.len());
}

#[tokio::test]
async fn key_server_serves_counts_and_redirects() {
    let keys = KeyServer::start().await;
    keys.set_kid("r", KeyReply::Redirect("/elsewhere".into()));
    keys.set_kid("e", KeyReply::ServerError);
    let client = http_client();
    let get = |path: &str| client.get(format!("{}{path}", keys.origin)).send();
    let r = get(&format!("/keys/{LEGIT_KID}")).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), legit_key().public_pem);
    assert_eq!(get("/keys/unknown").await.unwrap().status(), 404);
    assert_eq!(get("/keys/e").await.unwrap().status(), 500);
    assert_eq!(get("/keys/r").await.unwrap().status(), 302);
    assert_eq!(keys.requests_for_kid(LEGIT_KID), 1);
    assert_eq!(keys.total_requests(), 4);
    assert_eq!(keys.requests_for_path("/elsewhere"), 0);
}
