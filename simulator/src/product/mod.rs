//! The simulator playing the Confluence product for the app's outbound calls: the REST API
//! over per-site seed data (`spaces`), who may call it (`auth`: the app's Connect JWT or a
//! bearer token issued here), Atlassian's OAuth 2.0 JWT-bearer token endpoint (`oauth`),
//! injected failures (`faults`) and a log of what arrived (`received`). Never logs, records
//! or echoes a token.

pub mod auth;
pub mod faults;
pub mod oauth;
pub mod personal_data;
pub mod received;
pub mod spaces;

use crate::state::AppState;
use axum::Json;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};

/// The listing at a second path of the same site, for same-host redirect tests: the same
/// answer and auth, but its own `qsh` (`GET&/alias/api/v2/spaces&…`).
pub const ALIAS_SPACES_PATH: &str = "/sites/{site}/wiki/alias/api/v2/spaces";

/// The product's state: issued access tokens, fault rules, the received log.
#[derive(Debug)]
pub struct Product {
    /// Access tokens issued by `POST /oauth2/token`.
    pub tokens: oauth::IssuedTokens,
    /// Injected failures.
    pub faults: faults::Faults,
    /// What the product routes and the token endpoint received.
    pub received: received::ReceivedLog,
    /// The personal data reporting API: closed accounts, `Cycle-Period`, answered batches.
    pub personal_data: personal_data::PersonalData,
    oauth_token_lifetime_secs: AtomicU64,
}

impl Product {
    /// No tokens, no faults, an empty log.
    pub fn new(oauth_token_lifetime_secs: u64) -> Self {
        Self {
            tokens: oauth::IssuedTokens::default(),
            faults: faults::Faults::default(),
            received: received::ReceivedLog::default(),
            personal_data: personal_data::PersonalData::default(),
            oauth_token_lifetime_secs: AtomicU64::new(oauth_token_lifetime_secs),
        }
    }

    /// `expires_in` of access tokens issued from now on.
    pub fn oauth_token_lifetime_secs(&self) -> u64 {
        self.oauth_token_lifetime_secs.load(Ordering::Relaxed)
    }

    /// Changes the lifetime of access tokens issued from now on (validated by the caller).
    pub fn set_oauth_token_lifetime_secs(&self, secs: u64) {
        self.oauth_token_lifetime_secs
            .store(secs, Ordering::Relaxed);
    }
}

/// The product routes, the token endpoint and their controls under `/api`. [`guard`] must
/// wrap the whole router (it also sees paths no route serves).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sites/{site}/wiki/api/v2/spaces", get(spaces::list))
        .route(ALIAS_SPACES_PATH, get(spaces::list))
        .route(
            "/sites/{site}/wiki/api/v2/spaces/{id}",
            get(spaces::get_one),
        )
        .route(
            "/ex/confluence/{cloud_id}/wiki/api/v2/spaces",
            get(spaces::list),
        )
        .route(
            "/ex/confluence/{cloud_id}/wiki/api/v2/spaces/{id}",
            get(spaces::get_one),
        )
        .route(personal_data::REPORT_PATH, post(personal_data::report))
        .route(
            "/api/personal-data/closed",
            post(personal_data::mark_closed),
        )
        .route(
            "/api/personal-data/cycle-period",
            post(personal_data::set_cycle_period),
        )
        .route(
            "/api/personal-data/batches",
            get(personal_data::list_batches).delete(personal_data::clear_batches),
        )
        .route("/oauth2/token", post(oauth::token))
        .route("/api/oauth/revoke", post(oauth::revoke))
        .route(
            "/api/faults",
            get(faults::list).post(faults::add).delete(faults::clear),
        )
        .route("/api/received", get(received::list).delete(received::clear))
}

/// Whether `path` belongs to the product (faults apply, the request is logged): the token
/// endpoint, anything under a site's `/wiki/` except the host pages (`plugins/`), and
/// `/ex/` (the `api.atlassian.com` form).
pub fn is_product_path(path: &str) -> bool {
    if path.starts_with("/oauth2/") || path.starts_with("/ex/") {
        return true;
    }
    let Some(rest) = path.strip_prefix("/sites/") else {
        return false;
    };
    match rest.split_once('/') {
        Some((site, rest)) if !site.is_empty() => rest
            .strip_prefix("wiki/")
            .is_some_and(|rest| !rest.starts_with("plugins/")),
        _ => false,
    }
}

/// Middleware over every route: for product paths, applies the fault rules (before any auth)
/// and records the request and its final status; other paths pass untouched.
pub async fn guard(State(sim): State<AppState>, request: Request, next: Next) -> Response {
    if !is_product_path(request.uri().path()) {
        return next.run(request).await;
    }
    let seen = received::Seen::of(&request);
    let decision = sim.product.faults.apply(&seen.path, seen.host.as_deref());
    if !decision.delay.is_zero() {
        tokio::time::sleep(decision.delay).await;
    }
    let response = match decision.answer {
        Some(answer) => answer.into_response(),
        None => next.run(request).await,
    };
    sim.product
        .received
        .record(seen.finish(response.status(), decision.answered_by));
    response
}

/// An error as Confluence Cloud's v2 API writes it:
/// `{"errors": [{"status", "code", "title", "detail"}]}`.
pub fn atlassian_error(status: StatusCode, detail: impl Into<String>) -> Response {
    (status, Json(error_body(status, &detail.into()))).into_response()
}

fn error_body(status: StatusCode, detail: &str) -> Value {
    let title = status.canonical_reason().unwrap_or("Error");
    json!({"errors": [{
        "status": status.as_u16(),
        "code": title.to_ascii_uppercase().replace([' ', '-'], "_"),
        "title": title,
        "detail": detail,
    }]})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_paths() {
        for path in [
            "/oauth2/token",
            "/sites/acme/wiki/api/v2/spaces",
            "/sites/acme/wiki/alias/api/v2/spaces",
            "/sites/other/wiki/anything",
            "/ex/confluence/abc/wiki/api/v2/spaces",
        ] {
            assert!(is_product_path(path), "{path}");
        }
        for path in [
            "/",
            "/api/faults",
            "/api/sites/acme",
            "/sites/acme/wiki/plugins/servlet/ac/app/page",
            "/sites//wiki/api",
            "/sites/acme/wiki",
            "/oauth2",
            "/keys/x",
        ] {
            assert!(!is_product_path(path), "{path}");
        }
    }

    #[test]
    fn error_body_is_atlassian_shaped() {
        assert_eq!(
            error_body(StatusCode::TOO_MANY_REQUESTS, "slow down"),
            json!({"errors": [{"status": 429, "code": "TOO_MANY_REQUESTS",
                               "title": "Too Many Requests", "detail": "slow down"}]})
        );
        assert_eq!(
            error_body(StatusCode::UNAUTHORIZED, "x")["errors"][0]["code"],
            "UNAUTHORIZED"
        );
    }
}
