//! The Forge invocation tokens our tests mint are standard JWTs (docs/AUTH-RULES.md §F5): the npm
//! `jose` package, which Atlassian's Node samples verify with, accepts a valid one against the
//! very JWKS document our `ForgeVerifier` reads, and refuses a tampered one, one for another app
//! and one signed with the wrong key, as our verifier does. Runs tools/forge/jose-verify.mjs.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use connect::forge::FitError;
use connect::{VerifyError, mint};
use serde_json::{Value, json};
use server::forge::verifier::ForgeAuthError;

use crate::common::*;
use crate::forge_jwks::{APP, NEW_KID, OLD_KID, fit, fit_claims, new_key, old_key, verifier};

const OTHER_APP: &str = "ari:cloud:ecosystem::app/00000000-0000-4000-8000-0000000000aa";

/// The JWKS Forge would publish after a rotation: both keys, each under its kid.
fn published_jwks() -> Value {
    json!({"keys": [old_key().jwk_with_kid(OLD_KID), new_key().jwk_with_kid(NEW_KID)]})
}

/// jose's verdict on each token: `jwtVerify(token, createLocalJWKSet(jwks), {issuer, audience:
/// APP, algorithms: ['RS256']})`.
fn jose_verify(jwks: &Value, tokens: &[&str]) -> Vec<Value> {
    let tools = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools");
    assert!(
        tools.join("node_modules/jose").is_dir(),
        "tools/node_modules/jose is missing: run scripts/setup.sh (npm ci in tools/)"
    );
    let mut child = Command::new("node")
        .arg(tools.join("forge/jose-verify.mjs"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node must be installed to run this test");
    let input = json!({"jwks": jwks, "audience": APP, "tokens": tokens});
    // Dropping stdin after the write closes it, so the script sees the end of its input.
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "jose-verify.mjs failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(results.len(), tokens.len());
    results
}

/// `token` with `change` applied to its claims, and the original signature kept.
fn tampered(token: &str, change: impl FnOnce(&mut Value)) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    change(&mut claims);
    format!("{}.{}.{}", parts[0], b64_json(&claims), parts[2])
}

#[tokio::test]
async fn forge_jose_accepts_the_fits_we_mint_and_so_do_we() {
    let claims = fit_claims();
    let token = mint::rs256(&claims, OLD_KID, &old_key().private_pkcs8).unwrap();
    let rotated = fit(NEW_KID, new_key());
    let jwks = published_jwks();

    let results = jose_verify(&jwks, &[&token, &rotated]);
    for result in &results {
        assert_eq!(result["verified"], true, "{result}");
        assert_eq!(result["header"]["alg"], "RS256");
        assert_eq!(result["payload"]["iss"], "forge/invocation-token");
        assert_eq!(result["payload"]["aud"], APP);
    }
    assert_eq!(results[0]["header"]["kid"], OLD_KID);
    assert_eq!(results[1]["header"]["kid"], NEW_KID);
    assert_eq!(
        results[0]["payload"], claims,
        "jose reads the claims we signed"
    );

    let server = JwksServer::start(JwksReply::Json(jwks)).await;
    let ours = verifier(&server.url());
    let fit = ours.verify(&token, now()).await.unwrap();
    assert_eq!(fit.app_id.as_str(), APP);
    assert_eq!(fit.principal.unwrap().as_str(), claims["principal"]);
    assert_eq!(fit.jti, claims["jti"]);
    ours.verify(&rotated, now()).await.unwrap();
}

#[tokio::test]
async fn forge_jose_refuses_tampered_foreign_and_wrongly_signed_fits_as_we_do() {
    let valid = fit(OLD_KID, old_key());
    let tampered = tampered(&valid, |c| c["principal"] = json!("557058:someone-else"));
    let mut foreign_claims = fit_claims();
    foreign_claims["aud"] = json!(OTHER_APP);
    foreign_claims["app"]["id"] = json!(OTHER_APP);
    let foreign = mint::rs256(&foreign_claims, OLD_KID, &old_key().private_pkcs8).unwrap();
    // Signed with the other published key, but naming the first one's kid.
    let wrong_key = fit(OLD_KID, new_key());
    let jwks = published_jwks();

    let results = jose_verify(&jwks, &[&tampered, &foreign, &wrong_key, &valid]);
    let verdict = |r: &Value| (r["verified"].clone(), r["code"].clone(), r["claim"].clone());
    assert_eq!(
        verdict(&results[0]),
        (
            json!(false),
            json!("ERR_JWS_SIGNATURE_VERIFICATION_FAILED"),
            Value::Null
        ),
        "{}",
        results[0]
    );
    assert_eq!(
        verdict(&results[1]),
        (
            json!(false),
            json!("ERR_JWT_CLAIM_VALIDATION_FAILED"),
            json!("aud")
        ),
        "{}",
        results[1]
    );
    assert_eq!(
        verdict(&results[2]),
        (
            json!(false),
            json!("ERR_JWS_SIGNATURE_VERIFICATION_FAILED"),
            Value::Null
        ),
        "{}",
        results[2]
    );

    let server = JwksServer::start(JwksReply::Json(jwks)).await;
    let ours = verifier(&server.url());
    let refusal = |e: FitError| Err(ForgeAuthError::Token(e));
    let check = |r: Result<_, ForgeAuthError>| r.map(|_| ());
    assert_eq!(
        check(ours.verify(&tampered, now()).await),
        refusal(FitError::Token(VerifyError::BadSignature))
    );
    assert_eq!(
        check(ours.verify(&foreign, now()).await),
        refusal(FitError::WrongAudience)
    );
    assert_eq!(
        check(ours.verify(&wrong_key, now()).await),
        refusal(FitError::Token(VerifyError::BadSignature))
    );
    // The untouched token passes both, so the refusals above are about the changes.
    assert_eq!(results[3]["verified"], true, "{}", results[3]);
    ours.verify(&valid, now()).await.unwrap();
}
