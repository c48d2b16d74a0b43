//! Forge lifecycle events, routed to this remote by the manifest (`forge/manifest.yml`):
//! `POST /forge/installed` for the `avi:forge:installed:app` and `avi:forge:upgraded:app`
//! triggers, `POST /forge/uninstalled` for `preUninstall`. Both carry a FIT *without* a
//! principal: a user's token is refused (403), since any UI module can send a request to any
//! path of the remote and no user may uninstall the app for a site. The FIT alone says which
//! installation; the body is not read. Both are idempotent (Forge retries events up to four
//! times) and answer within the store timeout, well inside Forge's 5 s.
//!
//! Data retention follows the Connect uninstall: the installation's tokens are refused from
//! then on, its users' data is kept (a reinstall on the same site, by `cloudId`, finds it).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::extractors::{ForgeFit, ForgeRejection, bearer_token};
use super::{ForgeError, app_tokens};
use crate::db::now;
use crate::http::errors::store_failure;
use crate::metrics::auth::TokenKind;
use crate::state::AppState;

/// `POST /forge/installed`: the FIT established the installation (and linked it to its site)
/// on the way in; the event's app system token is kept if it is the newest (`app_tokens`).
pub async fn installed(
    State(state): State<AppState>,
    ForgeFit(caller): ForgeFit,
    headers: HeaderMap,
) -> Response {
    if caller.fit.principal.is_some() {
        return ForgeRejection::NoPrincipal.logged(&state).into_response();
    }
    state.metrics.auth.accepted(TokenKind::Invocation);
    let installation_id = caller.fit.installation_id.as_str();
    let secrets = state.verifier.secrets();
    let kept = match app_tokens::keep(&state.db, secrets, installation_id, &headers, now()).await {
        Ok(kept) => kept,
        // Forge retries the event, with a token again.
        Err(e) => return store_failure(e, "Forge lifecycle"),
    };
    tracing::info!(
        installation_id,
        site_id = %caller.site_id,
        app_token_kept = kept,
        "Forge installation established"
    );
    StatusCode::NO_CONTENT.into_response()
}

/// `POST /forge/uninstalled`: marks the installation uninstalled. A retry, after the first one
/// applied, verifies the token again and changes nothing.
pub async fn uninstalled(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(forge) = &state.forge else {
        return ForgeRejection::NoToken.logged(&state).into_response();
    };
    let Some(token) = bearer_token(&headers) else {
        return ForgeRejection::NoToken.logged(&state).into_response();
    };
    // Not `ForgeFit`: that refuses an uninstalled installation, which a retry names.
    let fit = match forge.verify(token).await {
        Ok(fit) => fit,
        Err(e) => {
            return ForgeRejection::Refused(ForgeError::Auth(e))
                .logged(&state)
                .into_response();
        }
    };
    if fit.principal.is_some() {
        return ForgeRejection::NoPrincipal.logged(&state).into_response();
    }
    state.metrics.auth.accepted(TokenKind::Invocation);
    match forge.uninstall(&fit).await {
        Ok(changed) => {
            tracing::info!(installation_id = %fit.installation_id, changed, "Forge preUninstall");
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => store_failure(e, "Forge lifecycle"),
    }
}
