//! Why a call to Atlassian did not give an answer, typed, each with a stable code for logs and
//! a mapping to what the browser is told. Never carries a token, a URL query or a body.

use std::time::Duration;

use app::AppError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    /// The target is not inside the tenant's base URL (or not https in production): refused
    /// before anything was sent.
    #[error("target outside the tenant")]
    OutsideTenant,
    /// The app cannot act this way for this caller (no `oauthClientId` from the install, no
    /// Forge user token, an anonymous user).
    #[error("not possible for this caller: {0}")]
    NotPossible(&'static str),
    /// Atlassian refused the credential (401), also after a fresh one was tried.
    #[error("credential refused")]
    Unauthorized,
    #[error("forbidden")]
    Forbidden,
    #[error("not found")]
    NotFound,
    /// 429 beyond the retries or the budget; `retry_after` as Atlassian stated it.
    #[error("rate limited")]
    RateLimited { retry_after: Option<Duration> },
    /// 5xx or no connection, beyond the retries or the budget.
    #[error("unavailable")]
    Unavailable,
    /// The budget ran out while waiting for an answer.
    #[error("timed out")]
    Timeout,
    /// A redirect left the tenant's base URL: not followed, no credential sent there.
    #[error("redirect refused")]
    RedirectRefused,
    #[error("response too large")]
    TooLarge,
    /// A 2xx whose body is not what the API documents.
    #[error("unexpected response")]
    BadResponse,
    /// Any other 4xx.
    #[error("rejected with {0}")]
    Rejected(u16),
}

impl OutboundError {
    /// The stable code (logs, tests).
    pub fn code(&self) -> &'static str {
        match self {
            Self::OutsideTenant => "outside_tenant",
            Self::NotPossible(_) => "not_possible",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::RateLimited { .. } => "rate_limited",
            Self::Unavailable => "unavailable",
            Self::Timeout => "timeout",
            Self::RedirectRefused => "redirect_refused",
            Self::TooLarge => "too_large",
            Self::BadResponse => "bad_response",
            Self::Rejected(_) => "rejected",
        }
    }

    /// What the browser is told when a server function needed this call.
    pub fn to_app_error(&self) -> AppError {
        match self {
            Self::RateLimited { .. } => AppError::confluence_rate_limited(),
            Self::Forbidden | Self::Unauthorized | Self::NotPossible(_) => AppError::forbidden(
                "Confluence did not let this app read it for you. Ask an admin to check the \
                 app's access.",
            ),
            Self::NotFound => AppError::NotFound {
                message: "Confluence has no such item.".into(),
            },
            _ => AppError::confluence_unavailable(),
        }
    }
}
