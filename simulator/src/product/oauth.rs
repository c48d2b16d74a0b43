//! Atlassian's OAuth 2.0 JWT-bearer token endpoint ("user impersonation for Connect apps"):
//! checks every claim of the app's assertion and issues opaque access tokens bound to (site,
//! user, scopes) that expire and can be revoked. Keeps only a hash of each token; never logs
//! an assertion or a token.

use crate::api::{ApiError, find_site, find_user, optional_json};
use crate::sites::{self, Site, User};
use crate::state::{AppState, Simulator, now, now_ms};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use connect::{UnverifiedToken, query_values, verify_hs256};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use tracing::info;

/// The only grant type served.
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// `iss` of an assertion: this prefix, then the installation's `oauthClientId`.
pub const ISS_PREFIX: &str = "urn:atlassian:connect:clientid:";
/// `sub` of an assertion: this prefix, then the user's accountId.
pub const SUB_PREFIX: &str = "urn:atlassian:connect:useraccountid:";
/// Longest assertion lifetime accepted (`exp - iat`).
pub const MAX_ASSERTION_LIFETIME_SECS: i64 = 60;
/// The scope the app's descriptor must declare to act as a user.
pub const ACT_AS_USER: &str = "ACT_AS_USER";
/// Expired tokens are forgotten this long after expiry (until then they answer "expired").
const FORGET_AFTER_MS: i64 = 3_600_000;

/// Who issued an access token, and so which installation it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Issuer {
    /// The JWT-bearer token endpoint: needs the Connect installation.
    Connect,
    /// Forge, with a FIT (`oauth_user` of the mint API): needs the Forge installation.
    Forge,
}

/// What an access token grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// How it was obtained.
    pub issuer: Issuer,
    /// The site it was issued for.
    pub site: &'static str,
    /// The user it acts as.
    pub user: &'static User,
    /// Granted scopes, upper-case.
    pub scopes: Vec<String>,
    /// Unix milliseconds at which it stops working.
    pub expires_at_ms: i64,
}

/// Why a bearer token is refused (static, for the log and the 401 detail).
pub type TokenRefusal = &'static str;

/// Issued access tokens, keyed by the SHA-256 of the token text.
#[derive(Debug, Default)]
pub struct IssuedTokens {
    grants: Mutex<HashMap<[u8; 32], Grant>>,
}

fn token_key(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl IssuedTokens {
    fn grants(&self) -> MutexGuard<'_, HashMap<[u8; 32], Grant>> {
        self.grants.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A new random token for `grant`.
    pub fn issue(&self, grant: Grant) -> Result<String, getrandom::Error> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)?;
        let token = URL_SAFE_NO_PAD.encode(bytes);
        let now = now_ms();
        let mut grants = self.grants();
        grants.retain(|_, g| g.expires_at_ms + FORGET_AFTER_MS > now);
        grants.insert(token_key(&token), grant);
        Ok(token)
    }

    /// The grant of a live token.
    pub fn lookup(&self, token: &str, now_ms: i64) -> Result<Grant, TokenRefusal> {
        let grant = self
            .grants()
            .get(&token_key(token))
            .cloned()
            .ok_or("unknown_or_revoked_token")?;
        if now_ms >= grant.expires_at_ms {
            return Err("token_expired");
        }
        Ok(grant)
    }

    /// Forgets every token of `site` (all sites if `None`) for `account_id` (all users if
    /// `None`); answers how many.
    pub fn revoke(&self, site: Option<&str>, account_id: Option<&str>) -> usize {
        let mut grants = self.grants();
        let before = grants.len();
        grants.retain(|_, g| {
            let site_matches = site.is_none_or(|s| s == g.site);
            let user_matches = account_id.is_none_or(|a| g.user.account_id == Some(a));
            !(site_matches && user_matches)
        });
        before - grants.len()
    }
}

/// An OAuth error answer (RFC 6749 §5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    /// `invalid_request`, `unsupported_grant_type`, `invalid_grant`, `unauthorized_client`,
    /// `invalid_scope`.
    pub error: &'static str,
    /// Which check failed.
    pub description: String,
}

impl OAuthError {
    fn new(error: &'static str, description: impl Into<String>) -> Self {
        Self {
            error,
            description: description.into(),
        }
    }

    fn grant(description: impl Into<String>) -> Self {
        Self::new("invalid_grant", description)
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = json!({"error": self.error, "error_description": self.description});
        (
            StatusCode::BAD_REQUEST,
            [(header::CACHE_CONTROL, "no-store")],
            Json(body),
        )
            .into_response()
    }
}

/// A checked assertion: who the token will act for, and on which site.
#[derive(Debug)]
pub struct Exchange<'a> {
    /// The site of the `oauthClientId`.
    pub site: &'a Site,
    /// The `sub` user.
    pub user: &'static User,
    /// Granted scopes (upper-case).
    pub scopes: Vec<String>,
}

/// Checks a token request body (form fields already split) as Atlassian's authorization
/// server does. `now` is Unix seconds.
pub fn check<'a>(sim: &'a Simulator, form: &str, now: i64) -> Result<Exchange<'a>, OAuthError> {
    let field = |name: &str| query_values(form, name).next().map(|v| v.into_owned());
    match field("grant_type") {
        None => return Err(OAuthError::new("invalid_request", "grant_type is missing")),
        Some(g) if g != JWT_BEARER_GRANT => {
            return Err(OAuthError::new(
                "unsupported_grant_type",
                format!("grant_type must be {JWT_BEARER_GRANT}"),
            ));
        }
        Some(_) => {}
    }
    let assertion = field("assertion")
        .filter(|a| !a.is_empty())
        .ok_or_else(|| OAuthError::new("invalid_request", "assertion is missing"))?;
    let token = UnverifiedToken::parse(&assertion)
        .map_err(|e| OAuthError::grant(format!("assertion is not a usable JWT: {e}")))?;
    if token.header().alg != "HS256" {
        return Err(OAuthError::grant("alg must be HS256"));
    }
    let claims = token.claims();
    let client_id = claims
        .iss
        .strip_prefix(ISS_PREFIX)
        .ok_or_else(|| OAuthError::grant(format!("iss must be {ISS_PREFIX}<oauthClientId>")))?;
    let site = sim
        .sites
        .iter()
        .find(|s| s.oauth_client_id == client_id)
        .ok_or_else(|| OAuthError::grant("iss names no known oauthClientId"))?;
    let installation = site.installation().ok_or_else(|| {
        OAuthError::grant("the app is not installed on the site of this oauthClientId")
    })?;
    verify_hs256(&token, installation.secret.as_bytes())
        .map_err(|_| OAuthError::grant("bad signature: not the site's current shared secret"))?;
    let account_id = claims
        .sub
        .as_deref()
        .and_then(|s| s.strip_prefix(SUB_PREFIX))
        .ok_or_else(|| OAuthError::grant(format!("sub must be {SUB_PREFIX}<accountId>")))?;
    let user = sites::USERS
        .iter()
        .find(|u| u.account_id == Some(account_id))
        .ok_or_else(|| OAuthError::grant("sub names no known user"))?;
    let payload = payload(&token);
    match payload.get("tnt") {
        Some(Value::String(tnt)) if *tnt == site.base_url => {}
        Some(_) => return Err(OAuthError::grant("tnt must be the site's baseUrl")),
        None => return Err(OAuthError::grant("tnt is missing")),
    }
    match claims.aud.as_slice() {
        [aud] if *aud == sim.public_url => {}
        [] => return Err(OAuthError::grant("aud is missing")),
        _ => {
            return Err(OAuthError::grant(format!(
                "aud must be exactly {}",
                sim.public_url
            )));
        }
    }
    // iat and exp are required by the parser already.
    if claims.exp < claims.iat {
        return Err(OAuthError::grant("exp is before iat"));
    }
    if now >= claims.exp {
        return Err(OAuthError::grant("assertion expired"));
    }
    if claims.iat > now + MAX_ASSERTION_LIFETIME_SECS {
        return Err(OAuthError::grant("iat is in the future"));
    }
    if claims.exp - claims.iat > MAX_ASSERTION_LIFETIME_SECS {
        return Err(OAuthError::grant(format!(
            "exp - iat must be at most {MAX_ASSERTION_LIFETIME_SECS} s"
        )));
    }
    let declared = &installation.descriptor.scopes;
    if !installation.descriptor.has_scope(ACT_AS_USER) {
        return Err(OAuthError::new(
            "unauthorized_client",
            "the app's descriptor does not declare the ACT_AS_USER scope",
        ));
    }
    let scopes = match field("scope") {
        None => declared.clone(),
        Some(requested) => {
            let mut scopes: Vec<String> = Vec::new();
            for scope in requested.split_whitespace().map(str::to_ascii_uppercase) {
                if !scopes.contains(&scope) {
                    scopes.push(scope);
                }
            }
            if let Some(s) = scopes.iter().find(|s| !declared.contains(s)) {
                return Err(OAuthError::new(
                    "invalid_scope",
                    format!("scope {s} is not declared in the app's descriptor"),
                ));
            }
            scopes
        }
    };
    Ok(Exchange { site, user, scopes })
}

/// When a token issued now with `lifetime_secs` stops working (Unix ms).
fn expiry_ms(lifetime_secs: u64) -> i64 {
    now_ms().saturating_add(i64::try_from(lifetime_secs.saturating_mul(1000)).unwrap_or(i64::MAX))
}

/// A Forge user token (`x-forge-oauth-user`) for `user` on `site`: `READ`, the configured
/// OAuth lifetime. Not counted in `oauth_tokens_issued` (the FIT that carries it is counted).
pub fn forge_user_token(
    sim: &Simulator,
    site: &Site,
    user: &'static User,
) -> Result<String, getrandom::Error> {
    sim.product.tokens.issue(Grant {
        issuer: Issuer::Forge,
        site: site.slug,
        user,
        scopes: vec!["READ".to_owned()],
        expires_at_ms: expiry_ms(sim.product.oauth_token_lifetime_secs()),
    })
}

/// The payload object of a parsed token (for claims `Claims` does not model, such as `tnt`).
fn payload(token: &UnverifiedToken) -> Map<String, Value> {
    token
        .signing_input()
        .split('.')
        .nth(1)
        .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

/// `POST /oauth2/token`: form body `grant_type`, `assertion`, `scope` (optional); answers
/// `{access_token, token_type: "Bearer", expires_in, scope}` or a 400 OAuth error.
pub async fn token(State(sim): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';').next().is_some_and(|t| {
                t.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
        });
    let outcome = if !is_form {
        Err(OAuthError::new(
            "invalid_request",
            "the body must be application/x-www-form-urlencoded",
        ))
    } else {
        match std::str::from_utf8(&body) {
            Ok(form) => check(&sim, form, now()),
            Err(_) => Err(OAuthError::new("invalid_request", "the body is not UTF-8")),
        }
    };
    let exchange = match outcome {
        Ok(exchange) => exchange,
        Err(e) => {
            info!(error = e.error, reason = %e.description, "token endpoint refused an assertion");
            return e.into_response();
        }
    };
    let lifetime = sim.product.oauth_token_lifetime_secs();
    let expires_at_ms = expiry_ms(lifetime);
    let scope = exchange.scopes.join(" ");
    let grant = Grant {
        issuer: Issuer::Connect,
        site: exchange.site.slug,
        user: exchange.user,
        scopes: exchange.scopes,
        expires_at_ms,
    };
    let access_token = match sim.product.tokens.issue(grant) {
        Ok(token) => token,
        Err(e) => {
            return ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "random_unavailable",
                e.to_string(),
            )
            .into_response();
        }
    };
    exchange.site.count_oauth_token();
    info!(
        site = exchange.site.slug,
        user = exchange.user.slug,
        %scope,
        expires_in = lifetime,
        "issued an OAuth access token"
    );
    (
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": lifetime,
            "scope": scope,
        })),
    )
        .into_response()
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeRequest {
    site: Option<String>,
    user: Option<String>,
}

/// `POST /api/oauth/revoke`, body empty, `{}` or `{"site": "acme", "user": "alice"}` (each
/// optional): forgets the matching access tokens; answers `{revoked: N}`.
pub async fn revoke(State(sim): State<AppState>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let request: RevokeRequest = optional_json(&body, r#"{"site": "acme", "user": "alice"}"#)?;
    let site = request
        .site
        .as_deref()
        .map(|s| find_site(&sim, s).map(|site| site.slug))
        .transpose()?;
    let user = request.user.as_deref().map(find_user).transpose()?;
    let revoked = match user {
        // The anonymous visitor never has a token: nothing of theirs to revoke.
        Some(User {
            account_id: None, ..
        }) => 0,
        Some(user) => sim.product.tokens.revoke(site, user.account_id),
        None => sim.product.tokens.revoke(site, None),
    };
    info!(
        site,
        user = user.map(|u| u.slug),
        revoked,
        "OAuth access tokens revoked"
    );
    Ok(Json(json!({"revoked": revoked})))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(site: &'static str, user: &str, expires_at_ms: i64) -> Grant {
        Grant {
            issuer: Issuer::Connect,
            site,
            user: sites::user(user).unwrap(),
            scopes: vec!["READ".into()],
            expires_at_ms,
        }
    }

    #[test]
    fn tokens_expire_and_revoke() {
        let tokens = IssuedTokens::default();
        let far = now_ms() + 60_000;
        let a = tokens.issue(grant("acme", "alice", far)).unwrap();
        let b = tokens.issue(grant("acme", "bob", far)).unwrap();
        let g = tokens.issue(grant("globex", "alice", far)).unwrap();
        assert_ne!(a, b);
        assert_eq!(tokens.lookup(&a, far - 1).unwrap().user.slug, "alice");
        assert_eq!(tokens.lookup(&a, far), Err("token_expired"));
        assert_eq!(tokens.lookup("nope", 0), Err("unknown_or_revoked_token"));
        assert_eq!(tokens.revoke(Some("acme"), Some("557058:aaaa-alice")), 1);
        assert!(tokens.lookup(&a, 0).is_err());
        assert!(tokens.lookup(&b, 0).is_ok() && tokens.lookup(&g, 0).is_ok());
        assert_eq!(tokens.revoke(None, None), 2);
    }
}
