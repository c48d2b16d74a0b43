//! Verifies a Forge invocation token end to end: header (no fetch for a token that fails it),
//! key from the shared JWKS cache, then signature and claims (`connect::forge`). Returns typed
//! results; never logs a token.

use connect::forge::{FitError, FitPolicy, UnverifiedFit, VerifiedFit};

use super::jwks::{ForgeJwks, JwksError};

/// Why a FIT did not authenticate a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForgeAuthError {
    /// The token is not acceptable (401; `code()` is all a client sees).
    Token(FitError),
    /// Its `kid` is not in the JWKS (401 `invalid_token`).
    UnknownKid,
    /// Its `kid` is not cached and the JWKS cannot be read now (503, retry).
    KeysUnavailable,
}

impl ForgeAuthError {
    /// The JSON `error` code for the response.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Token(e) => e.code(),
            Self::UnknownKid => "invalid_token",
            Self::KeysUnavailable => "forge_keys_unavailable",
        }
    }

    /// A stable reason for logs, distinct per rule.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Token(e) => e.reason(),
            Self::UnknownKid => "unknown_kid",
            Self::KeysUnavailable => "forge_keys_unavailable",
        }
    }
}

pub struct ForgeVerifier {
    jwks: ForgeJwks,
    policy: FitPolicy,
}

impl ForgeVerifier {
    pub fn new(jwks: ForgeJwks, policy: FitPolicy) -> Self {
        Self { jwks, policy }
    }

    /// The token as a [`VerifiedFit`] at `now` (Unix seconds).
    pub async fn verify(&self, token: &str, now: i64) -> Result<VerifiedFit, ForgeAuthError> {
        let fit = UnverifiedFit::parse(token).map_err(ForgeAuthError::Token)?;
        let key = self.jwks.key(fit.kid()).await.map_err(|e| match e {
            JwksError::UnknownKid => ForgeAuthError::UnknownKid,
            JwksError::Unavailable => ForgeAuthError::KeysUnavailable,
        })?;
        fit.verify(&key, &self.policy, now)
            .map_err(ForgeAuthError::Token)
    }

    pub fn jwks(&self) -> &ForgeJwks {
        &self.jwks
    }
}
