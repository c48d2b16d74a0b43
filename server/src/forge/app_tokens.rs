//! App system tokens: Forge sends one in `x-forge-oauth-system` (2–4 h, for calling Atlassian
//! APIs as the app). The newest per installation is kept, encrypted like tenant secrets, for the
//! outbound client; never logged, never echoed.
//!
//! Only from event calls (a FIT without `principal`): `requestRemote` lets any UI module, and a
//! user in devtools, add headers to its calls, so a user's call could plant a bogus token. A
//! token replaces the stored one only if its expiry is later (ACE overwrites a good token with
//! whatever came last). The expiry is read from the token when it is a JWT (unverified: it only
//! orders tokens that arrived on Forge-signed calls), capped at [`MAX_LIFE_SECS`]; an opaque
//! token is assumed to live [`OPAQUE_LIFE_SECS`].

use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::connect::secrets::{SecretKeys, SharedSecret};
use crate::db::{Db, DbError, sites};

pub const HEADER: &str = "x-forge-oauth-system";
/// Longest token kept.
const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// Longest a token is believed to live, whatever it claims (Forge's live 2–4 h).
pub const MAX_LIFE_SECS: i64 = 4 * 3600;
/// The life assumed for a token whose expiry cannot be read.
pub const OPAQUE_LIFE_SECS: i64 = 3600;

/// The encryption context of an installation's token (never a clientKey: another domain).
pub fn aad(installation_id: &str) -> String {
    format!("forge-system-token:{installation_id}")
}

/// The `exp` of a JWT-shaped token, if it has one.
fn jwt_exp(token: &str) -> Option<i64> {
    let mut parts = token.split('.');
    let (Some(_), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()?
        .get("exp")?
        .as_i64()
}

/// The expiry a token is ordered by, at `now`.
pub fn expiry(token: &str, now: i64) -> i64 {
    let cap = now.saturating_add(MAX_LIFE_SECS);
    jwt_exp(token).map_or(now.saturating_add(OPAQUE_LIFE_SECS), |exp| exp.min(cap))
}

/// The header's token, when there is exactly one plausible value.
fn token(headers: &HeaderMap) -> Option<&str> {
    let mut values = headers.get_all(HEADER).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return None;
    };
    let value = value.to_str().ok()?;
    (!value.is_empty()
        && value.len() <= MAX_TOKEN_BYTES
        && value.bytes().all(|b| b.is_ascii_graphic()))
    .then_some(value)
}

/// Keeps the event's app token for `installation_id` if it is newer than the stored one.
/// Returns whether it was stored.
pub async fn keep(
    db: &Db,
    secrets: &SecretKeys,
    installation_id: &str,
    headers: &HeaderMap,
    now: i64,
) -> Result<bool, DbError> {
    let Some(token) = token(headers) else {
        if headers.contains_key(HEADER) {
            tracing::info!("an app system token was not kept: malformed");
        }
        return Ok(false);
    };
    let encrypted = secrets
        .encrypt(&aad(installation_id), &SharedSecret::new(token.to_owned()))
        .map_err(|e| DbError::Failed(format!("an app token does not encrypt: {e}")))?;
    sites::keep_system_token(db, installation_id, &encrypted, expiry(token, now)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(exp: i64) -> String {
        let payload = URL_SAFE_NO_PAD.encode(format!(r#"{{"exp":{exp}}}"#));
        format!("eyJhbGciOiJSUzI1NiJ9.{payload}.c2ln")
    }

    #[test]
    fn the_expiry_is_read_from_a_jwt_and_capped() {
        assert_eq!(expiry(&jwt(1_000_600), 1_000_000), 1_000_600);
        assert_eq!(
            expiry(&jwt(9_999_999_999), 1_000_000),
            1_000_000 + MAX_LIFE_SECS
        );
        assert_eq!(
            expiry("opaque-token", 1_000_000),
            1_000_000 + OPAQUE_LIFE_SECS
        );
        assert_eq!(expiry("a.b.c", 1_000_000), 1_000_000 + OPAQUE_LIFE_SECS);
    }

    #[test]
    fn only_one_plausible_header_value_is_a_token() {
        let mut headers = HeaderMap::new();
        assert_eq!(token(&headers), None);
        headers.insert(HEADER, "tok".parse().unwrap());
        assert_eq!(token(&headers), Some("tok"));
        headers.append(HEADER, "other".parse().unwrap());
        assert_eq!(token(&headers), None, "two values: neither");
        headers.insert(HEADER, "has space".parse().unwrap());
        assert_eq!(token(&headers), None);
        headers.insert(HEADER, "x".repeat(MAX_TOKEN_BYTES + 1).parse().unwrap());
        assert_eq!(token(&headers), None);
    }
}
