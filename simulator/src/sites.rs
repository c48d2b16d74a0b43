//! The simulated Confluence sites (tenants) and their users: fixed identities (clientKey, a
//! stable cloudId), the current Connect installation (descriptor + shared secret), the current
//! Forge installation (its installationId), callback statuses and token counters (OAuth
//! access tokens of the product API too).
//! Holds the only copy of each shared secret; [`SiteSnapshot`] (what the API shows) has none.

use crate::descriptor::Descriptor;
use crate::forge::install::Trigger;
use crate::ids::{self, SharedSecret};
use crate::lifecycle::Event;
use serde::Serialize;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// A person who can open the app. The same person has the same accountId on every site, as
/// an Atlassian account does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct User {
    /// The `?user=` value.
    #[serde(rename = "user")]
    pub slug: &'static str,
    /// Display name.
    pub name: &'static str,
    /// Atlassian accountId; `None` for the anonymous visitor.
    pub account_id: Option<&'static str>,
}

/// Everyone the user switcher offers, in order; the first is the default.
pub const USERS: [User; 3] = [
    User {
        slug: "alice",
        name: "Alice Adams",
        account_id: Some("557058:aaaa-alice"),
    },
    User {
        slug: "bob",
        name: "Bob Brown",
        account_id: Some("557058:bbbb-bob"),
    },
    User {
        slug: "anonymous",
        name: "Anonymous",
        account_id: None,
    },
];

/// The site administrator who installs and uninstalls apps (`sub` of lifecycle tokens).
pub const ADMIN_ACCOUNT_ID: &str = "557058:0000-admin";

/// Looks a user up by `?user=` value.
pub fn user(slug: &str) -> Option<&'static User> {
    USERS.iter().find(|u| u.slug == slug)
}

/// The user slugs, for error messages.
pub fn user_slugs() -> String {
    USERS.map(|u| u.slug).join(", ")
}

/// What an install left behind: the descriptor it used and the secret it delivered.
#[derive(Debug, Clone)]
pub struct Installation {
    /// The descriptor fetched for this install.
    pub descriptor: Descriptor,
    /// The current shared secret.
    pub secret: SharedSecret,
}

/// The outcome of one lifecycle callback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallbackRecord {
    /// The app's HTTP status; `None` if no response arrived.
    pub status: Option<u16>,
    /// Why no response arrived (or why the callback was skipped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Unix time of the attempt.
    pub at: i64,
}

/// The last outcome of each lifecycle callback.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Callbacks {
    /// Last `installed`.
    pub installed: Option<CallbackRecord>,
    /// Last `enabled`.
    pub enabled: Option<CallbackRecord>,
    /// Last `disabled`.
    pub disabled: Option<CallbackRecord>,
    /// Last `uninstalled`.
    pub uninstalled: Option<CallbackRecord>,
}

/// A Forge installation of the app on a site. Forge gives every install a new id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForgeInstallation {
    /// `ari:cloud:ecosystem::installation/<uuid>`.
    pub installation_id: String,
}

/// The last delivery of each Forge trigger.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ForgeCallbacks {
    /// Last `avi:forge:installed:app`.
    pub installed: Option<CallbackRecord>,
    /// Last `avi:forge:upgraded:app`.
    pub upgraded: Option<CallbackRecord>,
    /// Last preUninstall.
    pub uninstalled: Option<CallbackRecord>,
}

#[derive(Debug, Default)]
struct SiteState {
    installation: Option<Installation>,
    callbacks: Callbacks,
    installs: u64,
    context_tokens: u64,
    iframe_tokens: u64,
    forge: Option<ForgeInstallation>,
    forge_callbacks: ForgeCallbacks,
    forge_installs: u64,
    fits: u64,
    oauth_tokens: u64,
}

/// One Confluence site.
#[derive(Debug)]
pub struct Site {
    /// Short name used in URLs (`acme`).
    pub slug: &'static str,
    /// Display name (`Acme Corp`).
    pub name: &'static str,
    /// The tenant id the app keys everything on; stable across restarts.
    pub client_key: String,
    /// `{public url}/sites/{slug}/wiki`.
    pub base_url: String,
    /// Atlassian cloud id: a lower-case UUID, stable across restarts and reinstalls.
    pub cloud_id: String,
    /// `SEN-…`.
    pub sen: String,
    /// OAuth client id of the installation.
    pub oauth_client_id: String,
    /// Serialises install/uninstall of this site (held across the callbacks).
    pub(crate) lifecycle_lock: tokio::sync::Mutex<()>,
    state: Mutex<SiteState>,
}

impl Site {
    fn new(slug: &'static str, name: &'static str, public_url: &str) -> Self {
        Self {
            slug,
            name,
            client_key: ids::derived_uuid(&format!("confluence-simulator/client-key/{slug}")),
            base_url: format!("{public_url}/sites/{slug}/wiki"),
            cloud_id: ids::derived_uuid(&format!("confluence-simulator/cloud-id/{slug}")),
            sen: format!(
                "SEN-{}",
                u64::from_str_radix(&ids::derived_hex(&format!("sen/{slug}"), 7), 16).unwrap_or(0)
            ),
            oauth_client_id: ids::derived_hex(&format!("oauth/{slug}"), 32),
            lifecycle_lock: tokio::sync::Mutex::new(()),
            state: Mutex::new(SiteState::default()),
        }
    }

    fn state(&self) -> MutexGuard<'_, SiteState> {
        // A panic elsewhere cannot leave this plain data half-updated in a harmful way.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The current installation, if the app is installed.
    pub fn installation(&self) -> Option<Installation> {
        self.state().installation.clone()
    }

    /// Records a successful install (with its new secret) or, with `None`, an uninstall.
    pub fn set_installation(&self, installation: Option<Installation>) {
        let mut state = self.state();
        if installation.is_some() {
            state.installs += 1;
        }
        state.installation = installation;
    }

    /// Stores the outcome of a lifecycle callback.
    pub fn record(&self, event: Event, record: CallbackRecord) {
        let mut state = self.state();
        let slot = match event {
            Event::Installed => &mut state.callbacks.installed,
            Event::Enabled => &mut state.callbacks.enabled,
            Event::Disabled => &mut state.callbacks.disabled,
            Event::Uninstalled => &mut state.callbacks.uninstalled,
        };
        *slot = Some(record);
    }

    /// The current Forge installation, if the app is Forge-installed.
    pub fn forge_installation(&self) -> Option<ForgeInstallation> {
        self.state().forge.clone()
    }

    /// Records a Forge install (a new installation) or, with `None`, a Forge uninstall.
    pub fn set_forge_installation(&self, installation: Option<ForgeInstallation>) {
        let mut state = self.state();
        if installation.is_some() {
            state.forge_installs += 1;
        }
        state.forge = installation;
    }

    /// Stores the outcome of a Forge trigger delivery.
    pub fn record_forge(&self, trigger: Trigger, record: CallbackRecord) {
        let mut state = self.state();
        let slot = match trigger {
            Trigger::Installed => &mut state.forge_callbacks.installed,
            Trigger::Upgraded => &mut state.forge_callbacks.upgraded,
            Trigger::Uninstalled => &mut state.forge_callbacks.uninstalled,
        };
        *slot = Some(record);
    }

    /// Counts one issued Forge invocation token.
    pub fn count_fit(&self) {
        self.state().fits += 1;
    }

    /// Counts one OAuth access token issued by the JWT-bearer token endpoint.
    pub fn count_oauth_token(&self) {
        self.state().oauth_tokens += 1;
    }

    /// Counts one issued context token.
    pub fn count_context_token(&self) {
        self.state().context_tokens += 1;
    }

    /// Counts one issued iframe token.
    pub fn count_iframe_token(&self) {
        self.state().iframe_tokens += 1;
    }

    /// The host page URL of a general page.
    pub fn host_page_url(&self, app_key: &str, module_key: &str) -> String {
        format!(
            "{}/plugins/servlet/ac/{app_key}/{module_key}",
            self.base_url
        )
    }

    /// The public state of the site (no secret).
    pub fn snapshot(&self) -> SiteSnapshot {
        let state = self.state();
        let app = state.installation.as_ref().map(|i| AppSnapshot {
            key: i.descriptor.key.clone(),
            name: i.descriptor.name.clone(),
            base_url: i.descriptor.base_url.clone(),
            pages: i
                .descriptor
                .pages
                .iter()
                .map(|p| PageSnapshot {
                    key: p.key.clone(),
                    name: p.name.clone(),
                    url: p.url.clone(),
                    host_page_url: self.host_page_url(&i.descriptor.key, &p.key),
                })
                .collect(),
        });
        SiteSnapshot {
            site: self.slug,
            name: self.name,
            client_key: self.client_key.clone(),
            base_url: self.base_url.clone(),
            cloud_id: self.cloud_id.clone(),
            installed: state.installation.is_some(),
            installs: state.installs,
            app,
            callbacks: state.callbacks.clone(),
            context_tokens_issued: state.context_tokens,
            iframe_tokens_issued: state.iframe_tokens,
            forge: ForgeSnapshot {
                installed: state.forge.is_some(),
                installation_id: state.forge.as_ref().map(|f| f.installation_id.clone()),
                installs: state.forge_installs,
                callbacks: state.forge_callbacks.clone(),
            },
            fits_issued: state.fits,
            oauth_tokens_issued: state.oauth_tokens,
        }
    }
}

/// A site as the API and index page show it.
#[derive(Debug, Clone, Serialize)]
pub struct SiteSnapshot {
    /// Slug.
    pub site: &'static str,
    /// Display name.
    pub name: &'static str,
    /// Tenant clientKey.
    pub client_key: String,
    /// Site base URL.
    pub base_url: String,
    /// Cloud id.
    pub cloud_id: String,
    /// Whether the app is currently installed.
    pub installed: bool,
    /// Successful installs so far (each rotated the secret).
    pub installs: u64,
    /// The installed app, if any.
    pub app: Option<AppSnapshot>,
    /// Last callback outcomes.
    pub callbacks: Callbacks,
    /// Context tokens issued for this site.
    pub context_tokens_issued: u64,
    /// Iframe tokens issued for this site.
    pub iframe_tokens_issued: u64,
    /// The Forge side of the site.
    pub forge: ForgeSnapshot,
    /// Forge invocation tokens issued for this site (minted through the API and for triggers).
    pub fits_issued: u64,
    /// OAuth access tokens issued for this site (`POST /oauth2/token`).
    pub oauth_tokens_issued: u64,
}

/// A site's Forge installation, as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ForgeSnapshot {
    /// Whether the app is currently Forge-installed.
    pub installed: bool,
    /// The current installation ARI, if installed.
    pub installation_id: Option<String>,
    /// Forge installs so far (each made a new installation id).
    pub installs: u64,
    /// Last trigger deliveries.
    pub callbacks: ForgeCallbacks,
}

/// The installed app, as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct AppSnapshot {
    /// App key.
    pub key: String,
    /// App name.
    pub name: String,
    /// baseUrl from its descriptor.
    pub base_url: String,
    /// Its general pages.
    pub pages: Vec<PageSnapshot>,
}

/// A general page, with the host page that embeds it.
#[derive(Debug, Clone, Serialize)]
pub struct PageSnapshot {
    /// Module key.
    pub key: String,
    /// Page name.
    pub name: String,
    /// Module URL relative to the app baseUrl.
    pub url: String,
    /// Host page (add `?user=`).
    pub host_page_url: String,
}

/// All sites, fixed at start-up.
#[derive(Debug)]
pub struct Sites {
    list: Vec<Site>,
}

impl Sites {
    /// `acme` (Acme Corp) and `globex` (Globex), under `public_url`.
    pub fn new(public_url: &str) -> Self {
        Self {
            list: vec![
                Site::new("acme", "Acme Corp", public_url),
                Site::new("globex", "Globex", public_url),
            ],
        }
    }

    /// Looks a site up by slug.
    pub fn get(&self, slug: &str) -> Option<&Site> {
        self.list.iter().find(|s| s.slug == slug)
    }

    /// All sites, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Site> {
        self.list.iter()
    }

    /// The site slugs, for error messages.
    pub fn slugs(&self) -> String {
        self.list
            .iter()
            .map(|s| s.slug)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sites_have_distinct_stable_identities() {
        let a = Sites::new("http://127.0.0.1:3100");
        let b = Sites::new("http://127.0.0.1:9999");
        let (acme, globex) = (a.get("acme").unwrap(), a.get("globex").unwrap());
        assert_ne!(acme.client_key, globex.client_key);
        assert_eq!(acme.client_key, b.get("acme").unwrap().client_key);
        assert_eq!(acme.base_url, "http://127.0.0.1:3100/sites/acme/wiki");
        assert_eq!(acme.cloud_id, b.get("acme").unwrap().cloud_id);
        assert_ne!(acme.cloud_id, globex.cloud_id);
        assert!(connect::forge::CloudId::parse(&acme.cloud_id).is_some());
        assert!(acme.sen.starts_with("SEN-"));
        assert!(a.get("initech").is_none());
        assert_eq!(a.slugs(), "acme, globex");
    }

    #[test]
    fn users_are_the_same_people_everywhere() {
        assert_eq!(user("alice").unwrap().account_id, Some("557058:aaaa-alice"));
        assert_eq!(user("anonymous").unwrap().account_id, None);
        assert!(user("mallory").is_none());
        assert_eq!(user_slugs(), "alice, bob, anonymous");
    }

    #[test]
    fn snapshot_never_contains_the_secret() {
        let sites = Sites::new("http://127.0.0.1:3100");
        let site = sites.get("acme").unwrap();
        let descriptor = crate::descriptor::tests::parse(&crate::descriptor::tests::sample(
            "http://127.0.0.1:3000",
        ))
        .unwrap();
        let secret = SharedSecret::generate().unwrap();
        site.set_installation(Some(Installation {
            descriptor,
            secret: secret.clone(),
        }));
        site.count_context_token();
        let json = serde_json::to_string(&site.snapshot()).unwrap();
        assert!(!json.contains(secret.expose()));
        let snap = site.snapshot();
        assert!(snap.installed);
        assert_eq!((snap.installs, snap.context_tokens_issued), (1, 1));
        assert_eq!(
            snap.app.unwrap().pages[0].host_page_url,
            "http://127.0.0.1:3100/sites/acme/wiki/plugins/servlet/ac/connect-prefs/preferences"
        );
        site.set_installation(None);
        assert!(!site.snapshot().installed);
    }
}
