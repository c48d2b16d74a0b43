//! Signature verification with the algorithm pinned by the caller: HS256 with a tenant's
//! shared secret, RS256 with an install public key. Never lets the header's `alg` choose a key
//! type, and compares MACs in constant time.

use crate::error::VerifyError;
use crate::kid::Kid;
use crate::token::UnverifiedToken;
use hmac::{Hmac, KeyInit, Mac};
use rsa::pkcs8::DecodePublicKey;
use rsa::traits::PublicKeyParts;
use sha2::Sha256;
use std::fmt;

/// Smallest accepted RSA modulus, in bits.
pub const MIN_RSA_BITS: u32 = 2048;

/// Checks an HS256 token against `secret` (the shared secret's UTF-8 bytes as-is).
/// `alg` must be exactly `HS256`; the MAC is compared in constant time.
pub fn verify_hs256(token: &UnverifiedToken, secret: &[u8]) -> Result<(), VerifyError> {
    if token.header().alg != "HS256" {
        return Err(VerifyError::UnsupportedAlgorithm);
    }
    if secret.is_empty() {
        return Err(VerifyError::EmptySecret);
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| VerifyError::EmptySecret)?;
    mac.update(token.signing_input().as_bytes());
    mac.verify_slice(token.signature())
        .map_err(|_| VerifyError::BadSignature)
}

/// An RSA public key (≥ 2048 bits) that verifies signed install/uninstall tokens.
#[derive(Clone)]
pub struct InstallPublicKey {
    key: rsa::PublicKey,
}

impl InstallPublicKey {
    /// Parses a PEM SubjectPublicKeyInfo (`-----BEGIN PUBLIC KEY-----`) holding an RSA key;
    /// other PEM types and keys under [`MIN_RSA_BITS`] are rejected.
    pub fn from_pem(pem: &str) -> Result<Self, VerifyError> {
        let key =
            rsa::PublicKey::from_public_key_pem(pem.trim()).map_err(|_| VerifyError::InvalidKey)?;
        if key.n().bit_width_vartime() < MIN_RSA_BITS {
            return Err(VerifyError::WeakKey);
        }
        Ok(Self { key })
    }

    /// The modulus length in bits.
    pub fn bits(&self) -> u32 {
        self.key.n().bit_width_vartime()
    }
}

impl fmt::Debug for InstallPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InstallPublicKey")
            .field("bits", &self.bits())
            .finish()
    }
}

/// Checks an RS256 token (RSASSA-PKCS1-v1_5 with SHA-256) against `key`. `alg` must be exactly
/// `RS256` and the header must carry a valid `kid` (the one `key` was fetched for).
pub fn verify_rs256(token: &UnverifiedToken, key: &InstallPublicKey) -> Result<(), VerifyError> {
    if token.header().alg != "RS256" {
        return Err(VerifyError::UnsupportedAlgorithm);
    }
    let kid = token
        .header()
        .kid
        .as_deref()
        .ok_or(VerifyError::MissingKid)?;
    Kid::parse(kid)?;
    key.key
        .pkcs1v15_verify::<Sha256>(token.signing_input().as_bytes(), token.signature())
        .map_err(|_| VerifyError::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mint;
    use crate::test_keys::{self, OTHER, PRIMARY};
    use crate::token::B64;
    use base64::Engine;
    use serde_json::{Value, json};

    const NOW: i64 = 1_700_000_000;
    const SECRET: &[u8] = b"shared-secret-of-tenant-a";

    fn claims() -> Value {
        json!({"iss": "client-1", "sub": "acc-1", "qsh": "context-qsh", "iat": NOW, "exp": NOW + 180})
    }

    fn parse(t: &str) -> UnverifiedToken {
        UnverifiedToken::parse(t).unwrap()
    }

    /// A token with an arbitrary header, HMAC-signed with `secret`.
    fn hs_with_header(header: &str, secret: &[u8]) -> String {
        let input = format!(
            "{}.{}",
            B64.encode(header.as_bytes()),
            B64.encode(claims().to_string().as_bytes())
        );
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
        mac.update(input.as_bytes());
        format!("{input}.{}", B64.encode(mac.finalize().into_bytes()))
    }

    fn replace_segment(token: &str, index: usize, new: &str) -> String {
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        parts[index] = new.to_owned();
        parts.join(".")
    }

    #[test]
    fn hs256_round_trip() {
        let t = mint::hs256(&claims(), SECRET).unwrap();
        assert_eq!(verify_hs256(&parse(&t), SECRET), Ok(()));
    }

    #[test]
    fn hs256_wrong_or_empty_secret() {
        let t = parse(&mint::hs256(&claims(), SECRET).unwrap());
        assert_eq!(
            verify_hs256(&t, b"other-secret"),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(verify_hs256(&t, b""), Err(VerifyError::EmptySecret));
        // A prefix of the right secret is a different key.
        assert_eq!(
            verify_hs256(&t, &SECRET[..5]),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn alg_none_and_other_algs_are_refused_even_when_the_mac_is_right() {
        for alg in [
            "none", "NONE", "None", "HS512", "HS384", "hs256", "RS256", "ES256", "",
        ] {
            let t = hs_with_header(&format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#), SECRET);
            assert_eq!(
                verify_hs256(&parse(&t), SECRET),
                Err(VerifyError::UnsupportedAlgorithm),
                "{alg}"
            );
        }
    }

    #[test]
    fn unsigned_tokens_cannot_even_be_parsed() {
        let t = mint::hs256(&claims(), SECRET).unwrap();
        let (input, _) = t.rsplit_once('.').unwrap();
        let none = format!(
            "{}.{}.",
            B64.encode(br#"{"alg":"none"}"#),
            input.split('.').nth(1).unwrap()
        );
        assert!(UnverifiedToken::parse(&none).is_err());
        assert!(UnverifiedToken::parse(input).is_err());
    }

    #[test]
    fn tampering_breaks_the_hs256_signature() {
        let t = mint::hs256(&claims(), SECRET).unwrap();
        // Payload: a different iss, same header and signature.
        let mut evil = claims();
        evil["iss"] = json!("client-2");
        let tampered = replace_segment(&t, 1, &B64.encode(evil.to_string().as_bytes()));
        assert_eq!(
            verify_hs256(&parse(&tampered), SECRET),
            Err(VerifyError::BadSignature)
        );
        // Header: same alg, extra member.
        let hdr = B64.encode(br#"{"alg":"HS256","typ":"JWT","x":1}"#);
        let tampered = replace_segment(&t, 0, &hdr);
        assert_eq!(
            verify_hs256(&parse(&tampered), SECRET),
            Err(VerifyError::BadSignature)
        );
        // Signature: one bit flipped, truncated, or extended.
        let mut sig = parse(&t).signature().to_vec();
        sig[0] ^= 1;
        let tampered = replace_segment(&t, 2, &B64.encode(&sig));
        assert_eq!(
            verify_hs256(&parse(&tampered), SECRET),
            Err(VerifyError::BadSignature)
        );
        let tampered = replace_segment(&t, 2, &B64.encode(&sig[..31]));
        assert_eq!(
            verify_hs256(&parse(&tampered), SECRET),
            Err(VerifyError::BadSignature)
        );
        sig[0] ^= 1;
        sig.push(0);
        let tampered = replace_segment(&t, 2, &B64.encode(&sig));
        assert_eq!(
            verify_hs256(&parse(&tampered), SECRET),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn rs256_round_trip() {
        let t = mint::rs256(&claims(), "kid-1", test_keys::private_pkcs8(PRIMARY)).unwrap();
        let key = InstallPublicKey::from_pem(test_keys::public_pem(PRIMARY)).unwrap();
        assert_eq!(key.bits(), 2048);
        let parsed = parse(&t);
        assert_eq!(parsed.header().kid.as_deref(), Some("kid-1"));
        assert_eq!(verify_rs256(&parsed, &key), Ok(()));
    }

    #[test]
    fn rs256_signed_by_another_key_fails() {
        let t = mint::rs256(&claims(), "kid-1", test_keys::private_pkcs8(OTHER)).unwrap();
        let key = InstallPublicKey::from_pem(test_keys::public_pem(PRIMARY)).unwrap();
        assert_eq!(
            verify_rs256(&parse(&t), &key),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn rs256_tampered_payload_fails() {
        let t = mint::rs256(&claims(), "kid-1", test_keys::private_pkcs8(PRIMARY)).unwrap();
        let mut evil = claims();
        evil["iss"] = json!("victim");
        let tampered = replace_segment(&t, 1, &B64.encode(evil.to_string().as_bytes()));
        let key = InstallPublicKey::from_pem(test_keys::public_pem(PRIMARY)).unwrap();
        assert_eq!(
            verify_rs256(&parse(&tampered), &key),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn rs256_requires_a_valid_kid() {
        let key = InstallPublicKey::from_pem(test_keys::public_pem(PRIMARY)).unwrap();
        let pem = test_keys::private_pkcs8(PRIMARY);
        let t = mint::rs256(&claims(), "../attacker/key", pem).unwrap();
        assert_eq!(verify_rs256(&parse(&t), &key), Err(VerifyError::InvalidKid));
        // No kid at all: re-sign a kid-less header with the right key.
        let input = format!(
            "{}.{}",
            B64.encode(br#"{"alg":"RS256","typ":"JWT"}"#),
            B64.encode(claims().to_string().as_bytes())
        );
        let sig = test_keys::private_key(PRIMARY)
            .pkcs1v15_sign::<Sha256>(input.as_bytes())
            .unwrap();
        let t = format!("{input}.{}", B64.encode(sig));
        assert_eq!(verify_rs256(&parse(&t), &key), Err(VerifyError::MissingKid));
    }

    #[test]
    fn alg_confusion_hs256_with_public_key_as_secret_is_refused() {
        let public_pem = test_keys::public_pem(PRIMARY);
        let header = r#"{"alg":"HS256","typ":"JWT","kid":"kid-1"}"#;
        let t = hs_with_header(header, public_pem.as_bytes());
        let key = InstallPublicKey::from_pem(public_pem).unwrap();
        assert_eq!(
            verify_rs256(&parse(&t), &key),
            Err(VerifyError::UnsupportedAlgorithm)
        );
    }

    #[test]
    fn rs256_token_is_refused_on_hs256_routes() {
        let t = mint::rs256(&claims(), "kid-1", test_keys::private_pkcs8(PRIMARY)).unwrap();
        assert_eq!(
            verify_hs256(&parse(&t), SECRET),
            Err(VerifyError::UnsupportedAlgorithm)
        );
    }

    #[test]
    fn rs256_other_algs_refused() {
        let key = InstallPublicKey::from_pem(test_keys::public_pem(PRIMARY)).unwrap();
        for alg in ["none", "RS512", "PS256", "rs256"] {
            let t = hs_with_header(&format!(r#"{{"alg":"{alg}","kid":"k"}}"#), SECRET);
            assert_eq!(
                verify_rs256(&parse(&t), &key),
                Err(VerifyError::UnsupportedAlgorithm)
            );
        }
    }

    #[test]
    fn weak_and_invalid_public_keys_are_rejected() {
        assert_eq!(
            InstallPublicKey::from_pem(test_keys::weak_public_pem()).unwrap_err(),
            VerifyError::WeakKey
        );
        assert_eq!(
            InstallPublicKey::from_pem("not a key").unwrap_err(),
            VerifyError::InvalidKey
        );
        assert_eq!(
            InstallPublicKey::from_pem("").unwrap_err(),
            VerifyError::InvalidKey
        );
        // A private key PEM, or the PKCS#1 "RSA PUBLIC KEY" form, is not an SPKI.
        assert_eq!(
            InstallPublicKey::from_pem(test_keys::private_pkcs8(PRIMARY)).unwrap_err(),
            VerifyError::InvalidKey
        );
        assert_eq!(
            InstallPublicKey::from_pem(&test_keys::public_pkcs1_pem(PRIMARY)).unwrap_err(),
            VerifyError::InvalidKey
        );
        // Surrounding whitespace, as an HTTP body may have, is fine.
        let padded = format!("\n{}\n\n", test_keys::public_pem(PRIMARY));
        assert!(InstallPublicKey::from_pem(&padded).is_ok());
    }

    #[test]
    fn debug_shows_only_the_key_size() {
        let key = InstallPublicKey::from_pem(test_keys::public_pem(PRIMARY)).unwrap();
        assert_eq!(format!("{key:?}"), "InstallPublicKey { bits: 2048 }");
    }
}
