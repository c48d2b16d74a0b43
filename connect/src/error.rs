//! Why a token was refused or could not be minted, as stable codes.
//! Never carries token text, claim values or key material: every message is a static string.

/// Why a Connect JWT was rejected.
///
/// Clients only ever see [`VerifyError::code`]; [`VerifyError::reason`] and `Display` are for
/// server logs and name the failed rule, never the data that failed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The token text is not a well-formed compact JWS (the detail names the broken part).
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// The token is longer than [`crate::token::MAX_TOKEN_BYTES`].
    #[error("token too large")]
    TooLarge,
    /// The header `alg` is not the one algorithm this route accepts.
    #[error("unsupported or unexpected algorithm")]
    UnsupportedAlgorithm,
    /// The header carries `crit`: we understand no JWS extension (RFC 7515 §4.1.11).
    #[error("critical header extension not understood")]
    CriticalHeader,
    /// An RS256 token without a header `kid`.
    #[error("missing kid")]
    MissingKid,
    /// A `kid` outside the allowed alphabet or with dot / empty segments.
    #[error("invalid kid")]
    InvalidKid,
    /// An empty shared secret was offered for verification.
    #[error("empty secret")]
    EmptySecret,
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// The public key PEM is not an RSA SubjectPublicKeyInfo.
    #[error("invalid public key")]
    InvalidKey,
    /// The RSA public key is shorter than 2048 bits.
    #[error("public key too weak")]
    WeakKey,
    /// `now > exp + leeway`.
    #[error("token expired")]
    Expired,
    /// `iat > now + leeway`.
    #[error("token issued in the future")]
    IssuedInFuture,
    /// `nbf > now + leeway`.
    #[error("token not yet valid")]
    NotYetValid,
    /// The time claims contradict each other (`exp < iat` or `exp <= nbf`).
    #[error("inconsistent time claims")]
    BadTimes,
    /// A required claim is absent (the detail names it).
    #[error("missing claim: {0}")]
    MissingClaim(&'static str),
    /// A claim has the wrong JSON type or an unusable value (the detail names it).
    #[error("invalid claim: {0}")]
    InvalidClaim(&'static str),
    /// The `qsh` claim does not match the request (or the route's fixed value).
    #[error("qsh mismatch")]
    QshMismatch,
    /// The `aud` claim is not the app's baseUrl.
    #[error("audience mismatch")]
    AudienceMismatch,
    /// The `iss` claim is not the expected client key.
    #[error("issuer mismatch")]
    IssuerMismatch,
}

impl VerifyError {
    /// The only two codes a client may see: `"token_expired"` for [`VerifyError::Expired`],
    /// `"invalid_token"` for everything else, so a response is no oracle for the failed rule.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Expired => "token_expired",
            _ => "invalid_token",
        }
    }

    /// A short, stable, secret-free reason for server logs.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed",
            Self::TooLarge => "too_large",
            Self::UnsupportedAlgorithm => "unsupported_alg",
            Self::CriticalHeader => "crit_header",
            Self::MissingKid => "missing_kid",
            Self::InvalidKid => "invalid_kid",
            Self::EmptySecret => "empty_secret",
            Self::BadSignature => "bad_signature",
            Self::InvalidKey => "invalid_key",
            Self::WeakKey => "weak_key",
            Self::Expired => "token_expired",
            Self::IssuedInFuture => "iat_in_future",
            Self::NotYetValid => "nbf_in_future",
            Self::BadTimes => "bad_times",
            Self::MissingClaim(_) => "missing_claim",
            Self::InvalidClaim(_) => "invalid_claim",
            Self::QshMismatch => "qsh_mismatch",
            Self::AudienceMismatch => "aud_mismatch",
            Self::IssuerMismatch => "iss_mismatch",
        }
    }
}

/// Why a token could not be minted. Carries no key material or claim values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MintError {
    /// An empty HMAC secret.
    #[error("empty secret")]
    EmptySecret,
    /// The private key PEM is neither PKCS#8 nor PKCS#1 RSA.
    #[error("invalid private key")]
    InvalidKey,
    /// The claims could not be serialised to JSON.
    #[error("claims not serialisable")]
    Serialize,
    /// The claims serialise to something other than a JSON object.
    #[error("claims are not a JSON object")]
    ClaimsNotObject,
    /// The minted token would exceed [`crate::token::MAX_TOKEN_BYTES`] and so never parse.
    #[error("token too large")]
    TooLarge,
    /// The RSA signing operation failed.
    #[error("signing failed")]
    Signing,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_expired_has_its_own_client_code() {
        assert_eq!(VerifyError::Expired.code(), "token_expired");
        for e in [
            VerifyError::Malformed("x"),
            VerifyError::BadSignature,
            VerifyError::QshMismatch,
            VerifyError::IssuedInFuture,
            VerifyError::NotYetValid,
            VerifyError::MissingClaim("exp"),
        ] {
            assert_eq!(e.code(), "invalid_token");
        }
    }

    #[test]
    fn reasons_are_stable_snake_case() {
        assert_eq!(VerifyError::BadSignature.reason(), "bad_signature");
        assert_eq!(VerifyError::QshMismatch.reason(), "qsh_mismatch");
        assert_eq!(VerifyError::Expired.reason(), "token_expired");
        assert_eq!(
            VerifyError::MissingClaim("exp").to_string(),
            "missing claim: exp"
        );
    }
}
