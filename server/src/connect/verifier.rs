//! Token verification for each token kind, following `docs/AUTH-RULES.md` §C1–§C2:
//! algorithm pinned per kind, tenant found only by `iss` and required to be active, signature
//! before claims (so a forged token never learns whether it expired), then times and `qsh`.
//! Returns typed results; never logs a token or a secret.

use std::sync::Arc;

use connect::{
    CONTEXT_QSH, Claims, Kid, SESSION_KIND, UnverifiedToken, VerifyError, query_string_hash,
    verify_hs256, verify_rs256,
};

use super::install_keys::{InstallKeys, KeyError};
use super::secrets::{SecretKeys, SharedSecret};
use super::verified_tokens::{Memo, VerifiedTokens};
use crate::cache::{Coherent, Weighed, WriteGuard};
use crate::db::tenants::{self, TenantState};
use crate::db::{Db, DbError};

/// The longest life an app-minted session token may have.
pub const SESSION_TOKEN_MAX_SECS: i64 = 15 * 60;

/// Which kind of token a request was authenticated with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// `?jwt=` on a page load: HS256, qsh computed from the request.
    Iframe,
    /// `AP.context.getToken()`: HS256, qsh `context-qsh`.
    HostContext,
    /// Minted by this app for the page's meta tag: like a context token, marked `kind`.
    AppSession,
    /// `enabled`/`disabled` callbacks: HS256, qsh computed.
    HostCallback,
    /// `installed`/`uninstalled`: RS256 with Atlassian's install key.
    Lifecycle,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Iframe => "iframe",
            Self::HostContext => "host_context",
            Self::AppSession => "app_session",
            Self::HostCallback => "host_callback",
            Self::Lifecycle => "lifecycle",
        }
    }
}

/// The method and raw target of the request a token must be bound to.
#[derive(Debug, Clone, Copy)]
pub struct RequestTarget<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
}

/// An active tenant with its decrypted secret.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub client_key: String,
    /// The site its users' data is keyed by.
    pub site_id: String,
    pub secret: SharedSecret,
    pub base_url: String,
    pub display_url: Option<String>,
    /// From the install payload: the OAuth client for user impersonation, if Atlassian sent one.
    pub oauth_client_id: Option<String>,
}

impl Tenant {
    /// The address users know the site by.
    pub fn site_url(&self) -> &str {
        self.display_url.as_deref().unwrap_or(&self.base_url)
    }

    /// `site_url`, without a copy.
    pub fn into_site_url(self) -> String {
        self.display_url.unwrap_or(self.base_url)
    }
}

#[derive(Debug, Clone)]
pub struct Verified {
    pub tenant: Tenant,
    pub claims: Claims,
    pub kind: TokenKind,
}

/// Which tenant states a token kind accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tenancy {
    /// Users' tokens: installed or enabled.
    Active,
    /// Host callbacks: also a disabled tenant (so `enabled` can re-enable it).
    NotUninstalled,
}

/// Why a request was not authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// The token is not acceptable; `code()` gives the only detail a client sees.
    Token(VerifyError),
    /// The tenant store did not answer: the client may retry (503).
    StoreUnavailable,
    /// Too many install keys are being fetched; this one was not: the client may retry (503).
    KeyServiceBusy,
    /// Our fault (a tenant secret that does not decrypt, a database error): 500.
    Internal,
}

impl From<VerifyError> for AuthError {
    fn from(e: VerifyError) -> Self {
        Self::Token(e)
    }
}

impl From<KeyError> for AuthError {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::Invalid => Self::Token(VerifyError::InvalidKey),
            KeyError::Busy => Self::KeyServiceBusy,
        }
    }
}

impl From<DbError> for AuthError {
    fn from(e: DbError) -> Self {
        match e {
            // A read has no write outcome: both mean "not now".
            DbError::Unavailable | DbError::OutcomeUnknown => Self::StoreUnavailable,
            DbError::Failed(detail) => {
                tracing::error!(%detail, "tenant lookup failed");
                Self::Internal
            }
        }
    }
}

/// A tenant as the cache keeps it: decrypted, with its state (inactive ones are cached too).
#[derive(Clone)]
pub struct CachedTenant {
    tenant: Tenant,
    state: TenantState,
}

impl Weighed for CachedTenant {
    fn weight(&self) -> usize {
        let t = &self.tenant;
        192 + t.client_key.len()
            + t.site_id.len()
            + t.secret.as_bytes().len()
            + t.base_url.len()
            + t.display_url.as_ref().map_or(0, String::len)
            + t.oauth_client_id.as_ref().map_or(0, String::len)
    }
}

pub struct Verifier {
    db: Db,
    /// Tenants by clientKey, when this process is the store's only writer (`crate::cache`).
    tenants: Option<Arc<Coherent<String, CachedTenant>>>,
    /// API tokens already verified (`verified_tokens`), under the same condition.
    verified: Option<VerifiedTokens>,
    secrets: Arc<SecretKeys>,
    keys: InstallKeys,
    leeway_secs: u64,
    base_url: String,
    base_path: String,
}

fn now() -> i64 {
    crate::db::now()
}

impl Verifier {
    pub fn new(
        db: Db,
        secrets: Arc<SecretKeys>,
        keys: InstallKeys,
        leeway_secs: u64,
        base_url: String,
        base_path: String,
        cache_bytes: u64,
    ) -> Self {
        Self {
            tenants: (cache_bytes > 0).then(|| Arc::new(Coherent::new(cache_bytes / 2))),
            verified: (cache_bytes > 0).then(|| VerifiedTokens::new(cache_bytes / 2)),
            db,
            secrets,
            keys,
            leeway_secs,
            base_url,
            base_path,
        }
    }

    pub fn secrets(&self) -> &SecretKeys {
        &self.secrets
    }

    pub fn install_keys(&self) -> &InstallKeys {
        &self.keys
    }

    /// Its caches, by name, for the metrics (none when off).
    pub fn cache_readings(&self) -> crate::metrics::caches::CacheList {
        let mut list = crate::metrics::caches::CacheList::new();
        if let Some(tenants) = &self.tenants {
            list.push(("tenants", tenants.reading()));
        }
        if let Some(verified) = &self.verified {
            list.push(("connect_tokens", verified.reading()));
        }
        list
    }

    /// The qsh this app expects for a request (its base path stripped).
    pub fn expected_qsh(&self, target: RequestTarget<'_>) -> String {
        query_string_hash(target.method, target.path, target.query, &self.base_path)
    }

    /// Hold across a lifecycle write of `client_key`: the cached tenant is dropped when the
    /// write ends (committed, failed or cancelled), so the next token sees the new state.
    pub fn tenant_write(&self, client_key: &str) -> Option<WriteGuard<String, CachedTenant>> {
        self.tenants
            .as_ref()
            .map(|cache| cache.write(client_key.to_owned()))
    }

    /// Drops every cached tenant (their sites may have merged).
    pub fn forget_tenants(&self) {
        if let Some(cache) = &self.tenants {
            cache.invalidate_all();
        }
    }

    /// The tenant by clientKey with its state, from the cache or the store (`None`: unknown).
    async fn lookup(&self, client_key: &str) -> Result<Option<CachedTenant>, AuthError> {
        if let Some(cached) = self.tenants.as_ref().and_then(|c| c.get(client_key)) {
            return Ok(Some(cached));
        }
        let ticket = self.tenants.as_ref().map(|c| c.ticket(client_key));
        let Some(row) = tenants::find(&self.db, client_key).await? else {
            return Ok(None);
        };
        let secret = self
            .secrets
            .decrypt(&row.client_key, &row.shared_secret_enc)
            .map_err(|e| {
                tracing::error!(error = %e, "a tenant's shared secret does not decrypt");
                AuthError::Internal
            })?;
        let found = CachedTenant {
            tenant: Tenant {
                client_key: row.client_key,
                site_id: row.site_id,
                secret,
                base_url: row.base_url,
                display_url: row.display_url,
                oauth_client_id: row.oauth_client_id,
            },
            state: row.state,
        };
        if let (Some(cache), Some(ticket)) = (&self.tenants, ticket) {
            cache.fill(ticket, found.tenant.client_key.clone(), found.clone());
        }
        Ok(Some(found))
    }

    /// An installed (or enabled) tenant by clientKey, with its secret: for calls the app makes
    /// to that tenant as itself (background jobs, tests).
    pub async fn installed_tenant(&self, client_key: &str) -> Result<Tenant, AuthError> {
        self.tenant(client_key, Tenancy::Active).await
    }

    /// A tenant in an accepted state by clientKey, or `invalid_token`.
    async fn tenant(&self, client_key: &str, tenancy: Tenancy) -> Result<Tenant, AuthError> {
        let Some(found) = self.lookup(client_key).await? else {
            return Err(VerifyError::InvalidClaim("iss").into());
        };
        let accepted = match tenancy {
            Tenancy::Active => found.state.is_active(),
            Tenancy::NotUninstalled => found.state != TenantState::Uninstalled,
        };
        if !accepted {
            return Err(VerifyError::InvalidClaim("iss").into());
        }
        Ok(found.tenant)
    }

    /// Shared HS256 path: parse, pin the algorithm, find the tenant by `iss`, check the
    /// signature, then the times. The caller checks `qsh` for its kind.
    async fn verify_symmetric(
        &self,
        token: &str,
        tenancy: Tenancy,
    ) -> Result<(Tenant, UnverifiedToken), AuthError> {
        let parsed = UnverifiedToken::parse(token)?;
        if parsed.header().alg != "HS256" {
            return Err(VerifyError::UnsupportedAlgorithm.into());
        }
        let tenant = self.tenant(&parsed.claims().iss, tenancy).await?;
        verify_hs256(&parsed, tenant.secret.as_bytes())?;
        parsed.claims().check_times(now(), self.leeway_secs)?;
        Ok((tenant, parsed))
    }

    /// HS256 tokens bound to one request (page loads, host callbacks): qsh must be the hash of
    /// this request (so never `context-qsh`), and no app-minted `kind`.
    async fn bound_to_request(
        &self,
        token: &str,
        target: RequestTarget<'_>,
        tenancy: Tenancy,
    ) -> Result<(Tenant, UnverifiedToken), AuthError> {
        let (tenant, parsed) = self.verify_symmetric(token, tenancy).await?;
        if parsed.claims().kind.is_some() {
            return Err(VerifyError::InvalidClaim("kind").into());
        }
        parsed.claims().check_qsh(&self.expected_qsh(target))?;
        Ok((tenant, parsed))
    }

    /// A page-load token (`?jwt=`) of an installed or enabled tenant.
    pub async fn iframe(
        &self,
        token: &str,
        target: RequestTarget<'_>,
    ) -> Result<Verified, AuthError> {
        let (tenant, parsed) = self
            .bound_to_request(token, target, Tenancy::Active)
            .await?;
        Ok(Verified {
            tenant,
            claims: parsed.into_claims(),
            kind: TokenKind::Iframe,
        })
    }

    /// An API token (`Authorization: JWT`): qsh exactly `context-qsh`. Also accepts the app's
    /// own session tokens, which may live at most 15 minutes.
    pub async fn context(&self, token: &str) -> Result<Verified, AuthError> {
        if let Some(memo) = self.verified.as_ref().and_then(|v| v.get(token)) {
            // Verified before: only what can have changed since is checked (`verified_tokens`).
            let tenant = self.tenant(&memo.claims.iss, Tenancy::Active).await?;
            // Both secrets are the server's own (none comes from the request): a plain comparison.
            if tenant.secret == memo.secret {
                if let Err(e) = memo.claims.check_times(now(), self.leeway_secs) {
                    if let Some(v) = &self.verified {
                        v.remove(token);
                    }
                    return Err(e.into());
                }
                return Ok(Verified {
                    tenant,
                    claims: memo.claims.clone(),
                    kind: memo.kind,
                });
            }
            // The tenant's secret changed (re-installed): verify afresh, which decides.
        }
        let (tenant, parsed) = self.verify_symmetric(token, Tenancy::Active).await?;
        let claims = parsed.into_claims();
        claims.check_qsh(CONTEXT_QSH)?;
        let kind = match claims.kind.as_deref() {
            None => TokenKind::HostContext,
            // Checked: extreme `exp`/`iat` must be refused, not overflow (or wrap into a pass).
            Some(SESSION_KIND)
                if (claims.exp.checked_sub(claims.iat))
                    .is_some_and(|life| life <= SESSION_TOKEN_MAX_SECS) =>
            {
                TokenKind::AppSession
            }
            Some(_) => return Err(VerifyError::InvalidClaim("kind").into()),
        };
        if let Some(v) = &self.verified {
            let memo = Memo {
                claims: claims.clone(),
                kind,
                secret: tenant.secret.clone(),
            };
            v.insert(token, memo);
        }
        Ok(Verified {
            tenant,
            claims,
            kind,
        })
    }

    /// `enabled`/`disabled` callbacks: HS256 with the tenant's secret, computed qsh; a disabled
    /// tenant is accepted so that it can be enabled again. Also returns the token's identity
    /// (hash of signing input and decoded signature) for the replay check.
    pub async fn host_callback(
        &self,
        token: &str,
        target: RequestTarget<'_>,
    ) -> Result<(Verified, [u8; 32]), AuthError> {
        let (tenant, parsed) = self
            .bound_to_request(token, target, Tenancy::NotUninstalled)
            .await?;
        let replay_key = parsed.replay_key();
        let verified = Verified {
            tenant,
            claims: parsed.into_claims(),
            kind: TokenKind::HostCallback,
        };
        Ok((verified, replay_key))
    }

    /// `installed`/`uninstalled`: RS256 only, key fetched by a validated `kid`; `aud` must be our
    /// base URL, `iss` the body's clientKey, qsh this request. Replay is checked by the caller,
    /// in the same transaction as its write.
    pub async fn lifecycle(
        &self,
        token: &str,
        target: RequestTarget<'_>,
        body_client_key: &str,
    ) -> Result<UnverifiedToken, AuthError> {
        let parsed = UnverifiedToken::parse(token)?;
        if parsed.header().alg != "RS256" {
            return Err(VerifyError::UnsupportedAlgorithm.into());
        }
        let kid = Kid::parse(
            parsed
                .header()
                .kid
                .as_deref()
                .ok_or(VerifyError::MissingKid)?,
        )?;
        let key = self.keys.get(&kid).await?;
        verify_rs256(&parsed, &key)?;
        let claims = parsed.claims();
        claims.check_times(now(), self.leeway_secs)?;
        claims.check_audience(&self.base_url)?;
        claims.check_issuer(body_client_key)?;
        claims.check_qsh(&self.expected_qsh(target))?;
        Ok(parsed)
    }

    /// Expiry (plus leeway) of an accepted lifecycle token: how long its replay entry is kept.
    pub fn replay_expiry(&self, claims: &Claims) -> i64 {
        claims
            .exp
            .saturating_add(i64::try_from(self.leeway_secs).unwrap_or(i64::MAX))
    }
}
