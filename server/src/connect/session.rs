//! App-minted session tokens for the page's `<meta name="token">`: HS256 with the tenant's
//! secret, qsh `context-qsh`, at most 15 minutes, marked `kind: app-session` so logs tell them
//! from host-issued tokens. Valid only where context tokens are.

use connect::{CONTEXT_QSH, MintError, SESSION_KIND};
use serde::Serialize;

use super::verifier::{SESSION_TOKEN_MAX_SECS, Tenant};

#[derive(Serialize)]
struct SessionClaims<'a> {
    iss: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<&'a str>,
    qsh: &'a str,
    iat: i64,
    exp: i64,
    kind: &'a str,
}

/// A session token for `account_id` (anonymous when `None`) living `ttl_secs` (capped at 15 min).
pub fn mint(
    tenant: &Tenant,
    account_id: Option<&str>,
    now: i64,
    ttl_secs: i64,
) -> Result<String, MintError> {
    connect::mint::hs256(
        &SessionClaims {
            iss: &tenant.client_key,
            sub: account_id,
            qsh: CONTEXT_QSH,
            iat: now,
            exp: now + ttl_secs.clamp(1, SESSION_TOKEN_MAX_SECS),
            kind: SESSION_KIND,
        },
        tenant.secret.as_bytes(),
    )
}
