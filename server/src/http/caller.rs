//! Who calls a server function, whichever transport carried the call. The `Authorization`
//! scheme alone decides (never `x-forge-oauth-*`, which anyone can send): `JWT …` is Connect
//! (a context or session token, `connect::extractors::ContextJwt`), `Bearer …` is Forge (a FIT
//! with a `principal`, `forge::extractors`, when Forge is configured). Both end as the same [`AuthCtx`]; nothing in `app/`
//! learns which one it was.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

use std::sync::Arc;

use secrecy::SecretString;

use crate::connect::extractors::ContextJwt;
use crate::forge::extractors::{ForgeRejection, authenticate, bearer_token};
use crate::metrics::auth::TokenKind;
use crate::outbound::ProductAccess;
use crate::state::AppState;
use app::auth::AuthCtx;
use app::preferences::Locale;

/// The Custom UI's bridge shim sends the locale `view.getContext()` reported. Like Connect's
/// `loc`, it only picks the language a never-saved user starts with; it decides nothing else.
const HOST_LOCALE_HEADER: &str = "x-host-locale";

fn forge_host_locale(headers: &axum::http::HeaderMap) -> Option<Locale> {
    let tag = headers.get(HOST_LOCALE_HEADER)?.to_str().ok()?;
    (tag.len() <= 35)
        .then(|| Locale::from_host_tag(tag))
        .flatten()
}

/// The verified caller of an API route, the transport that carried it (for logs only), and how
/// calls to Atlassian made for it act (as this caller, never anyone else).
pub struct ApiCaller {
    pub auth: AuthCtx,
    pub transport: &'static str,
    pub access: ProductAccess,
}

/// The header Forge carries the user's Atlassian API token in (`auth.appUserToken`): used only
/// to call Atlassian for that user, never to authenticate the call.
const FORGE_USER_TOKEN: &str = "x-forge-oauth-user";

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let is_bearer = (parts.headers.get(header::AUTHORIZATION))
            .and_then(|v| v.as_bytes().get(..7))
            .is_some_and(|scheme| scheme == b"Bearer ");
        if !is_bearer || state.forge.is_none() {
            // Connect, and every malformed header (its rejection is the Connect 401); without
            // Forge, a Bearer token is just a header this server does not speak.
            let ContextJwt(verified) = ContextJwt::from_request_parts(parts, state)
                .await
                .map_err(IntoResponse::into_response)?;
            let tenant = Arc::new(verified.tenant);
            return Ok(Self {
                auth: AuthCtx {
                    site_id: tenant.site_id.clone(),
                    account_id: verified.claims.sub.clone(),
                    site_url: tenant.site_url().to_owned(),
                    host_locale: None,
                },
                transport: verified.kind.as_str(),
                access: ProductAccess::Connect {
                    tenant,
                    account_id: verified.claims.sub,
                },
            });
        }
        let token = bearer_token(&parts.headers)
            .ok_or_else(|| ForgeRejection::NoToken.logged(state).into_response())?;
        let caller = authenticate(state, token)
            .await
            .map_err(IntoResponse::into_response)?;
        // Server functions act for a user: a trigger's token (no principal) has none.
        let Some(principal) = &caller.fit.principal else {
            return Err(ForgeRejection::NoPrincipal.logged(state).into_response());
        };
        state.metrics.auth.accepted(TokenKind::Invocation);
        let user_token = (parts.headers.get(FORGE_USER_TOKEN))
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .map(|v| Arc::new(SecretString::from(v)));
        Ok(Self {
            auth: AuthCtx {
                account_id: Some(principal.as_str().to_owned()),
                site_id: caller.site_id,
                site_url: caller.site_url,
                host_locale: forge_host_locale(&parts.headers),
            },
            transport: "forge",
            access: ProductAccess::Forge {
                api_base_url: caller.fit.api_base_url.clone(),
                user_token,
            },
        })
    }
}
