//! Installing and uninstalling the app as Confluence does: fetch the descriptor, then send the
//! signed lifecycle callbacks (RS256 `installed`/`uninstalled`, HS256 `enabled`/`disabled`
//! with the tenant secret) and record each HTTP status. Logs statuses, never a secret or token.

use crate::descriptor::{Descriptor, DescriptorError, Lifecycle};
use crate::http::{error_chain, send_callback};
use crate::ids::SharedSecret;
use crate::sites::{ADMIN_ACCOUNT_ID, CallbackRecord, Installation, Site};
use crate::state::{Simulator, now};
use reqwest::{Url, header};
use serde::Serialize;
use serde_json::{Value, json};

/// Lifetime of lifecycle tokens.
pub const LIFECYCLE_TOKEN_LIFETIME_SECS: i64 = 180;
/// Largest descriptor accepted.
const MAX_DESCRIPTOR_BYTES: usize = 1024 * 1024;

/// A lifecycle callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// `installed`: RS256, delivers a new shared secret.
    Installed,
    /// `enabled`: HS256 with the new secret, after a successful install.
    Enabled,
    /// `disabled`: HS256 with the current secret, first step of an uninstall.
    Disabled,
    /// `uninstalled`: RS256.
    Uninstalled,
}

impl Event {
    /// The `eventType` value.
    pub fn name(self) -> &'static str {
        match self {
            Self::Installed => "installed",
            Self::Enabled => "enabled",
            Self::Disabled => "disabled",
            Self::Uninstalled => "uninstalled",
        }
    }

    fn path(self, lifecycle: &Lifecycle) -> Option<&str> {
        match self {
            Self::Installed => Some(&lifecycle.installed),
            Self::Enabled => lifecycle.enabled.as_deref(),
            Self::Disabled => lifecycle.disabled.as_deref(),
            Self::Uninstalled => lifecycle.uninstalled.as_deref(),
        }
    }

    /// Install and uninstall are signed with the host's RSA key; the others with the secret.
    fn is_asymmetric(self) -> bool {
        matches!(self, Self::Installed | Self::Uninstalled)
    }
}

/// Why an install or uninstall could not be attempted.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    /// The descriptor could not be fetched.
    #[error("cannot fetch the app descriptor from {url}: {reason}")]
    DescriptorUnavailable {
        /// Descriptor URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The descriptor was fetched but cannot be used.
    #[error("the app descriptor at {url} is unusable: {source}")]
    DescriptorInvalid {
        /// Descriptor URL.
        url: String,
        /// What is wrong with it.
        source: DescriptorError,
    },
    /// Uninstall of a site without the app.
    #[error("the app is not installed on this site")]
    NotInstalled,
    /// A callback URL could not be built.
    #[error(transparent)]
    Url(DescriptorError),
    /// A token could not be signed.
    #[error("cannot sign the callback token: {0}")]
    Mint(#[from] connect::MintError),
    /// No randomness for the new secret.
    #[error("random source unavailable: {0}")]
    Random(getrandom::Error),
}

/// What an install did.
#[derive(Debug, Clone, Serialize)]
pub struct InstallOutcome {
    /// Site slug.
    pub site: &'static str,
    /// Whether the app accepted the install (2xx); the new secret is current only then.
    pub installed: bool,
    /// The app's status for `installed` (`None`: no response).
    pub status: Option<u16>,
    /// The app's status for `enabled` (`None`: not sent or no response).
    pub enabled_status: Option<u16>,
    /// Transport error of the `installed` callback, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The tenant clientKey.
    pub client_key: String,
    /// The site base URL sent as `baseUrl`.
    pub base_url: String,
    /// The app key from the descriptor.
    pub app_key: String,
    /// The app baseUrl from the descriptor (the tokens' `aud`).
    pub app_base_url: String,
    /// Successful installs of this site so far.
    pub installs: u64,
}

/// What an uninstall did.
#[derive(Debug, Clone, Serialize)]
pub struct UninstallOutcome {
    /// Site slug.
    pub site: &'static str,
    /// The app's status for `disabled` (`None`: not sent or no response).
    pub disabled_status: Option<u16>,
    /// The app's status for `uninstalled` (`None`: not sent or no response).
    pub status: Option<u16>,
    /// The tenant clientKey.
    pub client_key: String,
    /// Always false afterwards: the host removes the app whatever the app answered.
    pub installed: bool,
}

/// `GET`s and parses the descriptor.
pub async fn fetch_descriptor(
    http: &reqwest::Client,
    url: &str,
) -> Result<Descriptor, LifecycleError> {
    let unavailable = |reason: String| LifecycleError::DescriptorUnavailable {
        url: url.to_owned(),
        reason,
    };
    let response = http
        .get(url)
        .header(header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| unavailable(error_chain(&e)))?;
    if !response.status().is_success() {
        return Err(unavailable(format!("HTTP {}", response.status())));
    }
    let body = response
        .bytes()
        .await
        .map_err(|e| unavailable(error_chain(&e)))?;
    if body.len() > MAX_DESCRIPTOR_BYTES {
        return Err(unavailable("descriptor larger than 1 MiB".to_owned()));
    }
    Descriptor::parse(&body).map_err(|source| LifecycleError::DescriptorInvalid {
        url: url.to_owned(),
        source,
    })
}

/// Installs (or re-installs) the app on `site` with a new shared secret, then enables it.
pub async fn install(sim: &Simulator, site: &Site) -> Result<InstallOutcome, LifecycleError> {
    let _one_at_a_time = site.lifecycle_lock.lock().await;
    let descriptor = fetch_descriptor(&sim.http, &sim.config.descriptor_url()).await?;
    let secret = SharedSecret::generate().map_err(LifecycleError::Random)?;
    let installed = send(sim, site, &descriptor, &secret, Event::Installed).await?;
    let accepted = installed
        .as_ref()
        .and_then(|r| r.status)
        .is_some_and(|s| (200..300).contains(&s));
    let mut enabled_status = None;
    if accepted {
        site.set_installation(Some(Installation {
            descriptor: descriptor.clone(),
            secret: secret.clone(),
        }));
        let enabled = send(sim, site, &descriptor, &secret, Event::Enabled).await?;
        enabled_status = enabled.and_then(|r| r.status);
    }
    let installs = site.snapshot().installs;
    Ok(InstallOutcome {
        site: site.slug,
        installed: accepted,
        status: installed.as_ref().and_then(|r| r.status),
        enabled_status,
        error: installed.and_then(|r| r.error),
        client_key: site.client_key.clone(),
        base_url: site.base_url.clone(),
        app_key: descriptor.key,
        app_base_url: descriptor.base_url,
        installs,
    })
}

/// Disables and uninstalls the app on `site`; the site forgets the secret either way.
pub async fn uninstall(sim: &Simulator, site: &Site) -> Result<UninstallOutcome, LifecycleError> {
    let _one_at_a_time = site.lifecycle_lock.lock().await;
    let Installation { descriptor, secret } =
        site.installation().ok_or(LifecycleError::NotInstalled)?;
    let disabled = send(sim, site, &descriptor, &secret, Event::Disabled).await;
    let uninstalled = send(sim, site, &descriptor, &secret, Event::Uninstalled).await;
    site.set_installation(None);
    Ok(UninstallOutcome {
        site: site.slug,
        disabled_status: disabled?.and_then(|r| r.status),
        status: uninstalled?.and_then(|r| r.status),
        client_key: site.client_key.clone(),
        installed: false,
    })
}

/// Sends one callback and records its outcome; `None` when the descriptor declares no path.
async fn send(
    sim: &Simulator,
    site: &Site,
    descriptor: &Descriptor,
    secret: &SharedSecret,
    event: Event,
) -> Result<Option<CallbackRecord>, LifecycleError> {
    let Some(path) = event.path(&descriptor.lifecycle) else {
        return Ok(None);
    };
    let url = descriptor.url_for(path).map_err(LifecycleError::Url)?;
    let at = now();
    let mut claims = callback_claims(&site.client_key, descriptor, event, &url, at);
    // Two callbacks in the same second would otherwise be byte-identical (RS256 is
    // deterministic) and the app would rightly refuse the second as a replay.
    if let Ok(nonce) = crate::ids::random_uuid() {
        claims["jti"] = serde_json::json!(nonce);
    }
    let token = if event.is_asymmetric() {
        sim.key.sign_rs256(&claims)?
    } else {
        connect::mint::hs256(&claims, secret.as_bytes())?
    };
    let body = callback_body(site, descriptor, secret, event);
    let request = sim
        .http
        .post(url.clone())
        .header(header::AUTHORIZATION, format!("JWT {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.to_string());
    let record = send_callback(request, site.slug, event.name(), url.as_str(), at).await;
    site.record(event, record.clone());
    Ok(Some(record))
}

/// Claims of a lifecycle token: `iss` clientKey, the admin as `sub`, `qsh` over `POST` and the
/// callback URL relative to the app's baseUrl path, 3 minutes of life, and for RS256 `aud` =
/// the app's baseUrl exactly as its descriptor states it.
fn callback_claims(
    client_key: &str,
    descriptor: &Descriptor,
    event: Event,
    url: &Url,
    now: i64,
) -> Value {
    let qsh = connect::query_string_hash(
        "POST",
        url.path(),
        url.query().unwrap_or(""),
        descriptor.base_path(),
    );
    let mut claims = json!({
        "iss": client_key,
        "sub": ADMIN_ACCOUNT_ID,
        "qsh": qsh,
        "iat": now,
        "exp": now + LIFECYCLE_TOKEN_LIFETIME_SECS,
    });
    if event.is_asymmetric() {
        claims["aud"] = json!(descriptor.base_url);
    }
    claims
}

/// The JSON body Confluence posts to every lifecycle URL. `cloudId` is always there;
/// `installationId` only while the site has a Forge installation of the app, as Atlassian sends
/// it for an app already on Forge: the pair lets the app link a Connect tenant to Forge calls.
fn callback_body(
    site: &Site,
    descriptor: &Descriptor,
    secret: &SharedSecret,
    event: Event,
) -> Value {
    let mut body = json!({
        "key": descriptor.key,
        "clientKey": site.client_key,
        "sharedSecret": secret.expose(),
        "baseUrl": site.base_url,
        "displayUrl": site.base_url,
        "productType": "confluence",
        "description": format!("Confluence simulator site {}", site.name),
        "serviceEntitlementNumber": site.sen,
        "eventType": event.name(),
        "oauthClientId": site.oauth_client_id,
        "cloudId": site.cloud_id,
    });
    if let Some(forge) = site.forge_installation() {
        body["installationId"] = json!(forge.installation_id);
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::descriptor::tests::{parse, sample};
    use crate::sites::Sites;
    use connect::query_string_hash;

    const NOW: i64 = 1_700_000_000;

    #[test]
    fn install_claims_bind_post_and_the_relative_path() {
        for (base, expected_url) in [
            ("http://127.0.0.1:3000", "http://127.0.0.1:3000/installed"),
            (
                "http://127.0.0.1:3000/app",
                "http://127.0.0.1:3000/app/installed",
            ),
        ] {
            let d = parse(&sample(base)).unwrap();
            let url = d.url_for(&d.lifecycle.installed).unwrap();
            assert_eq!(url.as_str(), expected_url);
            let c = callback_claims("ck", &d, Event::Installed, &url, NOW);
            assert_eq!(
                c["qsh"],
                json!(query_string_hash("POST", "/installed", "", ""))
            );
            assert_eq!(c["aud"], json!(base), "aud is the baseUrl exactly");
            assert_eq!(c["iss"], json!("ck"));
            assert_eq!(c["sub"], json!(ADMIN_ACCOUNT_ID));
            assert_eq!(c["exp"], json!(NOW + 180));
        }
    }

    #[test]
    fn symmetric_callbacks_carry_no_audience() {
        let d = parse(&sample("http://127.0.0.1:3000")).unwrap();
        let url = d.url_for("/enabled").unwrap();
        let c = callback_claims("ck", &d, Event::Enabled, &url, NOW);
        assert!(c.get("aud").is_none());
        assert_eq!(
            c["qsh"],
            json!(query_string_hash("POST", "/enabled", "", ""))
        );
        assert!(Event::Uninstalled.is_asymmetric() && !Event::Disabled.is_asymmetric());
    }

    #[test]
    fn body_has_every_install_field() {
        let sites = Sites::new("http://127.0.0.1:3100");
        let site = sites.get("globex").unwrap();
        let d = parse(&sample("http://127.0.0.1:3000")).unwrap();
        let secret = SharedSecret::generate().unwrap();
        let body = callback_body(site, &d, &secret, Event::Installed);
        assert_eq!(body["key"], json!("connect-prefs"));
        assert_eq!(body["clientKey"], json!(site.client_key));
        assert_eq!(body["sharedSecret"], json!(secret.expose()));
        assert_eq!(
            body["baseUrl"],
            json!("http://127.0.0.1:3100/sites/globex/wiki")
        );
        assert_eq!(body["displayUrl"], body["baseUrl"]);
        assert_eq!(body["productType"], json!("confluence"));
        assert_eq!(body["eventType"], json!("installed"));
        for field in [
            "description",
            "serviceEntitlementNumber",
            "oauthClientId",
            "cloudId",
        ] {
            assert!(
                body[field].as_str().is_some_and(|s| !s.is_empty()),
                "{field}"
            );
        }
        assert_eq!(body["cloudId"], json!(site.cloud_id));
        assert!(
            body.get("installationId").is_none(),
            "no Forge installation yet"
        );

        let forge = "ari:cloud:ecosystem::installation/11ac20df-be56-457d-af77-b776285cb0f0";
        site.set_forge_installation(Some(crate::sites::ForgeInstallation {
            installation_id: forge.to_owned(),
        }));
        let body = callback_body(site, &d, &secret, Event::Installed);
        assert_eq!(body["installationId"], json!(forge));
        assert_eq!(body["cloudId"], json!(site.cloud_id));
    }
}
