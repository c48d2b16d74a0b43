//! The admin and test API under `/api` (JSON, no auth: the simulator only listens on
//! loopback). Lets tests install/uninstall sites, mint tokens and read counters. Never returns
//! a shared secret; unknown sites and users get 4xx JSON errors `{error, message}`.

use crate::config;
use crate::issue::{self, IssueError};
use crate::lifecycle::{self, LifecycleError};
use crate::sites::{self, Site, SiteSnapshot, User};
use crate::state::{AppState, Simulator};
use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

/// The `/api` routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/sites", get(list_sites))
        .route("/api/sites/{site}", get(get_site))
        .route("/api/sites/{site}/install", post(install))
        .route("/api/sites/{site}/uninstall", post(uninstall))
        .route("/api/sites/{site}/context-token", post(context_token))
        .route("/api/sites/{site}/iframe-url", get(iframe_url))
        .route("/api/stats", get(stats))
        .route("/api/config", get(get_config).post(set_config))
}

/// A JSON error response.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": self.code, "message": self.message});
        (self.status, Json(body)).into_response()
    }
}

impl From<IssueError> for ApiError {
    fn from(e: IssueError) -> Self {
        let (status, code) = match e {
            IssueError::NotInstalled(_) => (StatusCode::CONFLICT, "not_installed"),
            IssueError::UnknownModule(_) => (StatusCode::NOT_FOUND, "unknown_module"),
            IssueError::Token(_) => (StatusCode::INTERNAL_SERVER_ERROR, "mint_failed"),
        };
        Self::new(status, code, e.to_string())
    }
}

impl From<LifecycleError> for ApiError {
    fn from(e: LifecycleError) -> Self {
        let (status, code) = match e {
            LifecycleError::DescriptorUnavailable { .. } => {
                (StatusCode::BAD_GATEWAY, "descriptor_unavailable")
            }
            LifecycleError::DescriptorInvalid { .. } => {
                (StatusCode::BAD_GATEWAY, "descriptor_invalid")
            }
            LifecycleError::NotInstalled => (StatusCode::CONFLICT, "not_installed"),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "lifecycle_failed"),
        };
        Self::new(status, code, e.to_string())
    }
}

/// The site named `slug`, or a 404 naming the known ones.
pub fn find_site<'a>(sim: &'a Simulator, slug: &str) -> Result<&'a Site, ApiError> {
    sim.sites.get(slug).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_site",
            format!("no site {slug:?}; known sites: {}", sim.sites.slugs()),
        )
    })
}

/// The user named `slug`, or a 400 naming the known ones.
pub fn find_user(slug: &str) -> Result<&'static User, ApiError> {
    sites::user(slug).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "unknown_user",
            format!("no user {slug:?}; known users: {}", sites::user_slugs()),
        )
    })
}

/// A JSON body that may be empty (then `T::default()`); anything else is a 400 showing `example`.
pub(crate) fn optional_json<T: DeserializeOwned + Default>(
    body: &Bytes,
    example: &str,
) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("expected a JSON body like {example}: {e}"),
        )
    })
}

/// HTML forms on the index page post here too; send browsers back to the index.
pub(crate) fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

async fn list_sites(State(sim): State<AppState>) -> Json<Vec<SiteSnapshot>> {
    Json(sim.sites.iter().map(Site::snapshot).collect())
}

async fn get_site(
    State(sim): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Json<SiteSnapshot>, ApiError> {
    Ok(Json(find_site(&sim, &slug)?.snapshot()))
}

/// 200 when the app accepted `installed`, 502 when it refused or did not answer (the body
/// says which); 502 with `descriptor_*` when the descriptor could not be used.
async fn install(
    State(sim): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let site = find_site(&sim, &slug)?;
    let outcome = lifecycle::install(&sim, site).await;
    if wants_html(&headers) {
        return Ok(Redirect::to("/").into_response());
    }
    let outcome = outcome?;
    let status = if outcome.installed {
        StatusCode::OK
    } else {
        StatusCode::BAD_GATEWAY
    };
    Ok((status, Json(outcome)).into_response())
}

async fn uninstall(
    State(sim): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let site = find_site(&sim, &slug)?;
    let outcome = lifecycle::uninstall(&sim, site).await;
    if wants_html(&headers) {
        return Ok(Redirect::to("/").into_response());
    }
    Ok(Json(outcome?).into_response())
}

#[derive(Deserialize)]
struct ContextTokenRequest {
    user: String,
}

async fn context_token(
    State(sim): State<AppState>,
    Path(slug): Path<String>,
    body: Result<Json<ContextTokenRequest>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let site = find_site(&sim, &slug)?;
    let Json(request) = body.map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!(
                "expected a JSON body like {{\"user\": \"alice\"}}: {}",
                e.body_text()
            ),
        )
    })?;
    let user = find_user(&request.user)?;
    let minted = issue::context_token(&sim, site, user)?;
    Ok(Json(json!({"token": minted.token, "exp": minted.exp})))
}

#[derive(Deserialize)]
struct IframeQuery {
    user: Option<String>,
    module: Option<String>,
}

async fn iframe_url(
    State(sim): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query<IframeQuery>,
) -> Result<Json<Value>, ApiError> {
    let site = find_site(&sim, &slug)?;
    let user = find_user(query.user.as_deref().unwrap_or("alice"))?;
    let (minted, installation, page) =
        issue::iframe_url(&sim, site, user, query.module.as_deref())?;
    Ok(Json(json!({
        "url": minted.url,
        "exp": minted.exp,
        "origin": minted.origin,
        "channel": minted.channel,
        "module": page.key,
        "user": user.slug,
        "account_id": user.account_id,
        "host_page_url": site.host_page_url(&installation.descriptor.key, &page.key),
    })))
}

async fn stats(State(sim): State<AppState>) -> Json<Value> {
    let snapshots: Vec<SiteSnapshot> = sim.sites.iter().map(Site::snapshot).collect();
    let counter = |count: fn(&SiteSnapshot) -> u64| {
        let per_site: Map<String, Value> = snapshots
            .iter()
            .map(|s| (s.site.to_owned(), json!(count(s))))
            .collect();
        let total: u64 = snapshots.iter().map(count).sum();
        json!({"total": total, "per_site": per_site})
    };
    Json(json!({
        "context_tokens_issued": counter(|s| s.context_tokens_issued),
        "iframe_tokens_issued": counter(|s| s.iframe_tokens_issued),
        "fits_issued": counter(|s| s.fits_issued),
        "oauth_tokens_issued": counter(|s| s.oauth_tokens_issued),
    }))
}

fn config_json(sim: &Simulator) -> Json<Value> {
    Json(json!({
        "token_lifetime_secs": sim.token_lifetime_secs(),
        "oauth_token_lifetime_secs": sim.product.oauth_token_lifetime_secs(),
        "oauth_token_url": format!("{}/oauth2/token", sim.public_url),
        "app_url": sim.config.app_url,
        "descriptor_url": sim.config.descriptor_url(),
        "public_url": sim.public_url,
        "auto_install": sim.config.auto_install,
        "kid": sim.key.kid(),
        "keys_url": format!("{}/keys", sim.public_url),
        "forge": sim.forge.as_ref().map(|forge| crate::forge::api::state_json(sim, forge)),
    }))
}

async fn get_config(State(sim): State<AppState>) -> Json<Value> {
    config_json(&sim)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigChange {
    token_lifetime_secs: Option<u64>,
    oauth_token_lifetime_secs: Option<u64>,
}

async fn set_config(
    State(sim): State<AppState>,
    body: Result<Json<ConfigChange>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(change) = body.map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!(
                "expected {{\"token_lifetime_secs\": N, \"oauth_token_lifetime_secs\": N}} \
                 (each optional): {}",
                e.body_text()
            ),
        )
    })?;
    // Check both before changing either, so a bad request changes nothing.
    let check = |secs: Option<u64>| {
        secs.map(config::check_lifetime)
            .transpose()
            .map_err(|m| ApiError::new(StatusCode::BAD_REQUEST, "bad_request", m))
    };
    let (context, oauth) = (
        check(change.token_lifetime_secs)?,
        check(change.oauth_token_lifetime_secs)?,
    );
    if let Some(secs) = oauth {
        sim.product.set_oauth_token_lifetime_secs(secs);
        tracing::info!(secs, "OAuth access-token lifetime changed");
    }
    if let Some(secs) = context {
        sim.set_token_lifetime_secs(secs);
        tracing::info!(secs, "context-token lifetime changed");
    }
    Ok(config_json(&sim))
}
