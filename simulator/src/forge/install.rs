//! Forge installs of the app and the triggers Forge delivers to the remote: install (a new
//! installationId, then `avi:forge:installed:app` to `{app}/forge/installed`), upgrade (same id,
//! `avi:forge:upgraded:app`) and uninstall (preUninstall to `{app}/forge/uninstalled`, then the
//! installation is gone). Each carries a FIT without principal; each status is recorded.
//! The installation exists whatever the app answers: as on Forge, a trigger cannot veto it.

use super::fit::{self, FitSpec};
use super::{Forge, ForgeError};
use crate::http::send_callback;
use crate::sites::{ADMIN_ACCOUNT_ID, ForgeInstallation, Site};
use crate::state::{Simulator, now};
use reqwest::header;
use serde::Serialize;
use serde_json::{Value, json};
use std::time::Duration;

/// A Forge trigger delivered to the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// `avi:forge:installed:app`, after every (re)install.
    Installed,
    /// `avi:forge:upgraded:app`: a new version on the same installation.
    Upgraded,
    /// The preUninstall module.
    Uninstalled,
}

impl Trigger {
    /// The event name: the body's `eventType`, and how the API and logs name the delivery.
    pub fn event_type(self) -> &'static str {
        match self {
            Self::Installed => "avi:forge:installed:app",
            Self::Upgraded => "avi:forge:upgraded:app",
            Self::Uninstalled => "preUninstall",
        }
    }

    /// The app path it is posted to (the manifest's endpoint `route.path`).
    pub fn path(self) -> &'static str {
        match self {
            Self::Installed | Self::Upgraded => "/forge/installed",
            Self::Uninstalled => "/forge/uninstalled",
        }
    }

    /// How long Forge waits for the app: 5 s for events, 55 s for preUninstall.
    pub fn timeout(self) -> Duration {
        match self {
            Self::Installed | Self::Upgraded => Duration::from_secs(5),
            Self::Uninstalled => Duration::from_secs(55),
        }
    }
}

/// What a Forge install, upgrade or uninstall did.
#[derive(Debug, Clone, Serialize)]
pub struct ForgeOutcome {
    /// Site slug.
    pub site: &'static str,
    /// `avi:forge:installed:app`, `avi:forge:upgraded:app` or `preUninstall`.
    pub event: &'static str,
    /// Whether the site has a Forge installation afterwards.
    pub installed: bool,
    /// The installation the trigger was about (new for an install, removed for an uninstall).
    pub installation_id: String,
    /// The site's cloudId.
    pub cloud_id: String,
    /// Where the trigger was posted.
    pub url: String,
    /// Whether the app answered 2xx.
    pub delivered: bool,
    /// The app's status (`None`: no response).
    pub status: Option<u16>,
    /// Why no response arrived.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Forge installs of this site so far.
    pub installs: u64,
}

/// Installs (or re-installs) the app on `site` with a new installationId, then delivers
/// `avi:forge:installed:app`.
pub async fn install(sim: &Simulator, site: &Site) -> Result<ForgeOutcome, ForgeError> {
    let forge = sim.forge()?;
    let _one_at_a_time = site.lifecycle_lock.lock().await;
    let installation_id = format!(
        "ari:cloud:ecosystem::installation/{}",
        crate::ids::random_uuid().map_err(ForgeError::Random)?
    );
    site.set_forge_installation(Some(ForgeInstallation {
        installation_id: installation_id.clone(),
    }));
    deliver(sim, forge, site, &installation_id, Trigger::Installed).await
}

/// Delivers `avi:forge:upgraded:app` for the current installation (its id stays).
pub async fn upgrade(sim: &Simulator, site: &Site) -> Result<ForgeOutcome, ForgeError> {
    let forge = sim.forge()?;
    let _one_at_a_time = site.lifecycle_lock.lock().await;
    let installation = site
        .forge_installation()
        .ok_or(ForgeError::NotInstalled(site.slug))?;
    deliver(
        sim,
        forge,
        site,
        &installation.installation_id,
        Trigger::Upgraded,
    )
    .await
}

/// Delivers preUninstall, then removes the installation whatever the app answered.
pub async fn uninstall(sim: &Simulator, site: &Site) -> Result<ForgeOutcome, ForgeError> {
    let forge = sim.forge()?;
    let _one_at_a_time = site.lifecycle_lock.lock().await;
    let installation = site
        .forge_installation()
        .ok_or(ForgeError::NotInstalled(site.slug))?;
    let outcome = deliver(
        sim,
        forge,
        site,
        &installation.installation_id,
        Trigger::Uninstalled,
    )
    .await;
    site.set_forge_installation(None);
    outcome.map(|o| ForgeOutcome {
        installed: false,
        ..o
    })
}

/// Posts `trigger` with a fresh FIT and records the outcome.
async fn deliver(
    sim: &Simulator,
    forge: &Forge,
    site: &Site,
    installation_id: &str,
    trigger: Trigger,
) -> Result<ForgeOutcome, ForgeError> {
    let url = format!("{}{}", sim.config.app_url, trigger.path());
    let minted = fit::issue(forge, site, &FitSpec::trigger(forge))?;
    let body = trigger_body(forge, site, installation_id, trigger);
    let request = sim
        .http
        .post(&url)
        .timeout(trigger.timeout())
        .header(header::AUTHORIZATION, format!("Bearer {}", minted.token))
        .header(header::CONTENT_TYPE, "application/json")
        .header("x-b3-traceid", random_hex(16)?)
        .header("x-b3-spanid", random_hex(8)?)
        .body(body.to_string());
    let record = send_callback(request, site.slug, trigger.event_type(), &url, now()).await;
    site.record_forge(trigger, record.clone());
    Ok(ForgeOutcome {
        site: site.slug,
        event: trigger.event_type(),
        installed: site.forge_installation().is_some(),
        installation_id: installation_id.to_owned(),
        cloud_id: site.cloud_id.clone(),
        url,
        delivered: record.status.is_some_and(|s| (200..300).contains(&s)),
        status: record.status,
        error: record.error,
        installs: site.snapshot().forge.installs,
    })
}

/// The JSON body of a trigger: the life-cycle event payload (`id` = the installation,
/// `installerAccountId`, `app`, `environment`) with `eventType`, `installationId` and
/// `context.cloudId`. Its exact shape for a remote is unconfirmed: the app must take the
/// installation and site from the FIT, never from this body.
fn trigger_body(forge: &Forge, site: &Site, installation_id: &str, trigger: Trigger) -> Value {
    let mut body = json!({
        "eventType": trigger.event_type(),
        "id": installation_id,
        "installationId": installation_id,
        "app": {"id": forge.config.app_id.as_str(), "version": fit::APP_VERSION},
        "environment": {"id": forge.config.environment_id.as_str()},
        "context": {"cloudId": site.cloud_id},
    });
    if trigger != Trigger::Uninstalled {
        body["installerAccountId"] = json!(ADMIN_ACCOUNT_ID);
    }
    body
}

/// `bytes` random bytes as lower-case hex (B3 trace and span ids).
fn random_hex(bytes: usize) -> Result<String, ForgeError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(ForgeError::Random)?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ForgeConfig;
    use crate::sites::Sites;

    #[test]
    fn bodies_name_the_event_the_installation_and_the_site() {
        let forge = Forge::new(ForgeConfig::development()).unwrap();
        let sites = Sites::new("http://127.0.0.1:3100");
        let site = sites.get("acme").unwrap();
        let id = "ari:cloud:ecosystem::installation/11ac20df-be56-457d-af77-b776285cb0f0";
        let body = trigger_body(&forge, site, id, Trigger::Installed);
        assert_eq!(body["eventType"], "avi:forge:installed:app");
        assert_eq!(
            (body["id"].clone(), body["installationId"].clone()),
            (json!(id), json!(id))
        );
        assert_eq!(body["context"]["cloudId"], json!(site.cloud_id));
        assert_eq!(body["app"]["id"], forge.config.app_id.as_str());
        assert_eq!(body["installerAccountId"], ADMIN_ACCOUNT_ID);
        let gone = trigger_body(&forge, site, id, Trigger::Uninstalled);
        assert_eq!(gone["eventType"], "preUninstall");
        assert!(gone.get("installerAccountId").is_none());
        assert_eq!(Trigger::Upgraded.path(), "/forge/installed");
        assert_eq!(Trigger::Uninstalled.path(), "/forge/uninstalled");
        assert_eq!(random_hex(8).unwrap().len(), 16);
    }
}
