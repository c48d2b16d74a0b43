//! Why a Forge invocation token was refused, as stable codes. Like [`crate::VerifyError`], never
//! carries token text, claim values or key material.

use crate::error::VerifyError;

/// Why a Forge invocation token (FIT) was rejected.
///
/// Every variant has its own [`FitError::reason`] for logs; clients see only
/// [`FitError::code`], which tells expiry apart and nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FitError {
    /// A rule shared with Connect tokens failed: structure, algorithm, kid, signature, times,
    /// a missing or mistyped claim.
    #[error(transparent)]
    Token(#[from] VerifyError),
    /// `iss` is not `forge/invocation-token`.
    #[error("issuer is not the Forge invocation token service")]
    WrongIssuer,
    /// `aud` is not this app's id.
    #[error("audience is not this app")]
    WrongAudience,
    /// `app.id` differs from `aud`.
    #[error("app.id differs from aud")]
    AppIdMismatch,
    /// `exp - iat` is longer than the configured cap.
    #[error("token lives too long")]
    LifetimeTooLong,
    /// `app.environment.id` is not in the allow-list (or not an environment of this app).
    #[error("environment not allowed")]
    EnvironmentNotAllowed,
    /// The token carries `icLabel`: an Isolated Cloud install, which this app does not serve.
    #[error("isolated cloud installs are not served")]
    IsolatedCloud,
    /// `app.apiBaseUrl` does not start with the configured prefix.
    #[error("api base url not allowed")]
    ApiBaseUrlNotAllowed,
    /// The ids that name the site disagree (`app.installation.id` vs `app.installationId`, or
    /// two different `cloudId`s).
    #[error("inconsistent installation claims")]
    InconsistentInstallation,
}

impl FitError {
    /// `"token_expired"` for an expired token, `"invalid_token"` for everything else.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Token(e) => e.code(),
            _ => "invalid_token",
        }
    }

    /// A short, stable, secret-free reason for server logs; distinct per rule.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Token(e) => e.reason(),
            Self::WrongIssuer => "iss_mismatch",
            Self::WrongAudience => "aud_mismatch",
            Self::AppIdMismatch => "app_id_mismatch",
            Self::LifetimeTooLong => "lifetime_too_long",
            Self::EnvironmentNotAllowed => "environment_not_allowed",
            Self::IsolatedCloud => "isolated_cloud",
            Self::ApiBaseUrlNotAllowed => "api_base_url_not_allowed",
            Self::InconsistentInstallation => "inconsistent_installation",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_expiry_has_its_own_client_code_and_reasons_are_distinct() {
        let all = [
            FitError::Token(VerifyError::Expired),
            FitError::Token(VerifyError::BadSignature),
            FitError::WrongIssuer,
            FitError::WrongAudience,
            FitError::AppIdMismatch,
            FitError::LifetimeTooLong,
            FitError::EnvironmentNotAllowed,
            FitError::IsolatedCloud,
            FitError::ApiBaseUrlNotAllowed,
            FitError::InconsistentInstallation,
        ];
        assert_eq!(all[0].code(), "token_expired");
        assert!(all[1..].iter().all(|e| e.code() == "invalid_token"));
        let mut reasons: Vec<_> = all.iter().map(FitError::reason).collect();
        reasons.sort_unstable();
        reasons.dedup();
        assert_eq!(reasons.len(), all.len());
    }
}
