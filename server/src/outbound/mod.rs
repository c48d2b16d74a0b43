//! Calling Atlassian: a signed, rate-aware client for the product's REST API.
//!
//! - [`access`]: who a call acts as (the app, or the user) on which transport, bound to one
//!   verified caller.
//! - [`send`]: one call end to end: signing each hop, redirects kept inside the tenant,
//!   retries with `Retry-After` and jittered backoff inside one budget, a response size cap,
//!   one log line without token or query.
//! - [`user_tokens`]: Connect user impersonation (JWT-bearer grant), cached per tenant, user
//!   and scope with one exchange in flight per key.
//! - [`spaces`]: the space directory server functions use, over `GET /wiki/api/v2/spaces`.
//! - [`retry`], [`error`]: the pure parts.

pub mod access;
pub mod error;
pub mod retry;
pub mod send;
pub mod spaces;
pub mod user_tokens;

use std::sync::Arc;
use std::time::Duration;

pub use access::ProductAccess;
pub use error::OutboundError;
pub use retry::RetryPolicy;

/// Settings of the outbound client.
#[derive(Debug, Clone)]
pub struct OutboundConfig {
    /// `ATLASSIAN_OAUTH_URL`: the authorization server (token endpoint `<url>/oauth2/token`),
    /// also the `aud` of user assertions.
    pub oauth_url: String,
    /// The app key (`iss` of app JWTs).
    pub app_key: String,
    /// Plain http is allowed for loopback hosts only (production), or anywhere (development).
    pub allow_plain_http: bool,
    pub retry: RetryPolicy,
    /// The largest response body read.
    pub max_body: usize,
}

/// The client: one connection pool, the user-token cache. Cheap to share (`Arc`).
pub struct Outbound {
    http: reqwest::Client,
    config: OutboundConfig,
    user_tokens: user_tokens::UserTokens,
    /// Calls, retries and 429s (`metrics::outbound`).
    meters: crate::metrics::outbound::OutboundMeters,
}

impl Outbound {
    pub fn new(config: OutboundConfig) -> Result<Arc<Self>, String> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            // Each hop is decided here (`send`): a redirect may need a new signature, or lead
            // where no credential may go.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(2))
            .user_agent(concat!(
                "confluence-preferences/",
                env!("CARGO_PKG_VERSION"),
                " (Atlassian Connect and Forge app)"
            ))
            .build()
            .map_err(|e| format!("cannot build the outbound HTTP client: {e}"))?;
        Ok(Arc::new(Self {
            http,
            config,
            user_tokens: user_tokens::UserTokens::new(10_000),
            meters: Default::default(),
        }))
    }

    pub fn config(&self) -> &OutboundConfig {
        &self.config
    }

    pub fn meters(&self) -> &crate::metrics::outbound::OutboundMeters {
        &self.meters
    }
}
