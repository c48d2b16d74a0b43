//! Lifecycle callbacks. `installed`/`uninstalled` are RS256-signed by Atlassian (see
//! `LifecycleJwt`); `enabled`/`disabled` are HS256 with the tenant's secret. Each token is
//! accepted once, and state changes are ordered by the token's `iat`: a late event never undoes
//! a newer one. Every write is one transaction; the answer is 204 only after it committed. The
//! transaction settles (`db::settle`): it runs to its end in its own task, and the cached tenant
//! is dropped when its result is known, so a caller that leaves early cannot leave the cache
//! older than the database; a caller still waiting at the store timeout is told 503
//! `outcome_unknown` (Atlassian retries).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;
use sqlx::Acquire;

use super::extractors::{ApiRejection, HostCallbackJwt, LifecycleBody, LifecycleJwt};
use super::secrets::SharedSecret;
use super::verifier::AuthError;
use crate::db::settle::{WriteTicket, settle};
use crate::db::sites;
use crate::db::tenants::{self, InstallRecord, TenantState};
use crate::db::{DbError, now, replay};
use crate::http::errors::{json_error, store_failure};
use crate::metrics::auth::TokenKind;
use crate::state::AppState;
use app::AppError;
use connect::VerifyError;
use connect::forge::{CloudId, InstallationId};

const MAX_FIELD: usize = 1024;

fn bad(message: &str) -> Response {
    json_error(&AppError::BadRequest {
        message: message.into(),
    })
}

/// A lifecycle token seen before: refused like any invalid token (401, no detail).
fn replayed(state: &AppState) -> Response {
    tracing::warn!(reason = "replayed", "lifecycle token rejected");
    ApiRejection::new(
        state,
        TokenKind::Lifecycle,
        AuthError::Token(VerifyError::InvalidClaim("replay")),
    )
    .into_response()
}

fn plain_text(value: &str, max: usize) -> bool {
    !value.is_empty() && value.chars().count() <= max && !value.chars().any(char::is_control)
}

/// A site address: absolute http(s), and https in production unless loopback.
fn site_url(state: &AppState, value: &str) -> bool {
    let Ok(url) = url::Url::parse(value) else {
        return false;
    };
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    match url.scheme() {
        "https" => url.host().is_some(),
        "http" => !state.config.is_production() || loopback,
        _ => false,
    }
}

/// Field rules for every lifecycle body; the token has already been verified.
fn validate_body(state: &AppState, body: &LifecycleBody, event: &str) -> Result<(), &'static str> {
    if body.key != state.config.app_key {
        return Err("The body's key is not this app's key.");
    }
    if body.event_type != event {
        return Err("The body's eventType does not match this callback.");
    }
    if !plain_text(&body.client_key, 255) {
        return Err("clientKey is missing or not valid.");
    }
    if !site_url(state, &body.base_url) || body.base_url.len() > MAX_FIELD {
        return Err("baseUrl is not a valid site address.");
    }
    if let Some(display) = &body.display_url
        && (!site_url(state, display) || display.len() > MAX_FIELD)
    {
        return Err("displayUrl is not a valid site address.");
    }
    for optional in [
        &body.product_type,
        &body.description,
        &body.service_entitlement_number,
        &body.oauth_client_id,
        &body.installation_id,
        &body.cloud_id,
    ]
    .into_iter()
    .flatten()
    {
        if optional.chars().count() > MAX_FIELD || optional.chars().any(char::is_control) {
            return Err("A descriptive field is too long or has control characters.");
        }
    }
    Ok(())
}

/// `POST /installed`: stores the tenant and its new secret (replacing any old one at once).
pub async fn installed(State(state): State<AppState>, cb: LifecycleJwt) -> Response {
    let body = &cb.body;
    if let Err(problem) = validate_body(&state, body, "installed") {
        return bad(problem);
    }
    let Some(secret) = (body.shared_secret.as_ref())
        .map(ExposeSecret::expose_secret)
        .filter(|s| plain_text(s, MAX_FIELD))
    else {
        return bad("sharedSecret is missing or not valid.");
    };
    let Ok(shared_secret_enc) = state
        .verifier
        .secrets()
        .encrypt(&body.client_key, &SharedSecret::new(secret.to_string()))
    else {
        return json_error(&AppError::internal());
    };
    let claims = cb.token.claims();
    let record = InstallRecord {
        client_key: body.client_key.clone(),
        shared_secret_enc,
        base_url: body.base_url.clone(),
        display_url: body.display_url.clone(),
        product_type: body.product_type.clone(),
        description: body.description.clone(),
        service_entitlement_number: body.service_entitlement_number.clone(),
        oauth_client_id: body.oauth_client_id.clone(),
        installation_id: body.installation_id.clone(),
        cloud_id: body.cloud_id.clone(),
        install_payload: cb.payload_without_secret.to_string(),
        site_id: String::new(),
        event_at: claims.iat,
    };
    // The Forge side of the same site, when the body names it in the forms Forge tokens use.
    let link = ForgeLink {
        installation_id: (body.installation_id.as_deref())
            .and_then(InstallationId::parse)
            .map(|id| id.as_str().to_owned()),
        cloud_id: (body.cloud_id.as_deref())
            .and_then(|c| CloudId::parse(&c.to_ascii_lowercase()))
            .map(|id| id.as_str().to_owned()),
    };
    apply_once(
        &state,
        cb.token.replay_key(),
        state.verifier.replay_expiry(claims),
        "installed",
        &body.client_key,
        Write::Install(Box::new(record), link),
    )
    .await
}

/// `POST /uninstalled`: marks the tenant inactive; its tokens are refused from now on, its
/// users' data is kept.
pub async fn uninstalled(State(state): State<AppState>, cb: LifecycleJwt) -> Response {
    if let Err(problem) = validate_body(&state, &cb.body, "uninstalled") {
        return bad(problem);
    }
    let claims = cb.token.claims();
    apply_once(
        &state,
        cb.token.replay_key(),
        state.verifier.replay_expiry(claims),
        "uninstalled",
        &cb.body.client_key,
        Write::State(TenantState::Uninstalled, claims.iat),
    )
    .await
}

async fn host_state_change(
    state: AppState,
    cb: HostCallbackJwt,
    body: LifecycleBody,
    new_state: TenantState,
) -> Response {
    let event = new_state.as_str();
    if let Err(problem) = validate_body(&state, &body, event) {
        return bad(problem);
    }
    let verified = cb.verified;
    if body.client_key != verified.tenant.client_key {
        // Same rule as for signed installs: the body must be about the token's tenant.
        return ApiRejection::new(
            &state,
            TokenKind::HostCallback,
            AuthError::Token(VerifyError::IssuerMismatch),
        )
        .into_response();
    }
    let claims = &verified.claims;
    apply_once(
        &state,
        cb.replay_key,
        state.verifier.replay_expiry(claims),
        event,
        &body.client_key,
        Write::State(new_state, claims.iat),
    )
    .await
}

/// What a Connect `installed` body says about the app's Forge installation on the site.
#[derive(Clone, Default)]
struct ForgeLink {
    installation_id: Option<String>,
    cloud_id: Option<String>,
}

/// The tenant write a lifecycle event makes.
enum Write {
    Install(Box<InstallRecord>, ForgeLink),
    /// The new state and the event's `iat`.
    State(TenantState, i64),
}

/// Records the token as used and applies the write, in one transaction; 204 only after the
/// commit, 401 for a token seen before. A late event (older `iat` than the last applied one) is
/// acknowledged but changes nothing.
async fn apply_once(
    state: &AppState,
    replay_key: [u8; 32],
    expires: i64,
    event: &'static str,
    client_key: &str,
    write: Write,
) -> Response {
    let ticket = WriteTicket::new();
    let transaction = {
        let (state, ticket, client_key) = (state.clone(), ticket.clone(), client_key.to_owned());
        async move {
            // The cached tenant (if any) is dropped when this task ends: once the transaction
            // committed or rolled back, never while it may still commit.
            let _tenant_write = state.verifier.tenant_write(&client_key);
            let mut conn = state.db.pool().acquire().await?;
            if !ticket.start() {
                return Err(DbError::Unavailable);
            }
            // An error before the commit rolls everything back; one of the commit itself may
            // leave its result unknown (`from_write`).
            let mut tx = conn.begin().await?;
            if !replay::remember(&mut tx, &replay_key, expires, now()).await? {
                return Ok(None);
            }
            let mut sites_changed = false;
            let applied = match &write {
                Write::Install(record, link) => {
                    let (installation, cloud) =
                        (link.installation_id.as_deref(), link.cloud_id.as_deref());
                    let site =
                        sites::site_for_connect_install(&mut tx, &client_key, installation, cloud)
                            .await?;
                    let record = InstallRecord {
                        site_id: site.site_id.clone(),
                        ..(**record).clone()
                    };
                    let applied = tenants::apply_install(&mut tx, &record).await?;
                    if applied {
                        if let Some(from) = &site.merge_from {
                            sites::merge(&mut tx, from, &site.site_id).await?;
                        }
                        // Cached Forge installations of the site may lack its address (or its
                        // merge): drop them too.
                        sites_changed =
                            site.merge_from.is_some() || installation.is_some() || cloud.is_some();
                        sites::link_connect_install(&mut tx, &site.site_id, installation, cloud)
                            .await?;
                    }
                    applied
                }
                Write::State(new_state, at) => {
                    tenants::apply_state(&mut tx, &client_key, *new_state, *at).await?
                }
            };
            tx.commit().await.map_err(DbError::from_write)?;
            if sites_changed {
                // Rows moved between sites, or a site learned its Connect tenant: nothing cached
                // by site may be served any more.
                state.forget_site_caches();
            }
            Ok(Some(applied))
        }
    };
    let result = settle(state.db.timeout(), ticket, transaction).await;
    match result {
        Err(e) => store_failure(e, "lifecycle"),
        Ok(None) => replayed(state),
        Ok(Some(applied)) => {
            tracing::info!(%client_key, applied, event, "lifecycle event");
            StatusCode::NO_CONTENT.into_response()
        }
    }
}

/// `POST /enabled` (HS256 with the tenant's secret).
pub async fn enabled(
    State(state): State<AppState>,
    cb: HostCallbackJwt,
    body: Result<Json<LifecycleBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    match body {
        Ok(Json(body)) => host_state_change(state, cb, body, TenantState::Enabled).await,
        Err(_) => bad("The body is not a lifecycle JSON object."),
    }
}

/// `POST /disabled` (HS256 with the tenant's secret).
pub async fn disabled(
    State(state): State<AppState>,
    cb: HostCallbackJwt,
    body: Result<Json<LifecycleBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    match body {
        Ok(Json(body)) => host_state_change(state, cb, body, TenantState::Disabled).await,
        Err(_) => bad("The body is not a lifecycle JSON object."),
    }
}
