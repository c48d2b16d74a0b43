//! `AppError`: the one error type of every server function, shared by server and browser.
//! On the wire it is `{"error": "<code>", "message": "...", ...}`, the same JSON the server's
//! authentication layer sends, so the browser decodes a 401 into a typed variant.
//! It must never carry a token, a secret or database text.

use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

use crate::preferences::{FieldError, PreferencesView};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "error", rename_all = "snake_case", try_from = "ErrorBody")]
pub enum AppError {
    /// 401: the token was valid once but has expired; the client refreshes and retries.
    #[error("{message}")]
    TokenExpired { message: String },
    /// 401: missing, malformed, forged, or of the wrong kind. Deliberately no more detail.
    #[error("{message}")]
    InvalidToken { message: String },
    /// 403: authenticated, but not allowed (an anonymous user saving).
    #[error("{message}")]
    Forbidden { message: String },
    /// 400: the request could not be read (wrong types, malformed JSON).
    #[error("{message}")]
    BadRequest { message: String },
    /// 404: no such API endpoint.
    #[error("{message}")]
    NotFound { message: String },
    /// 405: the endpoint exists for another method.
    #[error("{message}")]
    MethodNotAllowed { message: String },
    /// 409: someone saved since the revision this edit started from; `current` is their copy.
    #[error("{message}")]
    VersionConflict {
        message: String,
        current: Box<PreferencesView>,
    },
    /// 413: the body is over the API limit.
    #[error("{message}")]
    PayloadTooLarge { message: String },
    /// 422: well-formed but invalid values, one entry per offending field.
    #[error("{message}")]
    ValidationFailed {
        message: String,
        fields: Vec<FieldError>,
    },
    /// 503: the store did not answer in time; nothing was written.
    #[error("{message}")]
    StoreUnavailable { message: String },
    /// 503: a save was written to the store but its result did not come back in time: it may
    /// or may not have been saved. The client reloads the stored copy before editing again.
    #[error("{message}")]
    OutcomeUnknown { message: String },
    /// 503: a signed install's key could not be fetched now (too many fetches in flight);
    /// nothing was written.
    #[error("{message}")]
    KeyServiceBusy { message: String },
    /// 429: Confluence is rate-limiting this app; nothing that needed it was done.
    #[error("{message}")]
    RateLimited { message: String },
    /// 503: Confluence did not answer (down, slow, or redirected elsewhere).
    #[error("{message}")]
    ConfluenceUnavailable { message: String },
    /// 500: a bug on our side. The message is generic on purpose.
    #[error("{message}")]
    Internal { message: String },
    /// Client side only: the request never got a readable answer (network down, server gone).
    #[error("{message}")]
    Transport { message: String },
    /// Client side only: the page was opened outside Confluence (neither Connect's `AP` and
    /// token nor the Forge bridge is there), so no call can be authenticated and none was sent.
    #[error("{message}")]
    NoHost { message: String },
}

/// How an `AppError` is read back: the same JSON, as one flat object. serde's own reading of an
/// internally tagged enum first buffers the whole body in a generic `Content` tree and then reads
/// every variant from that, machinery the browser's wasm would carry for nothing (its weight:
/// docs/BENCHMARKS.md, "What the weight guard protects").
#[derive(Deserialize)]
struct ErrorBody {
    error: String,
    message: String,
    current: Option<Box<PreferencesView>>,
    fields: Option<Vec<FieldError>>,
}

impl TryFrom<ErrorBody> for AppError {
    type Error = String;

    fn try_from(body: ErrorBody) -> Result<Self, String> {
        let ErrorBody {
            error,
            message,
            current,
            fields,
        } = body;
        Ok(match error.as_str() {
            "token_expired" => Self::TokenExpired { message },
            "invalid_token" => Self::InvalidToken { message },
            // The server's other 403: a Forge token without a user on a per-user route.
            "forbidden" | "principal_required" => Self::Forbidden { message },
            "bad_request" => Self::BadRequest { message },
            "not_found" => Self::NotFound { message },
            "method_not_allowed" => Self::MethodNotAllowed { message },
            "version_conflict" => Self::VersionConflict {
                message,
                current: current.ok_or("missing field `current`")?,
            },
            "payload_too_large" => Self::PayloadTooLarge { message },
            "validation_failed" => Self::ValidationFailed {
                message,
                fields: fields.ok_or("missing field `fields`")?,
            },
            "store_unavailable" => Self::StoreUnavailable { message },
            "outcome_unknown" => Self::OutcomeUnknown { message },
            "key_service_busy" => Self::KeyServiceBusy { message },
            "rate_limited" => Self::RateLimited { message },
            "confluence_unavailable" => Self::ConfluenceUnavailable { message },
            "internal" => Self::Internal { message },
            "transport" => Self::Transport { message },
            "no_host" => Self::NoHost { message },
            other => return Err(format!("unknown error `{other}`")),
        })
    }
}

#[cfg(target_arch = "wasm32")]
impl crate::client::codec::FromJs for AppError {
    fn from_js(value: &wasm_bindgen::JsValue) -> Option<Self> {
        use crate::client::codec::{list, optional_field, string_field};
        ErrorBody {
            error: string_field(value, "error")?,
            message: string_field(value, "message")?,
            current: optional_field(value, "current", |v| {
                PreferencesView::from_js(v).map(Box::new)
            })?,
            fields: optional_field(value, "fields", |v| list(v, |f| FieldError::from_js(&f)))?,
        }
        .try_into()
        .ok()
    }
}

impl AppError {
    pub fn token_expired() -> Self {
        Self::TokenExpired {
            message: "The token has expired.".into(),
        }
    }
    pub fn invalid_token() -> Self {
        Self::InvalidToken {
            message: "The token is missing or not valid.".into(),
        }
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden {
            message: message.into(),
        }
    }
    /// The parser's own text is not passed on: it would describe our types to any caller.
    pub fn bad_body() -> Self {
        Self::BadRequest {
            message: "The request body is not valid for this endpoint.".into(),
        }
    }
    pub fn internal() -> Self {
        Self::Internal {
            message: "Something went wrong on our side.".into(),
        }
    }
    pub fn store_unavailable() -> Self {
        Self::StoreUnavailable {
            message: "The data store is not answering. Nothing was saved; try again shortly."
                .into(),
        }
    }
    pub fn outcome_unknown() -> Self {
        Self::OutcomeUnknown {
            message: "The data store did not confirm in time whether this change was saved. \
                      Reload the page before editing again."
                .into(),
        }
    }
    pub fn key_service_busy() -> Self {
        Self::KeyServiceBusy {
            message: "The install key service is busy. Nothing was changed; try again shortly."
                .into(),
        }
    }
    pub fn confluence_rate_limited() -> Self {
        Self::RateLimited {
            message: "Confluence is busy and asked this app to slow down. Try again in a moment."
                .into(),
        }
    }
    pub fn confluence_unavailable() -> Self {
        Self::ConfluenceUnavailable {
            message: "Confluence did not answer in time. Try again in a moment.".into(),
        }
    }
    pub fn payload_too_large(limit: usize) -> Self {
        Self::PayloadTooLarge {
            message: format!("The request body is larger than {limit} bytes."),
        }
    }
    pub fn validation(fields: Vec<FieldError>) -> Self {
        Self::ValidationFailed {
            message: "Some values are not valid.".into(),
            fields,
        }
    }
    pub fn conflict(current: PreferencesView) -> Self {
        Self::VersionConflict {
            message: "These preferences were changed elsewhere since you opened them.".into(),
            current: Box::new(current),
        }
    }

    /// The stable machine-readable code, identical to the JSON `error` field.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TokenExpired { .. } => "token_expired",
            Self::InvalidToken { .. } => "invalid_token",
            Self::Forbidden { .. } => "forbidden",
            Self::BadRequest { .. } => "bad_request",
            Self::NotFound { .. } => "not_found",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::VersionConflict { .. } => "version_conflict",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::ValidationFailed { .. } => "validation_failed",
            Self::StoreUnavailable { .. } => "store_unavailable",
            Self::OutcomeUnknown { .. } => "outcome_unknown",
            Self::KeyServiceBusy { .. } => "key_service_busy",
            Self::RateLimited { .. } => "rate_limited",
            Self::ConfluenceUnavailable { .. } => "confluence_unavailable",
            Self::Internal { .. } => "internal",
            Self::Transport { .. } => "transport",
            Self::NoHost { .. } => "no_host",
        }
    }

    /// The HTTP status the server answers with for this error.
    pub fn status(&self) -> http::StatusCode {
        use http::StatusCode as S;
        match self {
            Self::TokenExpired { .. } | Self::InvalidToken { .. } => S::UNAUTHORIZED,
            Self::Forbidden { .. } => S::FORBIDDEN,
            Self::BadRequest { .. } => S::BAD_REQUEST,
            Self::NotFound { .. } => S::NOT_FOUND,
            Self::MethodNotAllowed { .. } => S::METHOD_NOT_ALLOWED,
            Self::VersionConflict { .. } => S::CONFLICT,
            Self::PayloadTooLarge { .. } => S::PAYLOAD_TOO_LARGE,
            Self::ValidationFailed { .. } => S::UNPROCESSABLE_ENTITY,
            Self::StoreUnavailable { .. }
            | Self::OutcomeUnknown { .. }
            | Self::KeyServiceBusy { .. }
            | Self::ConfluenceUnavailable { .. } => S::SERVICE_UNAVAILABLE,
            Self::RateLimited { .. } => S::TOO_MANY_REQUESTS,
            Self::Internal { .. } | Self::Transport { .. } | Self::NoHost { .. } => {
                S::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// True for the two authentication failures after which a client may refresh its token.
    pub fn is_auth_failure(&self) -> bool {
        matches!(self, Self::TokenExpired { .. } | Self::InvalidToken { .. })
    }

    /// The JSON body for this error.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| {
            r#"{"error":"internal","message":"Something went wrong on our side."}"#.into()
        })
    }
}

impl FromServerFnError for AppError {
    // The same JSON as Leptos' `JsonEncoding`; the browser reads it with `JSON.parse`.
    type Encoder = crate::client::codec::JsJson;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // The server could not read the arguments: the client sent a bad request. (On the
            // server, a decoding failure can only be the request's; in the browser, the answer's.)
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => Self::bad_body(),
            #[cfg(feature = "ssr")]
            ServerFnErrorErr::Deserialization(_) => Self::bad_body(),
            #[cfg(not(feature = "ssr"))]
            ServerFnErrorErr::Deserialization(e) => Self::Transport { message: e },
            // The browser could not reach the server or read its answer.
            ServerFnErrorErr::Request(e)
            | ServerFnErrorErr::Serialization(e)
            | ServerFnErrorErr::UnsupportedRequestMethod(e) => Self::Transport { message: e },
            ServerFnErrorErr::Registration(_)
            | ServerFnErrorErr::ServerError(_)
            | ServerFnErrorErr::MiddlewareError(_)
            | ServerFnErrorErr::Response(_) => Self::internal(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_shape_is_error_and_message() {
        let json = AppError::token_expired().to_json();
        assert_eq!(
            json,
            r#"{"error":"token_expired","message":"The token has expired."}"#
        );
        let back: AppError = serde_json::from_str(&json).unwrap();
        assert_eq!(back, AppError::token_expired());
    }

    #[test]
    fn every_variant_reads_back_as_written() {
        let view = PreferencesView {
            preferences: crate::preferences::Preferences::default(),
            revision: 3,
            updated_at: Some(1_700_000_000),
            can_edit: true,
            site_url: "https://example.atlassian.net/wiki".into(),
        };
        let field = FieldError {
            field: "items_per_page".into(),
            code: crate::preferences::FieldErrorCode::OutOfRange,
        };
        let message = || "m".to_string();
        for e in [
            AppError::TokenExpired { message: message() },
            AppError::InvalidToken { message: message() },
            AppError::Forbidden { message: message() },
            AppError::BadRequest { message: message() },
            AppError::NotFound { message: message() },
            AppError::MethodNotAllowed { message: message() },
            AppError::conflict(view),
            AppError::PayloadTooLarge { message: message() },
            AppError::validation(vec![field]),
            AppError::StoreUnavailable { message: message() },
            AppError::OutcomeUnknown { message: message() },
            AppError::KeyServiceBusy { message: message() },
            AppError::confluence_rate_limited(),
            AppError::confluence_unavailable(),
            AppError::Internal { message: message() },
            AppError::Transport { message: message() },
            AppError::NoHost { message: message() },
        ] {
            let back: AppError = serde_json::from_str(&e.to_json()).unwrap();
            assert_eq!(back, e);
        }
        for bad in [
            r#"{"error":"version_conflict","message":"m"}"#,
            r#"{"error":"validation_failed","message":"m"}"#,
            r#"{"error":"no_such_error","message":"m"}"#,
            r#"{"error":"internal"}"#,
        ] {
            assert!(serde_json::from_str::<AppError>(bad).is_err(), "{bad}");
        }
        let forge_anonymous: AppError =
            serde_json::from_str(r#"{"error":"principal_required","message":"m"}"#).unwrap();
        assert_eq!(forge_anonymous, AppError::forbidden("m"));
    }

    #[test]
    fn code_matches_serialised_tag() {
        for e in [
            AppError::invalid_token(),
            AppError::forbidden("x"),
            AppError::internal(),
            AppError::store_unavailable(),
            AppError::outcome_unknown(),
            AppError::key_service_busy(),
            AppError::payload_too_large(10),
            AppError::validation(vec![]),
            AppError::confluence_rate_limited(),
            AppError::confluence_unavailable(),
        ] {
            let v: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap();
            assert_eq!(v["error"], e.code());
        }
    }

    #[test]
    fn argument_errors_are_client_errors() {
        let e = AppError::from_server_fn_error(ServerFnErrorErr::Args("x".into()));
        assert_eq!(e.status(), http::StatusCode::BAD_REQUEST);
    }
}
