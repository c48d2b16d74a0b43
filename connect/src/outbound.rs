//! Calls the app makes to the product: where a request may go, and how it is signed.
//!
//! A target is resolved against the tenant's `baseUrl` and refused if it leaves it (another
//! origin, or a path outside the base path once dot segments are resolved). The app JWT's `qsh`
//! is computed over exactly what is sent, relative to the `baseUrl`: for Confluence
//! (`https://x.atlassian.net/wiki`) the `/wiki` context path is removed, so
//! `/wiki/api/v2/spaces?limit=5` is signed as `GET&/api/v2/spaces&limit=5`, with the same
//! canonicaliser as incoming requests ([`crate::qsh`]). The user-impersonation assertion is the
//! JWT-bearer grant of "User impersonation for Connect apps".

use serde::Serialize;
use url::Url;

use crate::error::MintError;
use crate::mint::hs256;
use crate::qsh::query_string_hash;

/// Lifetime of an app JWT for one product request (Atlassian's examples use 3 minutes).
pub const APP_JWT_LIFETIME_SECS: i64 = 180;
/// Lifetime of a user-impersonation assertion: only long enough to be exchanged.
pub const ASSERTION_LIFETIME_SECS: i64 = 30;
/// `grant_type` of the JWT-bearer token exchange (RFC 7523).
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// Atlassian's authorization server for Connect user impersonation (`aud` of assertions).
pub const ATLASSIAN_OAUTH_URL: &str = "https://oauth-2-authorization-server.services.atlassian.com";

/// Why a product request was not built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// The tenant's baseUrl is not an absolute http(s) URL without query or credentials.
    #[error("the tenant baseUrl is not usable")]
    BadBaseUrl,
    /// The target is not an absolute URL or a path starting with `/`.
    #[error("not a product URL or path")]
    Invalid,
    /// The target resolves outside the tenant's baseUrl: nothing may be sent there.
    #[error("outside the tenant's baseUrl")]
    OutsideTenant,
}

/// A request target inside a tenant's baseUrl: the URL to send and what its `qsh` covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductTarget {
    url: Url,
    base_path: String,
}

impl ProductTarget {
    /// Resolves `target` against `base_url`. `target` is an absolute URL inside `base_url`, a
    /// host path that already starts with the base path (`/wiki/api/v2/spaces`), or a path
    /// relative to the base URL (`/api/v2/spaces`). Fragments are dropped.
    pub fn resolve(base_url: &str, target: &str) -> Result<Self, TargetError> {
        let base = parse_base(base_url)?;
        let base_path = base.path().trim_end_matches('/').to_owned();
        let mut url = if target.starts_with("http://") || target.starts_with("https://") {
            Url::parse(target).map_err(|_| TargetError::Invalid)?
        } else if target.starts_with('/') && !target.starts_with("//") {
            let host_path = if within(target_path(target), &base_path) {
                target.to_owned()
            } else {
                format!("{base_path}{target}")
            };
            base.join(&host_path).map_err(|_| TargetError::Invalid)?
        } else {
            return Err(TargetError::Invalid);
        };
        url.set_fragment(None);
        if url.origin() != base.origin()
            || !url.username().is_empty()
            || url.password().is_some()
            || !within(url.path(), &base_path)
        {
            return Err(TargetError::OutsideTenant);
        }
        Ok(Self { url, base_path })
    }

    /// The absolute URL to send.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The path relative to the base URL, for logs (no query: it may name users or content).
    pub fn relative_path(&self) -> &str {
        let path = self.url.path();
        path.strip_prefix(&self.base_path).unwrap_or(path)
    }

    /// The `qsh` of `method` on this target, over the path and query exactly as sent.
    pub fn qsh(&self, method: &str) -> String {
        query_string_hash(
            method,
            self.url.path(),
            self.url.query().unwrap_or(""),
            &self.base_path,
        )
    }

    /// An app JWT for `method` on this target (`Authorization: JWT …`): HS256 with the
    /// tenant's shared secret, `iss` = the app key, `exp` = `iat` + 180 s.
    pub fn app_jwt(
        &self,
        method: &str,
        app_key: &str,
        shared_secret: &[u8],
        now: i64,
    ) -> Result<String, MintError> {
        #[derive(Serialize)]
        struct AppClaims<'a> {
            iss: &'a str,
            iat: i64,
            exp: i64,
            qsh: String,
        }
        let claims = AppClaims {
            iss: app_key,
            iat: now,
            exp: now + APP_JWT_LIFETIME_SECS,
            qsh: self.qsh(method),
        };
        hs256(&claims, shared_secret)
    }

    /// The target a redirect `location` names, if it stays inside the same base URL.
    pub fn follow(&self, location: &str) -> Result<Self, TargetError> {
        let url = self.url.join(location).map_err(|_| TargetError::Invalid)?;
        let mut base = self.url.clone();
        base.set_path(&self.base_path);
        base.set_query(None);
        Self::resolve(base.as_str(), url.as_str())
    }
}

/// The path part of a host-relative target (before `?` or `#`).
fn target_path(target: &str) -> &str {
    let end = target.find(['?', '#']).unwrap_or(target.len());
    &target[..end]
}

/// `path` is `base_path` or lies below it (segment boundary).
fn within(path: &str, base_path: &str) -> bool {
    match path.strip_prefix(base_path) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

fn parse_base(base_url: &str) -> Result<Url, TargetError> {
    let base = Url::parse(base_url).map_err(|_| TargetError::BadBaseUrl)?;
    let usable = matches!(base.scheme(), "http" | "https")
        && base.host().is_some()
        && base.username().is_empty()
        && base.password().is_none()
        && base.query().is_none();
    usable.then_some(base).ok_or(TargetError::BadBaseUrl)
}

/// The claims of a user-impersonation assertion (JWT-bearer grant for Connect apps).
#[derive(Debug, Serialize)]
pub struct UserAssertion<'a> {
    /// `urn:atlassian:connect:clientid:<oauthClientId>`.
    pub iss: String,
    /// `urn:atlassian:connect:useraccountid:<accountId>`.
    pub sub: String,
    /// The tenant's baseUrl.
    pub tnt: &'a str,
    /// The authorization server.
    pub aud: &'a str,
    pub iat: i64,
    pub exp: i64,
}

impl<'a> UserAssertion<'a> {
    pub fn new(
        oauth_client_id: &str,
        account_id: &str,
        base_url: &'a str,
        authorization_server: &'a str,
        now: i64,
    ) -> Self {
        Self {
            iss: format!("urn:atlassian:connect:clientid:{oauth_client_id}"),
            sub: format!("urn:atlassian:connect:useraccountid:{account_id}"),
            tnt: base_url,
            aud: authorization_server,
            iat: now,
            exp: now + ASSERTION_LIFETIME_SECS,
        }
    }

    /// The signed assertion (HS256 with the tenant's shared secret).
    pub fn sign(&self, shared_secret: &[u8]) -> Result<String, MintError> {
        hs256(self, shared_secret)
    }
}

#[cfg(test)]
mod tests;
