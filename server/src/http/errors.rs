//! Error answers: the JSON body `{"error": "<code>", "message": "..."}` (the same `AppError`
//! encoding server functions use) and the small HTML page shown when a page cannot open.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::db::DbError;
use app::AppError;

/// The answer to a store write that failed: 503 `store_unavailable` (not written), 503
/// `outcome_unknown` (may be written), or a logged 500. `what` names the write in the log.
pub fn store_failure(e: DbError, what: &'static str) -> Response {
    match e {
        DbError::Unavailable => json_error(&AppError::store_unavailable()),
        DbError::OutcomeUnknown => json_error(&AppError::outcome_unknown()),
        DbError::Failed(detail) => {
            tracing::error!(%detail, what, "store write failed");
            json_error(&AppError::internal())
        }
    }
}

pub fn json_error(error: &AppError) -> Response {
    let mut res = (error.status(), error.to_json()).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The message page's only style, inline; the CSP allows it by its hash (`http::csp`).
pub const MESSAGE_PAGE_STYLE: &str = r#"
:root { color-scheme: light dark; font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, sans-serif; }
body { margin: 0; padding: 24px; background: Canvas; color: CanvasText; }
main { max-width: 560px; border: 1px solid #8590a2; border-radius: 6px; padding: 16px 20px; }
h1 { font-size: 20px; margin: 0 0 8px; }
p { margin: 0; line-height: 1.5; }
"#;

/// A self-contained page (no scripts) for when the app cannot render: readable inside the
/// Confluence iframe, in light and dark mode.
pub fn message_page(title: &str, text: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><link rel="icon" href="data:,">
<style>{MESSAGE_PAGE_STYLE}</style></head>
<body><main role="alert"><h1>{title}</h1><p>{text}</p></main></body></html>"#,
        title = escape(title),
        text = escape(text)
    )
}
