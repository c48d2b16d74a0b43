//! Reading Forge's JWKS document into RSA verification keys. The JSON Web Key model is
//! `jsonwebtoken`'s (`jwk::Jwk`); which keys are trusted, and the RSA key itself, are ours:
//! only `kty: RSA` with `use` absent or `sig`, `alg` absent or `RS256`, a valid `kid` and at
//! least 2048 bits. Anything else is skipped, never fatal, so one odd key cannot hide the others.

use super::kid::FitKid;
use crate::error::VerifyError;
use crate::token::B64;
use crate::verify::MIN_RSA_BITS;
use base64::Engine;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, KeyAlgorithm, PublicKeyUse};
use rsa::BoxedUint;
use rsa::traits::PublicKeyParts;
use serde::Deserialize;
use serde_json::Value;
use sha2::Sha256;
use std::fmt;

/// Most keys read from one document (Forge publishes a few); the rest are skipped.
pub const MAX_JWKS_KEYS: usize = 64;

/// An RSA public key (≥ 2048 bits) that verifies Forge invocation tokens.
#[derive(Clone)]
pub struct ForgeKey {
    key: rsa::PublicKey,
}

impl ForgeKey {
    /// An RSA signing key from a JWK, or why it is not one we trust.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, SkippedKey> {
        let AlgorithmParameters::RSA(rsa_params) = &jwk.algorithm else {
            return Err(SkippedKey::NotRsa);
        };
        if !matches!(
            jwk.common.public_key_use,
            None | Some(PublicKeyUse::Signature)
        ) {
            return Err(SkippedKey::NotForSigning);
        }
        if !matches!(jwk.common.key_algorithm, None | Some(KeyAlgorithm::RS256)) {
            return Err(SkippedKey::NotRs256);
        }
        let decode = |s: &str| B64.decode(s).map_err(|_| SkippedKey::Invalid);
        let n = BoxedUint::from_be_slice_vartime(&decode(&rsa_params.n)?);
        let e = BoxedUint::from_be_slice_vartime(&decode(&rsa_params.e)?);
        // The size check comes first: rsa's own minimum is 1024 bits.
        if n.bit_width_vartime() < MIN_RSA_BITS {
            return Err(SkippedKey::TooWeak);
        }
        let key = rsa::PublicKey::new(n, e).map_err(|_| SkippedKey::Invalid)?;
        Ok(Self { key })
    }

    /// The modulus length in bits.
    pub fn bits(&self) -> u32 {
        self.key.n().bit_width_vartime()
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256 over `input`.
    pub(crate) fn verify(&self, input: &[u8], signature: &[u8]) -> Result<(), VerifyError> {
        self.key
            .pkcs1v15_verify::<Sha256>(input, signature)
            .map_err(|_| VerifyError::BadSignature)
    }
}

impl fmt::Debug for ForgeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ForgeKey")
            .field("bits", &self.bits())
            .finish()
    }
}

/// Why a JWK was left out of the key set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkippedKey {
    /// Not a JSON Web Key at all, or its `kid` is missing or not a valid FIT kid.
    Malformed,
    /// `kty` other than `RSA` (EC, OKP, oct, unknown).
    NotRsa,
    /// `use` other than `sig`.
    NotForSigning,
    /// `alg` other than `RS256`.
    NotRs256,
    /// Fewer than 2048 bits.
    TooWeak,
    /// `n`/`e` not canonical base64url, or not an RSA public key.
    Invalid,
    /// Its `kid` names more than one key: neither is used.
    DuplicateKid,
    /// Beyond [`MAX_JWKS_KEYS`].
    TooMany,
}

/// The usable keys of a JWKS document, and how many entries were skipped.
#[derive(Debug, Default)]
pub struct JwksKeys {
    pub keys: Vec<(FitKid, ForgeKey)>,
    pub skipped: Vec<SkippedKey>,
}

/// The document is not a JWKS at all (`{"keys": [...]}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a JWKS document")]
pub struct NotAJwks;

#[derive(Deserialize)]
struct Document {
    keys: Vec<Value>,
}

/// Reads a JWKS document. Each entry is judged on its own; the document fails only if it is
/// not a JSON object with a `keys` array.
pub fn parse_jwks(body: &[u8]) -> Result<JwksKeys, NotAJwks> {
    let doc: Document = serde_json::from_slice(body).map_err(|_| NotAJwks)?;
    let mut out = JwksKeys::default();
    for (i, entry) in doc.keys.into_iter().enumerate() {
        if i >= MAX_JWKS_KEYS {
            out.skipped.push(SkippedKey::TooMany);
            continue;
        }
        let Ok(jwk) = serde_json::from_value::<Jwk>(entry) else {
            out.skipped.push(SkippedKey::Malformed);
            continue;
        };
        let Some(kid) = jwk
            .common
            .key_id
            .as_deref()
            .and_then(|k| FitKid::parse(k).ok())
        else {
            out.skipped.push(SkippedKey::Malformed);
            continue;
        };
        match ForgeKey::from_jwk(&jwk) {
            Ok(key) => out.keys.push((kid, key)),
            Err(why) => out.skipped.push(why),
        }
    }
    // A kid that names two keys names none: keep neither rather than guess.
    let mut kids: Vec<&str> = out.keys.iter().map(|(k, _)| k.as_str()).collect();
    kids.sort_unstable();
    let dup: Vec<String> = kids
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| w[0].to_owned())
        .collect();
    if !dup.is_empty() {
        let before = out.keys.len();
        out.keys
            .retain(|(k, _)| !dup.iter().any(|d| d == k.as_str()));
        out.skipped.extend(std::iter::repeat_n(
            SkippedKey::DuplicateKid,
            before - out.keys.len(),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_keys::{self, PRIMARY};
    use rsa::pkcs8::DecodePublicKey;
    use serde_json::json;

    fn n_of(public: &rsa::PublicKey) -> String {
        let n = public.n().to_be_bytes();
        let first = n.iter().position(|&b| b != 0).unwrap_or(0);
        B64.encode(&n[first..])
    }

    fn rsa_jwk(kid: &str) -> Value {
        let public = test_keys::private_key(PRIMARY).to_public_key();
        json!({"kty": "RSA", "kid": kid, "e": "AQAB", "n": n_of(&public)})
    }

    fn with(kid: &str, key: &str, value: Value) -> Value {
        let mut jwk = rsa_jwk(kid);
        jwk[key] = value;
        jwk
    }

    fn parse(keys: Vec<Value>) -> JwksKeys {
        parse_jwks(json!({ "keys": keys }).to_string().as_bytes()).unwrap()
    }

    #[test]
    fn rsa_signing_keys_are_kept_with_or_without_use_and_alg() {
        let parsed = parse(vec![
            rsa_jwk("a"),
            with("b", "use", json!("sig")),
            with("c", "alg", json!("RS256")),
        ]);
        let kids: Vec<&str> = parsed.keys.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(kids, ["a", "b", "c"]);
        assert!(parsed.skipped.is_empty());
        assert!(parsed.keys.iter().all(|(_, k)| k.bits() == 2048));
    }

    #[test]
    fn every_other_key_is_skipped_without_hiding_the_good_one() {
        let weak = rsa::PublicKey::from_public_key_pem(test_keys::weak_public_pem()).unwrap();
        let mut short_key = rsa_jwk("weak");
        short_key["n"] = json!(n_of(&weak));
        let parsed = parse(vec![
            json!({"kty": "EC", "kid": "ec", "crv": "P-256", "x": "AA", "y": "AA"}),
            json!({"kty": "oct", "kid": "oct", "k": "c2VjcmV0"}),
            json!({"kty": "OKP", "kid": "okp", "crv": "Ed25519", "x": "AA"}),
            json!({"kty": "AKP", "kid": "pq", "alg": "ML-DSA-44", "pub": "AA"}),
            with("enc", "use", json!("enc")),
            with("rs512", "alg", json!("RS512")),
            with("oaep", "alg", json!("RSA-OAEP-256")),
            short_key,
            with(
                "padded",
                "n",
                json!(format!("{}=", rsa_jwk("x")["n"].as_str().unwrap())),
            ),
            json!({"kty": "RSA", "e": "AQAB", "n": rsa_jwk("x")["n"]}),
            with("bad kid", "use", json!("sig")),
            json!("not a key"),
            json!({"kty": "RSA", "kid": "typed", "use": 5, "e": "AQAB", "n": "AQAB"}),
            rsa_jwk("good"),
        ]);
        let kids: Vec<&str> = parsed.keys.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(kids, ["good"]);
        use SkippedKey::*;
        assert_eq!(
            parsed.skipped,
            [
                NotRsa,
                NotRsa,
                NotRsa,
                NotRsa,
                NotForSigning,
                NotRs256,
                NotRs256,
                TooWeak,
                Invalid,
                Malformed,
                Malformed,
                Malformed,
                Malformed
            ]
        );
    }

    #[test]
    fn a_kid_naming_two_keys_names_none() {
        let parsed = parse(vec![rsa_jwk("twice"), rsa_jwk("once"), rsa_jwk("twice")]);
        let kids: Vec<&str> = parsed.keys.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(kids, ["once"]);
        assert_eq!(parsed.skipped, [SkippedKey::DuplicateKid; 2]);
    }

    #[test]
    fn key_count_is_capped() {
        let many: Vec<Value> = (0..MAX_JWKS_KEYS + 3)
            .map(|i| rsa_jwk(&format!("k{i}")))
            .collect();
        let parsed = parse(many);
        assert_eq!(parsed.keys.len(), MAX_JWKS_KEYS);
        assert_eq!(parsed.skipped, [SkippedKey::TooMany; 3]);
    }

    #[test]
    fn only_a_keys_array_is_a_jwks() {
        for bad in ["", "[]", "{}", r#"{"keys": {}}"#, "null", "<html>"] {
            assert_eq!(parse_jwks(bad.as_bytes()).unwrap_err(), NotAJwks, "{bad}");
        }
        assert!(parse_jwks(br#"{"keys": []}"#).unwrap().keys.is_empty());
    }
}
