//! The Forge extractor: `Authorization: Bearer <FIT>` only (never a query parameter, never a
//! cookie), verified by [`super::Forge`]. Every FIT failure is 401 with a JSON body (Forge
//! reserves 401 for exactly this); a JWKS that cannot be read for a new key is 503
//! `forge_keys_unavailable`; a store that does not answer 503 `store_unavailable`. Logs carry
//! a reason, never a token.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::verifier::ForgeAuthError;
use super::{ForgeCaller, ForgeError};
use crate::db::DbError;
use crate::metrics::auth::TokenKind;
use crate::state::AppState;
use connect::MAX_TOKEN_BYTES;

/// A verified FIT (any caller: a UI module's user or a trigger): `/forge/*` routes.
pub struct ForgeFit(pub ForgeCaller);

/// Why a Forge call was refused.
#[derive(Debug)]
pub enum ForgeRejection {
    /// No single `Authorization: Bearer` header, or Forge is not configured here.
    NoToken,
    Refused(ForgeError),
    /// A per-user route called without `principal` (a trigger's token).
    NoPrincipal,
}

impl ForgeRejection {
    pub fn reason(&self) -> &'static str {
        match self {
            Self::NoToken => "no_bearer_token",
            Self::Refused(ForgeError::Auth(e)) => e.reason(),
            Self::Refused(ForgeError::Uninstalled) => "installation_uninstalled",
            Self::Refused(ForgeError::Store(_)) => "store",
            Self::NoPrincipal => "no_principal",
        }
    }

    /// Logs and counts the refusal (reason only) and returns it.
    pub fn logged(self, state: &AppState) -> Self {
        (state.metrics.auth).refused(TokenKind::Invocation, self.reason());
        match &self {
            Self::Refused(ForgeError::Store(DbError::Failed(detail))) => {
                tracing::error!(%detail, token_kind = "forge", "token check failed")
            }
            Self::Refused(ForgeError::Store(_))
            | Self::Refused(ForgeError::Auth(ForgeAuthError::KeysUnavailable)) => {
                tracing::warn!(
                    token_kind = "forge",
                    reason = self.reason(),
                    "token not checked"
                )
            }
            _ => tracing::info!(
                token_kind = "forge",
                reason = self.reason(),
                "token rejected"
            ),
        }
        self
    }
}

fn json(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({ "error": code, "message": message }).to_string();
    let mut res = (status, body).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    res
}

impl IntoResponse for ForgeRejection {
    fn into_response(self) -> Response {
        const INVALID: &str = "The Forge invocation token is missing or not valid.";
        match self {
            Self::NoToken
            | Self::Refused(ForgeError::Uninstalled)
            | Self::Refused(ForgeError::Auth(ForgeAuthError::UnknownKid)) => {
                json(StatusCode::UNAUTHORIZED, "invalid_token", INVALID)
            }
            Self::Refused(ForgeError::Auth(ForgeAuthError::Token(e))) => {
                json(StatusCode::UNAUTHORIZED, e.code(), INVALID)
            }
            Self::Refused(ForgeError::Auth(ForgeAuthError::KeysUnavailable)) => json(
                StatusCode::SERVICE_UNAVAILABLE,
                "forge_keys_unavailable",
                "Forge's signing keys cannot be read right now. Try again in a moment.",
            ),
            Self::Refused(ForgeError::Store(DbError::Failed(_))) => json(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Something went wrong on our side.",
            ),
            Self::Refused(ForgeError::Store(_)) => json(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                "The data store is unavailable. Try again in a moment.",
            ),
            Self::NoPrincipal => json(
                StatusCode::FORBIDDEN,
                "principal_required",
                "This endpoint acts for a user; the token names none.",
            ),
        }
    }
}

/// The token after `Bearer ` in the single Authorization header.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return None;
    };
    if value.len() > MAX_TOKEN_BYTES + 7 {
        return None;
    }
    value.to_str().ok()?.strip_prefix("Bearer ")
}

/// Verifies a FIT for `state` (401 when Forge is not configured: no Forge token is valid here).
pub async fn authenticate(state: &AppState, token: &str) -> Result<ForgeCaller, ForgeRejection> {
    let Some(forge) = &state.forge else {
        return Err(ForgeRejection::NoToken.logged(state));
    };
    forge
        .authenticate(token)
        .await
        .map_err(|e| ForgeRejection::Refused(e).logged(state))
}

impl FromRequestParts<AppState> for ForgeFit {
    type Rejection = ForgeRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token =
            bearer_token(&parts.headers).ok_or_else(|| ForgeRejection::NoToken.logged(state))?;
        Ok(Self(authenticate(state, token).await?))
    }
}
