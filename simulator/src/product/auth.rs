//! Who is calling the product API: the installed app with a Connect JWT in `Authorization`
//! (HS256 with the site's current shared secret, `iss` = the app key, `qsh` over the path
//! relative to the site's baseUrl, so `/wiki` is stripped), or a user with a bearer token the
//! token endpoint (or Forge) issued for this site; on the API gateway only the latter. A token
//! in `?jwt=` is refused. Refusals carry a static
//! reason for the log and the 401 detail, never token text.

use super::atlassian_error;
use super::oauth::Issuer;
use crate::sites::{Site, User};
use crate::state::{Simulator, now, now_ms};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use connect::{UnverifiedToken, query_string_hash, query_values, verify_hs256};
use tracing::info;

/// Longest app JWT lifetime accepted (`exp - iat`); Atlassian's clients use 180 s.
pub const MAX_APP_JWT_LIFETIME_SECS: i64 = 3600;
/// How far in the future `iat` may be (clock skew).
const IAT_LEEWAY_SECS: i64 = 60;

/// Where a request arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// Under the site's baseUrl: app JWTs and bearer tokens.
    Site,
    /// On the API gateway (`/ex/confluence/{cloudId}`): bearer tokens only, as
    /// `api.atlassian.com` takes no Connect JWT.
    Gateway,
}

/// On whose behalf a request is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principal {
    /// The app itself (Connect JWT): sees what every user sees.
    App,
    /// A user (bearer token): sees what that user sees.
    User(&'static User),
}

/// An authenticated caller and the scopes it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// App or user.
    pub principal: Principal,
    /// The app's descriptor scopes (app JWT) or the token's granted scopes (bearer).
    pub scopes: Vec<String>,
}

impl Caller {
    /// Whether the caller holds `scope` (upper-case).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// A refused request: 401 with an Atlassian-shaped body whose detail is the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal(pub &'static str);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        atlassian_error(StatusCode::UNAUTHORIZED, self.0)
    }
}

/// The path of `site`'s baseUrl (`/sites/acme/wiki`): what the `qsh` canonicaliser strips, as
/// Confluence strips its `/wiki` context path.
pub fn base_path(site: &Site) -> String {
    format!("/sites/{}/wiki", site.slug)
}

/// Authenticates a request to `site`'s product API; logs why at info when it refuses.
pub fn authenticate(
    sim: &Simulator,
    site: &Site,
    surface: Surface,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Caller, Refusal> {
    let outcome = check(sim, site, surface, method, uri, headers);
    if let Err(Refusal(reason)) = outcome {
        info!(
            site = site.slug,
            path = uri.path(),
            reason,
            "product API refused a request"
        );
    }
    outcome
}

fn check(
    sim: &Simulator,
    site: &Site,
    surface: Surface,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Caller, Refusal> {
    let query = uri.query().unwrap_or("");
    if query_values(query, "jwt").next().is_some() {
        return Err(Refusal("jwt_in_query"));
    }
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let value = values.next().ok_or(Refusal("missing_authorization"))?;
    if values.next().is_some() {
        return Err(Refusal("several_authorization_headers"));
    }
    let value = value
        .to_str()
        .map_err(|_| Refusal("malformed_authorization"))?;
    let (scheme, credential) = value
        .split_once(' ')
        .map(|(s, c)| (s, c.trim()))
        .ok_or(Refusal("malformed_authorization"))?;
    if scheme.eq_ignore_ascii_case("JWT") {
        if surface == Surface::Gateway {
            return Err(Refusal("jwt_not_accepted_on_gateway"));
        }
        app_jwt(site, credential, method, uri, now())
    } else if scheme.eq_ignore_ascii_case("Bearer") {
        bearer(sim, site, credential)
    } else {
        Err(Refusal("unsupported_scheme"))
    }
}

/// The app's Connect JWT, checked against the site's current installation.
fn app_jwt(
    site: &Site,
    token: &str,
    method: &Method,
    uri: &Uri,
    now: i64,
) -> Result<Caller, Refusal> {
    let installation = site.installation().ok_or(Refusal("app_not_installed"))?;
    let token = UnverifiedToken::parse(token).map_err(|e| Refusal(e.reason()))?;
    if token.claims().iss != installation.descriptor.key {
        return Err(Refusal("iss_not_app_key"));
    }
    verify_hs256(&token, installation.secret.as_bytes()).map_err(|e| Refusal(e.reason()))?;
    let claims = token.claims();
    if claims.exp < claims.iat {
        return Err(Refusal("bad_times"));
    }
    if now >= claims.exp {
        return Err(Refusal("token_expired"));
    }
    if claims.iat > now + IAT_LEEWAY_SECS {
        return Err(Refusal("iat_in_future"));
    }
    if claims.exp - claims.iat > MAX_APP_JWT_LIFETIME_SECS {
        return Err(Refusal("lifetime_too_long"));
    }
    let expected = query_string_hash(
        method.as_str(),
        uri.path(),
        uri.query().unwrap_or(""),
        &base_path(site),
    );
    claims
        .check_qsh(&expected)
        .map_err(|e| Refusal(e.reason()))?;
    Ok(Caller {
        principal: Principal::App,
        scopes: installation.descriptor.scopes,
    })
}

/// A bearer token issued by the token endpoint for this site.
fn bearer(sim: &Simulator, site: &Site, token: &str) -> Result<Caller, Refusal> {
    let grant = sim
        .product
        .tokens
        .lookup(token, now_ms())
        .map_err(Refusal)?;
    if grant.site != site.slug {
        return Err(Refusal("token_for_another_site"));
    }
    let installed = match grant.issuer {
        Issuer::Connect => site.installation().is_some(),
        Issuer::Forge => site.forge_installation().is_some(),
    };
    if !installed {
        return Err(Refusal("app_not_installed"));
    }
    Ok(Caller {
        principal: Principal::User(grant.user),
        scopes: grant.scopes,
    })
}
