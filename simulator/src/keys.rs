//! RSA signing key pairs (2048-bit, new on every start): the Connect install key with the
//! `GET /keys/{kid}` endpoint publishing it as PEM SubjectPublicKeyInfo, and the same type for
//! the Forge invocation-token keys (published as a JWK by `forge::keys`).
//! The private key is only ever used to sign; `Debug` shows the kid alone.

use crate::ids;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};
use std::fmt;

/// RSA modulus size of the install key.
pub const KEY_BITS: usize = 2048;

/// Why the key pair could not be created.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The OS random source failed.
    #[error("random source unavailable: {0}")]
    Random(getrandom::Error),
    /// RSA generation or PEM encoding failed.
    #[error("RSA key generation failed: {0}")]
    Rsa(String),
}

/// The key pair and the `kid` it is published under.
pub struct SigningKey {
    kid: String,
    private_pkcs8_pem: String,
    public_spki_pem: String,
    /// Big-endian modulus and exponent, without leading zeros (the JWK `n` and `e`).
    public_n: Box<[u8]>,
    public_e: Box<[u8]>,
}

impl SigningKey {
    /// Generates a fresh 2048-bit pair with a random UUID kid, the Connect install-key form
    /// (takes a moment).
    pub fn generate() -> Result<Self, KeyError> {
        Self::generate_with_kid(ids::random_uuid().map_err(KeyError::Random)?)
    }

    /// Generates a fresh 2048-bit pair published under `kid` (takes a moment).
    pub fn generate_with_kid(kid: String) -> Result<Self, KeyError> {
        let private = rsa::PrivateKey::new(&mut getrandom::SysRng, KEY_BITS)
            .map_err(|e| KeyError::Rsa(e.to_string()))?;
        let private_pkcs8_pem = private
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| KeyError::Rsa(e.to_string()))?
            .to_string();
        let public = private.to_public_key();
        let public_spki_pem = public
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| KeyError::Rsa(e.to_string()))?;
        Ok(Self {
            kid,
            private_pkcs8_pem,
            public_spki_pem,
            public_n: public.n_bytes(),
            public_e: public.e_bytes(),
        })
    }

    /// This key pair under another kid, for tests that need many keys quickly.
    #[cfg(test)]
    pub(crate) fn same_key_as(&self, kid: String) -> Self {
        Self {
            kid,
            private_pkcs8_pem: self.private_pkcs8_pem.clone(),
            public_spki_pem: self.public_spki_pem.clone(),
            public_n: self.public_n.clone(),
            public_e: self.public_e.clone(),
        }
    }

    /// The key id put in the header of every token this key signs.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// `-----BEGIN PUBLIC KEY-----` PEM.
    pub fn public_pem(&self) -> &str {
        &self.public_spki_pem
    }

    /// The public key as an RS256 signing JWK (RFC 7517/7518): `kty`, `kid`, `use`, `alg`, and
    /// `n`, `e` as unpadded base64url of the unsigned big-endian integers.
    pub fn public_jwk(&self) -> Value {
        json!({
            "kty": "RSA",
            "kid": self.kid,
            "use": "sig",
            "alg": "RS256",
            "n": URL_SAFE_NO_PAD.encode(&self.public_n),
            "e": URL_SAFE_NO_PAD.encode(&self.public_e),
        })
    }

    /// Signs `claims` as an RS256 token whose header carries this key's kid.
    pub fn sign_rs256<C: serde::Serialize>(
        &self,
        claims: &C,
    ) -> Result<String, connect::MintError> {
        connect::mint::rs256(claims, &self.kid, &self.private_pkcs8_pem)
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// `GET /keys/{kid}`: the public key for our kid, 404 for any other.
pub async fn serve_public_key(State(state): State<AppState>, Path(kid): Path<String>) -> Response {
    if kid != state.key.kid() {
        return (StatusCode::NOT_FOUND, "unknown kid\n").into_response();
    }
    (
        [(header::CONTENT_TYPE, "application/x-pem-file")],
        state.key.public_pem().to_owned(),
    )
        .into_response()
}
