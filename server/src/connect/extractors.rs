//! The typed axum extractors, one per token kind: a handler's signature says which token it
//! accepts. Each reads the token only from its allowed place (`?jwt=` for pages, the
//! `Authorization: JWT` header otherwise), verifies it, and rejects with the route's error shape.

use std::borrow::Cow;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use secrecy::SecretString;
use serde::Deserialize;

use super::verifier::{AuthError, RequestTarget, Verified};
use crate::metrics::auth::TokenKind;
use crate::state::AppState;
use app::AppError;
use connect::{MAX_TOKEN_BYTES, UnverifiedToken, VerifyError};

/// A verified context token (or app session token) from `Authorization: JWT`: API routes.
pub struct ContextJwt(pub Verified);

/// A verified page-load token from `?jwt=`, bound to this exact request: page routes.
pub struct IframeJwt(pub Verified);

/// A verified HS256 host callback (`enabled`/`disabled`), bound to this request, with the
/// token's identity for the replay check.
pub struct HostCallbackJwt {
    pub verified: Verified,
    pub replay_key: [u8; 32],
}

/// A verified signed lifecycle callback (`installed`/`uninstalled`) with its validated body.
pub struct LifecycleJwt {
    pub token: UnverifiedToken,
    pub body: LifecycleBody,
    /// The body as received, minus `sharedSecret`.
    pub payload_without_secret: serde_json::Value,
}

/// The lifecycle callback body (the fields this app uses). `{:?}` never shows the shared secret.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleBody {
    pub key: String,
    pub client_key: String,
    #[serde(default)]
    pub shared_secret: Option<SecretString>,
    pub base_url: String,
    #[serde(default)]
    pub display_url: Option<String>,
    #[serde(default)]
    pub product_type: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub service_entitlement_number: Option<String>,
    #[serde(default)]
    pub oauth_client_id: Option<String>,
    #[serde(default)]
    pub installation_id: Option<String>,
    #[serde(default)]
    pub cloud_id: Option<String>,
    pub event_type: String,
}

/// Lifecycle bodies are small; anything bigger is not from Atlassian.
pub const MAX_LIFECYCLE_BODY: usize = 64 * 1024;

fn www_authenticate(state: &AppState) -> HeaderValue {
    HeaderValue::from_str(&format!("JWT realm=\"{}\"", state.config.app_key))
        .unwrap_or_else(|_| HeaderValue::from_static("JWT"))
}

/// The refusal's reason code (a fixed set: the metrics' `reason` label).
fn reason(error: &AuthError) -> &'static str {
    match error {
        AuthError::Token(e) => e.reason(),
        AuthError::StoreUnavailable => "store_unavailable",
        AuthError::KeyServiceBusy => "key_service_busy",
        AuthError::Internal => "internal",
    }
}

/// Logs and counts a refusal.
fn log_rejection(state: &AppState, kind: TokenKind, error: &AuthError) {
    state.metrics.auth.refused(kind, reason(error));
    let route_kind = kind.as_str();
    match error {
        AuthError::Token(e) => {
            tracing::info!(
                token_kind = route_kind,
                reason = e.reason(),
                "token rejected"
            )
        }
        AuthError::StoreUnavailable => {
            tracing::warn!(
                token_kind = route_kind,
                "token not checked: store unavailable"
            )
        }
        AuthError::KeyServiceBusy => {
            tracing::info!(
                token_kind = route_kind,
                "token not checked: install key fetches at their limit"
            )
        }
        AuthError::Internal => tracing::error!(token_kind = route_kind, "token check failed"),
    }
}

/// The JSON error answer for API and callback routes.
pub struct ApiRejection {
    error: AuthError,
    www_authenticate: HeaderValue,
}

impl ApiRejection {
    pub fn new(state: &AppState, kind: TokenKind, error: AuthError) -> Self {
        log_rejection(state, kind, &error);
        Self {
            error,
            www_authenticate: www_authenticate(state),
        }
    }
}

impl IntoResponse for ApiRejection {
    fn into_response(self) -> Response {
        let app_error = match self.error {
            AuthError::Token(VerifyError::Expired) => AppError::token_expired(),
            AuthError::Token(_) => AppError::invalid_token(),
            AuthError::StoreUnavailable => AppError::store_unavailable(),
            AuthError::KeyServiceBusy => AppError::key_service_busy(),
            AuthError::Internal => AppError::internal(),
        };
        let mut res = crate::http::errors::json_error(&app_error);
        if res.status() == StatusCode::UNAUTHORIZED {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, self.www_authenticate);
        }
        res
    }
}

/// The friendly HTML answer for page routes.
pub struct PageRejection {
    error: AuthError,
    www_authenticate: HeaderValue,
}

impl IntoResponse for PageRejection {
    fn into_response(self) -> Response {
        let (status, title, text) = match self.error {
            AuthError::Token(VerifyError::Expired) => (
                StatusCode::UNAUTHORIZED,
                "This link has expired",
                "Open this page again from Confluence: the link it was opened with is only valid for a few minutes.",
            ),
            AuthError::Token(_) => (
                StatusCode::UNAUTHORIZED,
                "Open this page from Confluence",
                "This page belongs to a Confluence app. Open it from Confluence (Apps menu, then “My preferences”), not from a bookmark or a copied link.",
            ),
            AuthError::StoreUnavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Temporarily unavailable",
                "The app cannot reach its data store right now. Try again in a moment.",
            ),
            AuthError::KeyServiceBusy => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Temporarily unavailable",
                "The app is busy right now. Try again in a moment.",
            ),
            AuthError::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The app could not open this page. Try again later.",
            ),
        };
        let mut res =
            (status, Html(crate::http::errors::message_page(title, text))).into_response();
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, self.www_authenticate);
        }
        res
    }
}

/// The token after `JWT ` in the single Authorization header.
fn header_token(headers: &HeaderMap) -> Result<&str, AuthError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return Err(VerifyError::Malformed("authorization header").into());
    };
    if value.len() > MAX_TOKEN_BYTES + 4 {
        return Err(VerifyError::TooLarge.into());
    }
    value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("JWT "))
        .ok_or_else(|| VerifyError::Malformed("authorization scheme").into())
}

/// The single `jwt` query parameter (raw query, form-decoded).
fn query_token(query: &str) -> Result<Cow<'_, str>, AuthError> {
    let mut tokens = connect::query_values(query, "jwt");
    match (tokens.next(), tokens.next()) {
        (Some(t), None) => Ok(t),
        _ => Err(VerifyError::Malformed("jwt parameter").into()),
    }
}

fn target(parts: &Parts) -> RequestTarget<'_> {
    RequestTarget {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
    }
}

impl FromRequestParts<AppState> for ContextJwt {
    type Rejection = ApiRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let reject = |e| ApiRejection::new(state, TokenKind::Context, e);
        let token = header_token(&parts.headers).map_err(reject)?;
        let verified = state.verifier.context(token).await.map_err(reject)?;
        state.metrics.auth.accepted(TokenKind::Context);
        Ok(Self(verified))
    }
}

impl FromRequestParts<AppState> for HostCallbackJwt {
    type Rejection = ApiRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let reject = |e| ApiRejection::new(state, TokenKind::HostCallback, e);
        let token = header_token(&parts.headers).map_err(reject)?;
        let (verified, replay_key) = state
            .verifier
            .host_callback(token, target(parts))
            .await
            .map_err(reject)?;
        state.metrics.auth.accepted(TokenKind::HostCallback);
        Ok(Self {
            verified,
            replay_key,
        })
    }
}

impl FromRequestParts<AppState> for IframeJwt {
    type Rejection = PageRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let reject = |error| {
            log_rejection(state, TokenKind::Iframe, &error);
            PageRejection {
                error,
                www_authenticate: www_authenticate(state),
            }
        };
        let token = query_token(parts.uri.query().unwrap_or("")).map_err(reject)?;
        let verified = state
            .verifier
            .iframe(&token, target(parts))
            .await
            .map_err(reject)?;
        state.metrics.auth.accepted(TokenKind::Iframe);
        Ok(Self(verified))
    }
}

/// Why a lifecycle callback was refused before or after its token was checked.
pub enum LifecycleRejection {
    Auth(ApiRejection),
    BadBody(&'static str),
    TooLarge,
}

impl IntoResponse for LifecycleRejection {
    fn into_response(self) -> Response {
        match self {
            Self::Auth(r) => r.into_response(),
            Self::BadBody(message) => crate::http::errors::json_error(&AppError::BadRequest {
                message: message.into(),
            }),
            Self::TooLarge => {
                crate::http::errors::json_error(&AppError::payload_too_large(MAX_LIFECYCLE_BODY))
            }
        }
    }
}

impl FromRequest<AppState> for LifecycleJwt {
    type Rejection = LifecycleRejection;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let reject =
            |e| LifecycleRejection::Auth(ApiRejection::new(state, TokenKind::Lifecycle, e));
        // The token must be present before the body is even read.
        let token = header_token(&parts.headers).map_err(reject)?.to_string();
        let bytes = axum::body::to_bytes(body, MAX_LIFECYCLE_BODY)
            .await
            .map_err(|_| LifecycleRejection::TooLarge)?;
        let raw: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|_| LifecycleRejection::BadBody("The body is not JSON."))?;
        let body: LifecycleBody = serde_json::from_value(raw.clone()).map_err(|_| {
            LifecycleRejection::BadBody("The body lacks required lifecycle fields.")
        })?;
        let verified = state
            .verifier
            .lifecycle(&token, target(&parts), &body.client_key)
            .await
            .map_err(reject)?;
        state.metrics.auth.accepted(TokenKind::Lifecycle);
        let mut payload_without_secret = raw;
        if let Some(obj) = payload_without_secret.as_object_mut() {
            obj.remove("sharedSecret");
        }
        Ok(Self {
            token: verified,
            body,
            payload_without_secret,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn a_lifecycle_body_never_prints_its_shared_secret() {
        let body: LifecycleBody = serde_json::from_value(serde_json::json!({
            "key": "com.example.app",
            "clientKey": "client-1",
            "sharedSecret": "s3cr3t-shared-value-0123456789",
            "baseUrl": "https://site.atlassian.net/wiki",
            "eventType": "installed",
        }))
        .unwrap();
        let secret = body.shared_secret.as_ref().map(ExposeSecret::expose_secret);
        assert_eq!(secret, Some("s3cr3t-shared-value-0123456789"));
        let printed = format!("{body:?} {body:#?}");
        assert!(!printed.contains("s3cr3t"), "{printed}");
        assert!(printed.contains("client-1") && printed.contains("REDACTED"));
    }
}
