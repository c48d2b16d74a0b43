//! Forge invocation tokens (FITs) as Forge mints them for a remote (forge-remote.md §2): RS256
//! with the current FIT key, `iss` `forge/invocation-token`, `aud` = `app.id` = the app ARI, the
//! site's installation and cloudId, `principal` only for a user. [`claims`] is a pure function;
//! [`issue`] checks the site is Forge-installed, signs and counts, and logs without the token.

use super::{Forge, ForgeError};
use crate::sites::{Site, User};
use crate::state::now;
use connect::forge::{AppId, FIT_ISSUER};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tracing::debug;

/// Lifetime of a FIT unless asked otherwise (Forge's are about 25 s).
pub const DEFAULT_FIT_LIFETIME_SECS: u64 = 25;
/// Longest lifetime the mint API accepts. Beyond 300 s a correct verifier refuses the token:
/// that is what longer lifetimes are for.
pub const MAX_MINT_LIFETIME_SECS: u64 = 3600;
/// `app.environment.type` of the configured environment.
pub const DEVELOPMENT: &str = "DEVELOPMENT";
/// `app.version` of the simulated app.
pub const APP_VERSION: &str = "1";

/// The calling module (`app.module`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Module {
    /// e.g. `confluence:globalPage`, `core:endpoint`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The module key from the manifest.
    pub key: String,
}

impl Module {
    /// The preferences page (`confluence:globalPage` / `preferences`): UI calls by default.
    pub fn preferences_page() -> Self {
        Self {
            kind: "confluence:globalPage".to_owned(),
            key: "preferences".to_owned(),
        }
    }

    /// The endpoint the triggers are routed through (forge-remote.md §5 manifest:
    /// `core:endpoint` / `backend-events`). Which module Forge names here is unconfirmed.
    pub fn events_endpoint() -> Self {
        Self {
            kind: "core:endpoint".to_owned(),
            key: "backend-events".to_owned(),
        }
    }
}

/// What a FIT should say beyond the site and app.
#[derive(Debug, Clone)]
pub struct FitSpec {
    /// The acting user's accountId; `None` for triggers (and the anonymous visitor).
    pub principal: Option<String>,
    pub module: Module,
    /// `app.environment.id` (any string: tests may mint tokens a verifier must refuse).
    pub environment_id: String,
    /// `app.environment.type`; omitted when `None`.
    pub environment_type: Option<String>,
    pub lifetime_secs: u64,
}

impl FitSpec {
    /// A trigger's FIT: no principal, the events endpoint, the configured environment.
    pub fn trigger(forge: &Forge) -> Self {
        Self {
            principal: None,
            module: Module::events_endpoint(),
            environment_id: forge.config.environment_id.to_string(),
            environment_type: Some(DEVELOPMENT.to_owned()),
            lifetime_secs: DEFAULT_FIT_LIFETIME_SECS,
        }
    }
}

/// The site's product API base, as Forge names it in `app.apiBaseUrl`.
pub fn api_base_url(cloud_id: &str) -> String {
    format!("https://api.atlassian.com/ex/confluence/{cloud_id}")
}

/// `exp` of a FIT issued at `now` that lives `lifetime_secs`.
pub fn expiry(now: i64, lifetime_secs: u64) -> i64 {
    now.saturating_add(i64::try_from(lifetime_secs).unwrap_or(i64::MAX))
}

/// The claims of a FIT issued at `now` (`iat` = `nbf` = `now`).
pub fn claims(
    app_id: &AppId,
    installation_id: &str,
    cloud_id: &str,
    spec: &FitSpec,
    jti: &str,
    now: i64,
) -> Value {
    let api_base_url = api_base_url(cloud_id);
    let mut environment = json!({ "id": spec.environment_id });
    if let Some(kind) = &spec.environment_type {
        environment["type"] = json!(kind);
    }
    let mut claims = json!({
        "iss": FIT_ISSUER,
        "aud": app_id.as_str(),
        "iat": now,
        "nbf": now,
        "exp": expiry(now, spec.lifetime_secs),
        "jti": jti,
        "app": {
            "id": app_id.as_str(),
            "version": APP_VERSION,
            "installationId": installation_id,
            "apiBaseUrl": api_base_url,
            "environment": environment,
            "module": spec.module,
            "installation": {
                "id": installation_id,
                "contexts": [{
                    "name": "confluence",
                    "cloudId": cloud_id,
                    "apiBaseUrl": api_base_url,
                }],
            },
        },
        "context": { "cloudId": cloud_id, "moduleKey": spec.module.key },
    });
    if let Some(principal) = &spec.principal {
        claims["principal"] = json!(principal);
    }
    claims
}

/// A signed FIT and what it says, for the API answer.
#[derive(Debug, Clone, Serialize)]
pub struct MintedFit {
    /// The token (send as `Authorization: Bearer <token>`).
    pub token: String,
    /// Its `exp` (Unix seconds).
    pub exp: i64,
    /// The `kid` of its header.
    pub kid: String,
    /// `app.installationId`.
    pub installation_id: String,
    /// `context.cloudId` and `app.installation.contexts[0].cloudId`.
    pub cloud_id: String,
    /// `principal`, if any.
    pub account_id: Option<String>,
    /// `app.environment.id`.
    pub environment_id: String,
}

/// A FIT for `site`'s current Forge installation, signed with the current key and counted.
pub fn issue(forge: &Forge, site: &Site, spec: &FitSpec) -> Result<MintedFit, ForgeError> {
    let installation = site
        .forge_installation()
        .ok_or(ForgeError::NotInstalled(site.slug))?;
    let jti = crate::ids::random_uuid().map_err(ForgeError::Random)?;
    let now = now();
    let claims = claims(
        &forge.config.app_id,
        &installation.installation_id,
        &site.cloud_id,
        spec,
        &jti,
        now,
    );
    let key = forge.keys.current();
    let token = key.sign_rs256(&claims)?;
    site.count_fit();
    let exp = expiry(now, spec.lifetime_secs);
    debug!(site = site.slug, kid = key.kid(), principal = spec.principal.is_some(), module = %spec.module.key, exp, "Forge invocation token issued");
    Ok(MintedFit {
        token,
        exp,
        kid: key.kid().to_owned(),
        installation_id: installation.installation_id,
        cloud_id: site.cloud_id.clone(),
        account_id: spec.principal.clone(),
        environment_id: spec.environment_id.clone(),
    })
}

/// The principal for `user`: their accountId; none for the anonymous visitor.
pub fn principal_of(user: &User) -> Option<String> {
    user.account_id.map(str::to_owned)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::config::ForgeConfig;

    const NOW: i64 = 1_700_000_000;
    const INSTALLATION: &str =
        "ari:cloud:ecosystem::installation/11ac20df-be56-457d-af77-b776285cb0f0";
    const CLOUD: &str = "866c3a03-ec62-4717-91c4-1ad078bfcc60";

    fn spec(principal: Option<&str>) -> FitSpec {
        FitSpec {
            principal: principal.map(str::to_owned),
            module: Module::preferences_page(),
            environment_id: ForgeConfig::development().environment_id.to_string(),
            environment_type: Some(DEVELOPMENT.to_owned()),
            lifetime_secs: DEFAULT_FIT_LIFETIME_SECS,
        }
    }

    #[test]
    fn ui_claims_have_every_required_member() {
        let config = ForgeConfig::development();
        let c = claims(
            &config.app_id,
            INSTALLATION,
            CLOUD,
            &spec(Some("557058:aaaa-alice")),
            "jti-1",
            NOW,
        );
        assert_eq!(c["iss"], "forge/invocation-token");
        assert_eq!(c["aud"], config.app_id.as_str());
        assert_eq!(c["app"]["id"], c["aud"]);
        assert_eq!(
            (c["iat"].clone(), c["nbf"].clone()),
            (json!(NOW), json!(NOW))
        );
        assert_eq!(c["exp"], NOW + 25);
        assert_eq!(c["jti"], "jti-1");
        assert_eq!(c["principal"], "557058:aaaa-alice");
        assert_eq!(c["app"]["installationId"], INSTALLATION);
        assert_eq!(c["app"]["installation"]["id"], INSTALLATION);
        assert_eq!(
            c["app"]["apiBaseUrl"],
            format!("https://api.atlassian.com/ex/confluence/{CLOUD}")
        );
        assert_eq!(
            c["app"]["environment"],
            json!({"id": config.environment_id.as_str(), "type": "DEVELOPMENT"})
        );
        assert_eq!(
            c["app"]["module"],
            json!({"type": "confluence:globalPage", "key": "preferences"})
        );
        assert_eq!(c["app"]["installation"]["contexts"][0]["cloudId"], CLOUD);
        assert_eq!(
            c["context"],
            json!({"cloudId": CLOUD, "moduleKey": "preferences"})
        );
    }

    #[test]
    fn trigger_claims_have_no_principal() {
        let config = ForgeConfig::development();
        let mut s = spec(None);
        s.module = Module::events_endpoint();
        s.environment_type = None;
        let c = claims(&config.app_id, INSTALLATION, CLOUD, &s, "j", NOW);
        assert!(c.get("principal").is_none());
        assert_eq!(c["app"]["module"]["type"], "core:endpoint");
        assert!(c["app"]["environment"].get("type").is_none());
    }
}
