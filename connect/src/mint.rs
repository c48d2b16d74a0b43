//! Token minting: HS256 app session tokens (server) and HS256/RS256 host tokens (simulator,
//! tests). Signs whatever claims it is given, checking only that they form a JSON object; it
//! never validates them, so a simulator can mint the attack tokens the verifier must refuse.

use crate::error::MintError;
use crate::token::{B64, MAX_TOKEN_BYTES};
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey;
use serde::Serialize;
use sha2::Sha256;

/// The private `kind` claim of tokens the app mints for its own pages.
pub const SESSION_KIND: &str = "app-session";

/// Mints `{"alg":"HS256","typ":"JWT"}` over `claims`, keyed with `secret` as-is.
pub fn hs256<C: Serialize>(claims: &C, secret: &[u8]) -> Result<String, MintError> {
    if secret.is_empty() {
        return Err(MintError::EmptySecret);
    }
    let input = signing_input(r#"{"alg":"HS256","typ":"JWT"}"#, claims)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| MintError::EmptySecret)?;
    mac.update(input.as_bytes());
    finish(input, &mac.finalize().into_bytes())
}

/// Mints `{"alg":"RS256","typ":"JWT","kid":…}` over `claims` with an RSA private key in PKCS#8
/// (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`) PEM. `kid` is not validated here.
pub fn rs256<C: Serialize>(
    claims: &C,
    kid: &str,
    private_key_pem: &str,
) -> Result<String, MintError> {
    let pem = private_key_pem.trim();
    let key = rsa::PrivateKey::from_pkcs8_pem(pem)
        .or_else(|_| rsa::PrivateKey::from_pkcs1_pem(pem))
        .map_err(|_| MintError::InvalidKey)?;
    let kid = serde_json::to_string(kid).map_err(|_| MintError::Serialize)?;
    let input = signing_input(
        &format!(r#"{{"alg":"RS256","typ":"JWT","kid":{kid}}}"#),
        claims,
    )?;
    let signature = key
        .pkcs1v15_sign::<Sha256>(input.as_bytes())
        .map_err(|_| MintError::Signing)?;
    finish(input, &signature)
}

/// `header` is fixed JSON text (so its member order is exactly as documented).
fn signing_input<C: Serialize>(header: &str, claims: &C) -> Result<String, MintError> {
    let claims = serde_json::to_value(claims).map_err(|_| MintError::Serialize)?;
    if !claims.is_object() {
        return Err(MintError::ClaimsNotObject);
    }
    let payload = serde_json::to_vec(&claims).map_err(|_| MintError::Serialize)?;
    Ok(format!("{}.{}", B64.encode(header), B64.encode(payload)))
}

fn finish(input: String, signature: &[u8]) -> Result<String, MintError> {
    let token = format!("{input}.{}", B64.encode(signature));
    if token.len() > MAX_TOKEN_BYTES {
        return Err(MintError::TooLarge);
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::Claims;
    use crate::qsh::CONTEXT_QSH;
    use crate::test_keys::{self, PRIMARY};
    use crate::token::UnverifiedToken;
    use crate::verify::{InstallPublicKey, verify_hs256, verify_rs256};
    use serde_json::json;

    const NOW: i64 = 1_700_000_000;

    fn session_claims() -> Claims {
        Claims {
            iss: "client-1".into(),
            sub: Some("acc-1".into()),
            qsh: Some(CONTEXT_QSH.into()),
            iat: NOW,
            exp: NOW + 900,
            nbf: None,
            aud: Vec::new(),
            kind: Some(SESSION_KIND.into()),
            context: None,
        }
    }

    #[test]
    fn hs256_header_is_exactly_as_specified() {
        let t = hs256(&session_claims(), b"s3cret").unwrap();
        let header = B64.decode(t.split('.').next().unwrap()).unwrap();
        assert_eq!(header, br#"{"alg":"HS256","typ":"JWT"}"#);
    }

    #[test]
    fn session_token_round_trips_through_parse_and_verify() {
        let claims = session_claims();
        let t = UnverifiedToken::parse(&hs256(&claims, b"s3cret").unwrap()).unwrap();
        assert_eq!(verify_hs256(&t, b"s3cret"), Ok(()));
        assert_eq!(t.claims(), &claims);
        assert_eq!(t.claims().check_times(NOW, 30), Ok(()));
        assert_eq!(t.claims().check_qsh(CONTEXT_QSH), Ok(()));
    }

    #[test]
    fn hs256_refuses_empty_secret_and_non_object_claims() {
        assert_eq!(hs256(&session_claims(), b""), Err(MintError::EmptySecret));
        assert_eq!(hs256(&json!([1, 2]), b"k"), Err(MintError::ClaimsNotObject));
        assert_eq!(hs256(&"iss", b"k"), Err(MintError::ClaimsNotObject));
    }

    #[test]
    fn oversized_claims_are_refused_rather_than_minting_an_unparseable_token() {
        let big = json!({"iss": "c", "iat": NOW, "exp": NOW + 1, "pad": "x".repeat(8000)});
        assert_eq!(hs256(&big, b"k"), Err(MintError::TooLarge));
    }

    #[test]
    fn rs256_header_and_round_trip_with_pkcs8_and_pkcs1_keys() {
        let key = InstallPublicKey::from_pem(test_keys::public_pem(PRIMARY)).unwrap();
        let pkcs1 = test_keys::private_pkcs1(PRIMARY);
        for pem in [test_keys::private_pkcs8(PRIMARY), pkcs1.as_str()] {
            let t = rs256(
                &session_claims(),
                "0e50fccb-239d-4991-a5db-dc850ba3f236",
                pem,
            )
            .unwrap();
            let header = B64.decode(t.split('.').next().unwrap()).unwrap();
            let expected =
                r#"{"alg":"RS256","typ":"JWT","kid":"0e50fccb-239d-4991-a5db-dc850ba3f236"}"#;
            assert_eq!(header, expected.as_bytes());
            let parsed = UnverifiedToken::parse(&t).unwrap();
            assert_eq!(parsed.header().alg, "RS256");
            assert_eq!(parsed.header().typ.as_deref(), Some("JWT"));
            assert_eq!(verify_rs256(&parsed, &key), Ok(()));
        }
    }

    #[test]
    fn rs256_escapes_hostile_kids_into_valid_json() {
        // The simulator mints attack kids; they must still yield a well-formed header.
        let pem = test_keys::private_pkcs8(PRIMARY);
        for kid in [r#"a","alg":"none"#, "../x", "a\\b\n"] {
            let t = UnverifiedToken::parse(&rs256(&session_claims(), kid, pem).unwrap()).unwrap();
            assert_eq!(t.header().alg, "RS256");
            assert_eq!(t.header().kid.as_deref(), Some(kid));
        }
    }

    #[test]
    fn rs256_refuses_garbage_keys() {
        assert_eq!(
            rs256(&session_claims(), "k", "nope"),
            Err(MintError::InvalidKey)
        );
        assert_eq!(
            rs256(&session_claims(), "k", test_keys::public_pem(PRIMARY)),
            Err(MintError::InvalidKey)
        );
    }
}
