//! Connect user impersonation: the OAuth 2.0 JWT-bearer grant. An assertion signed with the
//! tenant's shared secret is exchanged at `<ATLASSIAN_OAUTH_URL>/oauth2/token` for an access
//! token, cached per (tenant, user, scopes) until shortly before it expires. One exchange per
//! key is in flight at a time: concurrent callers wait for it. Tokens are never logged.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;
use secrecy::SecretString;
use serde::Deserialize;
use url::Url;

use super::Outbound;
use super::error::OutboundError;
use super::send::{Call, Credential, Destination};
use connect::outbound::{JWT_BEARER_GRANT, UserAssertion};

/// A token is exchanged again this long before it expires (or at half its life, if shorter).
const REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// Who a token is for: tenant (clientKey), user, scopes.
type Key = (String, String, &'static str);

#[derive(Clone)]
struct Cached {
    token: Arc<SecretString>,
    refresh_at: Instant,
}

/// The tenant facts an exchange needs.
pub struct Grant<'a> {
    pub client_key: &'a str,
    pub oauth_client_id: &'a str,
    pub base_url: &'a str,
    pub secret: &'a [u8],
    pub account_id: &'a str,
    /// Space-separated, upper case (`READ`, `WRITE`, …).
    pub scopes: &'static str,
}

pub struct UserTokens {
    cache: quick_cache::sync::Cache<Key, Cached>,
    exchanges: AtomicU64,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: u64,
}

impl UserTokens {
    pub fn new(entries: usize) -> Self {
        Self {
            cache: quick_cache::sync::Cache::new(entries),
            exchanges: AtomicU64::new(0),
        }
    }

    /// Exchanges made so far (tests, logs).
    pub fn exchanges(&self) -> u64 {
        self.exchanges.load(Ordering::Relaxed)
    }

    /// Drops the cached token of this grant (Atlassian refused it).
    pub fn forget(&self, grant: &Grant<'_>) {
        self.cache.remove(&key(grant));
    }

    /// A valid access token for `grant`, from the cache or a new exchange, by `deadline`
    /// (waiting for another caller's exchange included: when that one fails, the next waiter
    /// tries its own, so without the deadline waits would add up).
    pub async fn token(
        &self,
        outbound: &Outbound,
        grant: &Grant<'_>,
        deadline: Instant,
    ) -> Result<Arc<SecretString>, OutboundError> {
        tokio::time::timeout_at(deadline.into(), self.token_inner(outbound, grant, deadline))
            .await
            .unwrap_or(Err(OutboundError::Timeout))
    }

    async fn token_inner(
        &self,
        outbound: &Outbound,
        grant: &Grant<'_>,
        deadline: Instant,
    ) -> Result<Arc<SecretString>, OutboundError> {
        let key = key(grant);
        loop {
            match self.cache.get_value_or_guard_async(&key).await {
                Ok(cached) if Instant::now() < cached.refresh_at => return Ok(cached.token),
                Ok(_) => {
                    self.cache.remove(&key);
                }
                Err(guard) => {
                    // Holding the guard: anyone else asking for this key waits here. If the
                    // exchange fails the guard drops and the next waiter tries its own.
                    let fresh = self.exchange(outbound, grant, deadline).await?;
                    let token = fresh.token.clone();
                    let _ = guard.insert(fresh);
                    return Ok(token);
                }
            }
        }
    }

    async fn exchange(
        &self,
        outbound: &Outbound,
        grant: &Grant<'_>,
        deadline: Instant,
    ) -> Result<Cached, OutboundError> {
        let oauth_url = outbound.config.oauth_url.trim_end_matches('/');
        let endpoint = Url::parse(&format!("{oauth_url}/oauth2/token"))
            .map_err(|_| OutboundError::NotPossible("ATLASSIAN_OAUTH_URL is not a URL"))?;
        let assertion = UserAssertion::new(
            grant.oauth_client_id,
            grant.account_id,
            grant.base_url,
            oauth_url,
            crate::db::now(),
        )
        .sign(grant.secret)
        .map_err(|_| OutboundError::NotPossible("no signing secret"))?;
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", JWT_BEARER_GRANT)
            .append_pair("assertion", &assertion)
            .append_pair("scope", grant.scopes)
            .finish();
        self.exchanges.fetch_add(1, Ordering::Relaxed);
        let asked_at = Instant::now();
        let reply = outbound
            .send_until(
                Call {
                    kind: "oauth",
                    method: Method::POST,
                    destination: Destination::Fixed(endpoint),
                    credential: Credential::None,
                    body: Some(("application/x-www-form-urlencoded", form)),
                },
                deadline,
            )
            .await
            .map_err(|e| match e {
                // The authorization server refused this grant.
                OutboundError::Rejected(_)
                | OutboundError::Unauthorized
                | OutboundError::Forbidden
                | OutboundError::NotFound => OutboundError::Unauthorized,
                other => other,
            })?;
        let answer: TokenAnswer =
            serde_json::from_slice(&reply.body).map_err(|_| OutboundError::BadResponse)?;
        if answer.access_token.is_empty() {
            return Err(OutboundError::BadResponse);
        }
        let life = Duration::from_secs(answer.expires_in);
        let margin = REFRESH_MARGIN.min(life / 2);
        Ok(Cached {
            token: Arc::new(SecretString::from(answer.access_token)),
            refresh_at: asked_at + life - margin,
        })
    }
}

fn key(grant: &Grant<'_>) -> Key {
    (
        grant.client_key.to_owned(),
        grant.account_id.to_owned(),
        grant.scopes,
    )
}
