//! The Forge routes: the JWKS, key rotation, FIT minting and Forge install/upgrade/uninstall
//! of a site. JSON, no auth (loopback only); errors are `{error, message}` like the rest of
//! `/api`. With Forge off every route answers 404 `forge_disabled`.

use super::fit::{self, DEFAULT_FIT_LIFETIME_SECS, FitSpec, MAX_MINT_LIFETIME_SECS, Module};
use super::install::{self, ForgeOutcome};
use super::keys::{self, new_fit_kid};
use super::{Forge, ForgeError};
use crate::api::{ApiError, find_site, find_user, optional_json, wants_html};
use crate::keys::SigningKey;
use crate::state::{AppState, Simulator};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use connect::forge::EnvironmentId;
use serde::Deserialize;
use serde_json::{Value, json};
use std::future::Future;

/// The Forge routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/forge/jwks.json", get(keys::serve_jwks))
        .route("/api/forge", get(forge_state))
        .route("/api/forge/rotate", post(rotate))
        .route("/api/sites/{site}/forge/fit", post(mint_fit))
        .route("/api/sites/{site}/forge/install", post(forge_install))
        .route("/api/sites/{site}/forge/upgrade", post(forge_upgrade))
        .route("/api/sites/{site}/forge/uninstall", post(forge_uninstall))
        .merge(super::ui::routes())
}

/// What `GET /api/forge` (and `forge` in `GET /api/config`) shows.
pub fn state_json(sim: &Simulator, forge: &Forge) -> Value {
    json!({
        "app_id": forge.config.app_id.as_str(),
        "environment_id": forge.config.environment_id.as_str(),
        "environment_type": fit::DEVELOPMENT,
        "jwks_url": format!("{}/forge/jwks.json", sim.public_url),
        "kid": forge.keys.current().kid(),
        "published_kids": forge.keys.kids(),
        "jwks_fetches": forge.keys.jwks_fetches(),
        "fit_lifetime_secs": DEFAULT_FIT_LIFETIME_SECS,
        "api_base_url": forge.config.api_base_url,
    })
}

async fn forge_state(State(sim): State<AppState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(state_json(&sim, sim.forge()?)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RotateRequest {
    #[serde(default)]
    drop_previous: bool,
}

/// `POST /api/forge/rotate`: a new current key; answers the new kid and what is published.
async fn rotate(
    State(sim): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let forge = sim.forge()?;
    // An HTML form on the index page posts an empty body.
    let request: RotateRequest = optional_json(&body, r#"{"drop_previous": true}"#)?;
    // RSA key generation is CPU-bound: keep it off the async workers.
    let key = tokio::task::spawn_blocking(|| SigningKey::generate_with_kid(new_fit_kid()?))
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "key_generation_failed",
                e.to_string(),
            )
        })?
        .map_err(ForgeError::from)?;
    let rotation = forge.keys.rotate_to(key, request.drop_previous);
    tracing::info!(kid = %rotation.kid, dropped = rotation.dropped_kids.len(), "Forge key rotated");
    if wants_html(&headers) {
        return Ok(Redirect::to("/").into_response());
    }
    Ok(Json(rotation).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FitRequest {
    /// Absent: no principal (as for a trigger).
    user: Option<String>,
    /// An environment ARI instead of the configured one.
    environment: Option<String>,
    /// `app.environment.type`; default `DEVELOPMENT` for the configured environment, absent
    /// for an override.
    environment_type: Option<String>,
    module: Option<Module>,
    lifetime_secs: Option<u64>,
}

/// `POST /api/sites/{site}/forge/fit`.
async fn mint_fit(
    State(sim): State<AppState>,
    Path(slug): Path<String>,
    body: Bytes,
) -> Result<Json<fit::MintedFit>, ApiError> {
    let forge = sim.forge()?;
    let site = find_site(&sim, &slug)?;
    let request: FitRequest = optional_json(
        &body,
        r#"{"user": "alice", "module": {"type": "confluence:globalPage", "key": "preferences"}, "lifetime_secs": 25}"#,
    )?;
    let bad = |message: String| ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message);
    let user = request.user.as_deref().map(find_user).transpose()?;
    let principal = user.and_then(fit::principal_of);
    let (environment_id, default_type) = match request.environment {
        None => (
            forge.config.environment_id.to_string(),
            Some(fit::DEVELOPMENT.to_owned()),
        ),
        Some(env) => {
            let env = EnvironmentId::parse(&env).ok_or_else(|| {
                bad(format!(
                    "environment {env:?} is not ari:cloud:ecosystem::environment/<app uuid>/<environment uuid>"
                ))
            })?;
            (env.to_string(), None)
        }
    };
    let lifetime_secs = request.lifetime_secs.unwrap_or(DEFAULT_FIT_LIFETIME_SECS);
    if !(1..=MAX_MINT_LIFETIME_SECS).contains(&lifetime_secs) {
        return Err(bad(format!(
            "lifetime_secs {lifetime_secs} is outside 1..={MAX_MINT_LIFETIME_SECS}"
        )));
    }
    let spec = FitSpec {
        principal,
        module: request.module.unwrap_or_else(Module::preferences_page),
        environment_id,
        environment_type: request.environment_type.or(default_type),
        lifetime_secs,
    };
    let mut minted = fit::issue(forge, site, &spec)?;
    if let Some(user) = user.filter(|u| u.account_id.is_some()) {
        let token = crate::product::oauth::forge_user_token(&sim, site, user)
            .map_err(ForgeError::Random)?;
        minted.oauth_user = Some(token);
    }
    Ok(Json(minted))
}

/// Runs a Forge install action for the site; browsers (HTML forms) go back to the index.
async fn site_action<'a, F, Fut>(
    sim: &'a Simulator,
    slug: &str,
    headers: &HeaderMap,
    action: F,
) -> Result<Response, ApiError>
where
    F: FnOnce(&'a Simulator, &'a crate::sites::Site) -> Fut,
    Fut: Future<Output = Result<ForgeOutcome, ForgeError>>,
{
    let site = find_site(sim, slug)?;
    let outcome = action(sim, site).await;
    if wants_html(headers) {
        return Ok(Redirect::to("/").into_response());
    }
    Ok(Json(outcome?).into_response())
}

/// `POST /api/sites/{site}/forge/install`: 200 with the outcome whatever the app answered
/// (`delivered` says whether it took the trigger).
async fn forge_install(
    State(sim): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    site_action(&sim, &slug, &headers, install::install).await
}

/// `POST /api/sites/{site}/forge/upgrade`; 409 `not_installed` without a Forge installation.
async fn forge_upgrade(
    State(sim): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    site_action(&sim, &slug, &headers, install::upgrade).await
}

/// `POST /api/sites/{site}/forge/uninstall`; 409 `not_installed` without a Forge installation.
async fn forge_uninstall(
    State(sim): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    site_action(&sim, &slug, &headers, install::uninstall).await
}

impl From<ForgeError> for ApiError {
    fn from(e: ForgeError) -> Self {
        let (status, code) = match e {
            ForgeError::Disabled => (StatusCode::NOT_FOUND, "forge_disabled"),
            ForgeError::NotInstalled(_) => (StatusCode::CONFLICT, "not_installed"),
            ForgeError::Mint(_) => (StatusCode::INTERNAL_SERVER_ERROR, "mint_failed"),
            ForgeError::Random(_) => (StatusCode::INTERNAL_SERVER_ERROR, "random_unavailable"),
            ForgeError::Key(_) => (StatusCode::INTERNAL_SERVER_ERROR, "key_generation_failed"),
        };
        Self::new(status, code, e.to_string())
    }
}
