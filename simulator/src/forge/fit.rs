//! Forge invocation tokens (FITs) as Forge mints them for a remote (docs/AUTH-RULES.md §F1): RS256
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

    /// The endpoint the triggers are routed through (docs/AUTH-RULES.md §F4.3 manifest:
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

/// The site's product API base, as Forge names it in `app.apiBaseUrl`: the configured base
/// (`SIM_FORGE_API_BASE_URL`) and the cloudId.
pub fn api_base_url(base: &str, cloud_id: &str) -> String {
    format!("{}/{cloud_id}", base.trim_end_matches('/'))
}

/// `exp` of a FIT issued at `now` that lives `lifetime_secs`.
pub fn expiry(now: i64, lifetime_secs: u64) -> i64 {
    now.saturating_add(i64::try_from(lifetime_secs).unwrap_or(i64::MAX))
}

/// The site a FIT is for: its installation, cloudId and product API base (`apiBaseUrl`).
#[derive(Debug, Clone, Copy)]
pub struct FitSite<'a> {
    /// The installation ARI.
    pub installation_id: &'a str,
    /// The site's cloudId.
    pub cloud_id: &'a str,
    /// `app.apiBaseUrl`.
    pub api_base_url: &'a str,
}

/// The claims of a FIT issued at `now` (`iat` = `nbf` = `now`).
pub fn claims(app_id: &AppId, site: FitSite<'_>, spec: &FitSpec, jti: &str, now: i64) -> Value {
    let FitSite {
        installation_id,
        cloud_id,
        api_base_url,
    } = site;
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
    /// `app.apiBaseUrl`.
    pub api_base_url: String,
    /// With a user: an access token for the site's product API as that user (what Forge
    /// passes a remote as `x-forge-oauth-user`); `null` otherwise.
    pub oauth_user: Option<String>,
}

/// A FIT for `site`'s current Forge installation, signed with the current key and counted.
pub fn issue(forge: &Forge, site: &Site, spec: &FitSpec) -> Result<MintedFit, ForgeError> {
    let installation = site
        .forge_installation()
        .ok_or(ForgeError::NotInstalled(site.slug))?;
    let jti = crate::ids::random_uuid().map_err(ForgeError::Random)?;
    let now = now();
    let api_base_url = api_base_url(&forge.config.api_base_url, &site.cloud_id);
    let fit_site = FitSite {
        installation_id: &installation.installation_id,
        cloud_id: &site.cloud_id,
        api_base_url: &api_base_url,
    };
    let claims = claims(&forge.config.app_id, fit_site, spec, &jti, now);
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
        api_base_url,
        oauth_user: None,
    })
}

/// The principal for `user`: their accountId; none for the anonymous visitor.
pub fn principal_of(user: &User) -> Option<String> {
    user.account_id.map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ForgeConfig;

    const NOW: i64 = 1_700_000_000;
    const INSTALLATION: &str =
        "ari:cloud:ecosystem::installation/11ac20df-be56-457d-af77-b776285cb0f0";
    const CLOUD: &str = "866c3a03-ec62-4717-91c4-1ad078bfcc60";

    const API_BASE: &str =
        "https://api.atlassian.com/ex/confluence/866c3a03-ec62-4717-91c4-1ad078bfcc60";

    fn site() -> FitSite<'static> {
        FitSite {
            installation_id: INSTALLATION,
            cloud_id: CLOUD,
            api_base_url: API_BASE,
        }
    }

    #[test]
    fn api_base_url_is_the_configured_base_and_the_cloud_id() {
        let config = ForgeConfig::development();
        assert_eq!(api_base_url(&config.api_base_url, CLOUD), API_BASE);
        assert_eq!(
            api_base_url("http://127.0.0.1:3100/ex/confluence/", CLOUD),
            format!("http://127.0.0.1:3100/ex/confluence/{CLOUD}")
        );
    }

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
            site(),
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
        let c = claims(&config.app_id, site(), &s, "j", NOW);
        assert!(c.get("principal").is_none());
        assert_eq!(c["app"]["module"]["type"], "core:endpoint");
        assert!(c["app"]["environment"].get("type").is_none());
    }
}
