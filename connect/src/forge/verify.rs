//! Verifying a Forge invocation token (docs/AUTH-RULES.md §F1): the header is checked before any
//! key is looked up ([`UnverifiedFit::parse`]), then the signature with the key the caller found
//! for its `kid`, then every claim against a [`FitPolicy`]. No I/O: fetching keys is the caller's.

use super::claims::{FitClaims, FitModule};
use super::error::FitError;
use super::ids::{AccountId, AppId, CloudId, EnvironmentId, InstallationId};
use super::jwks::ForgeKey;
use super::kid::FitKid;
use crate::claims::check_times;
use crate::error::VerifyError;
use crate::token::Jws;
use std::fmt;

/// The `iss` of every invocation token.
pub const FIT_ISSUER: &str = "forge/invocation-token";
/// Longest `exp - iat` ever accepted; FITs live about 25 s.
pub const MAX_FIT_LIFETIME_SECS: i64 = 300;
/// Where product APIs are reached through (`app.apiBaseUrl`). The only form seen in Atlassian's
/// documentation and samples; not a documented guarantee, hence a policy field.
pub const DEFAULT_API_BASE_URL_PREFIX: &str = "https://api.atlassian.com/ex/";

/// Which environments' installs may call (development, staging and production share one `aud`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvironmentPolicy {
    /// Exactly these environments (of this app).
    Only(Vec<EnvironmentId>),
    /// Any environment of this app: development setups only.
    AnyOfApp,
}

/// What a token must say to be accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FitPolicy {
    /// This app: `aud` and `app.id` must equal it.
    pub app_id: AppId,
    pub environments: EnvironmentPolicy,
    /// Clock-skew leeway for `exp`/`iat`/`nbf` (shared with Connect; clamped to 60 s).
    pub leeway_secs: u64,
    /// Longest accepted `exp - iat`; values above [`MAX_FIT_LIFETIME_SECS`] act as it.
    pub max_lifetime_secs: i64,
    /// `app.apiBaseUrl` must start with this.
    pub api_base_url_prefix: String,
}

impl FitPolicy {
    /// The policy with the default lifetime cap and API base URL prefix.
    pub fn new(app_id: AppId, environments: EnvironmentPolicy, leeway_secs: u64) -> Self {
        Self {
            app_id,
            environments,
            leeway_secs,
            max_lifetime_secs: MAX_FIT_LIFETIME_SECS,
            api_base_url_prefix: DEFAULT_API_BASE_URL_PREFIX.to_owned(),
        }
    }
}

/// What a verified token establishes. Everything here was signed by Atlassian.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedFit {
    pub app_id: AppId,
    pub installation_id: InstallationId,
    pub environment_id: EnvironmentId,
    /// `app.environment.type` (`DEVELOPMENT`, `STAGING`, `PRODUCTION`), informational.
    pub environment_type: Option<String>,
    /// The site, when the token names it (`app.installation.contexts[].cloudId`,
    /// `context.cloudId`); every place that names it agrees.
    pub cloud_id: Option<CloudId>,
    /// The acting user: present for calls from a UI module, absent for triggers.
    pub principal: Option<AccountId>,
    pub api_base_url: String,
    pub module: Option<FitModule>,
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
}

/// A token whose header passed: `alg` exactly `RS256` and a valid `kid`. Nothing else about it
/// is known yet; [`UnverifiedFit::kid`] is what the caller looks a key up by.
pub struct UnverifiedFit {
    jws: Jws,
    kid: FitKid,
}

impl UnverifiedFit {
    /// Strict parse (the rules of [`crate::UnverifiedToken::parse`]: size cap, canonical
    /// base64url, no duplicate keys, no `crit`), then the header rules. Claims are not read.
    pub fn parse(token: &str) -> Result<Self, FitError> {
        let jws = Jws::parse(token)?;
        if jws.header.alg != "RS256" {
            return Err(VerifyError::UnsupportedAlgorithm.into());
        }
        let kid = jws.header.kid.as_deref().ok_or(VerifyError::MissingKid)?;
        let kid = FitKid::parse(kid)?;
        Ok(Self { jws, kid })
    }

    /// The key id to find the verification key by (a map key only).
    pub fn kid(&self) -> &FitKid {
        &self.kid
    }

    /// Signature with `key`, then the claims against `policy` at `now` (Unix seconds).
    pub fn verify(
        &self,
        key: &ForgeKey,
        policy: &FitPolicy,
        now: i64,
    ) -> Result<VerifiedFit, FitError> {
        key.verify(self.jws.signing_input.as_bytes(), &self.jws.signature)?;
        let claims = FitClaims::from_object(&self.jws.payload)?;
        check(claims, policy, now)
    }
}

impl fmt::Debug for UnverifiedFit {
    // The token text and signature stay out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnverifiedFit")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

fn check(c: FitClaims, policy: &FitPolicy, now: i64) -> Result<VerifiedFit, FitError> {
    if c.iss != FIT_ISSUER {
        return Err(FitError::WrongIssuer);
    }
    if c.aud != policy.app_id.as_str() {
        return Err(FitError::WrongAudience);
    }
    if c.app_id != c.aud {
        return Err(FitError::AppIdMismatch);
    }
    check_times(c.iat, c.exp, Some(c.nbf), now, policy.leeway_secs)?;
    let lifetime = c.exp.checked_sub(c.iat).ok_or(VerifyError::BadTimes)?;
    if lifetime > policy.max_lifetime_secs.min(MAX_FIT_LIFETIME_SECS) {
        return Err(FitError::LifetimeTooLong);
    }
    if c.has_ic_label {
        return Err(FitError::IsolatedCloud);
    }
    let allowed = c.environment_id.is_of(&policy.app_id)
        && match &policy.environments {
            EnvironmentPolicy::Only(list) => list.contains(&c.environment_id),
            EnvironmentPolicy::AnyOfApp => true,
        };
    if !allowed {
        return Err(FitError::EnvironmentNotAllowed);
    }
    if !c.api_base_url.starts_with(&policy.api_base_url_prefix) {
        return Err(FitError::ApiBaseUrlNotAllowed);
    }
    if c.nested_installation_id
        .as_ref()
        .is_some_and(|id| *id != c.installation_id)
    {
        return Err(FitError::InconsistentInstallation);
    }
    let cloud_id = c.cloud_ids.first().cloned();
    if c.cloud_ids.iter().any(|id| Some(id) != cloud_id.as_ref()) {
        return Err(FitError::InconsistentInstallation);
    }
    Ok(VerifiedFit {
        app_id: policy.app_id.clone(),
        installation_id: c.installation_id,
        environment_id: c.environment_id,
        environment_type: c.environment_type,
        cloud_id,
        principal: c.principal,
        api_base_url: c.api_base_url,
        module: c.module,
        jti: c.jti,
        iat: c.iat,
        exp: c.exp,
    })
}
