//! The server side of Forge Remote: the shared JWKS cache, the FIT verifier built on the pure
//! rules of `connect::forge`, and [`Forge`], which turns a verified FIT into the site it acts
//! for. A valid FIT establishes its installation (its claims are signed by Atlassian): linked to
//! the site of its `cloudId`, or to a new site (`db::sites`). An uninstalled installation's
//! FITs are refused. `manifest` renders the Forge manifest that points Forge at this server;
//! `ui_origins` answers the Custom UI's CORS preflights.

pub mod app_tokens;
pub mod extractors;
pub mod jwks;
pub mod lifecycle;
pub mod manifest;
pub mod remembered;
pub mod ui_origins;
pub mod verifier;

use std::sync::Arc;

use connect::VerifyError;
use connect::forge::{FitError, VerifiedFit};

use crate::cache::{Coherent, Weighed};
use crate::db::settle::{WriteTicket, settle};
use crate::db::sites::{self, Installation};
use crate::db::{Db, DbError, now};
use remembered::RememberedFits;
use verifier::{ForgeAuthError, ForgeVerifier};

/// An installation as the cache keeps it, with the site's address for display.
#[derive(Debug, Clone)]
pub struct CachedInstallation {
    pub installation: Installation,
    /// From the site's Connect tenant; empty for a Forge-only site.
    pub site_url: String,
}

impl Weighed for CachedInstallation {
    fn weight(&self) -> usize {
        160 + self.installation.site_id.len() + self.site_url.len()
    }
}

/// A request authenticated by a FIT, and the site it acts for.
#[derive(Debug, Clone)]
pub struct ForgeCaller {
    pub fit: Arc<VerifiedFit>,
    pub site_id: String,
    pub site_url: String,
}

/// Why a FIT did not authenticate a request.
#[derive(Debug, Clone)]
pub enum ForgeError {
    Auth(ForgeAuthError),
    /// The installation it names was uninstalled (401).
    Uninstalled,
    Store(DbError),
}

impl From<ForgeAuthError> for ForgeError {
    fn from(e: ForgeAuthError) -> Self {
        Self::Auth(e)
    }
}

impl From<DbError> for ForgeError {
    fn from(e: DbError) -> Self {
        Self::Store(e)
    }
}

pub struct Forge {
    verifier: ForgeVerifier,
    db: Db,
    /// Installations by id, when this process is the store's only writer (`crate::cache`).
    installations: Option<Arc<Coherent<String, CachedInstallation>>>,
    /// FITs already verified (`remembered`); `None` with `CACHE_MIB=0`.
    remembered: Option<RememberedFits>,
    leeway_secs: i64,
}

impl Forge {
    pub fn new(
        verifier: ForgeVerifier,
        db: Db,
        store_cache_bytes: u64,
        remembered_bytes: u64,
        leeway_secs: u64,
    ) -> Self {
        Self {
            verifier,
            db,
            installations: (store_cache_bytes > 0)
                .then(|| Arc::new(Coherent::new(store_cache_bytes))),
            remembered: (remembered_bytes > 0).then(|| RememberedFits::new(remembered_bytes)),
            leeway_secs: i64::try_from(leeway_secs).unwrap_or(i64::MAX),
        }
    }

    pub fn verifier(&self) -> &ForgeVerifier {
        &self.verifier
    }

    /// Its caches, by name, for the metrics (none when off).
    pub fn cache_readings(&self) -> crate::metrics::caches::CacheList {
        let mut list = crate::metrics::caches::CacheList::new();
        if let Some(installations) = &self.installations {
            list.push(("installations", installations.reading()));
        }
        if let Some(remembered) = &self.remembered {
            list.push(("forge_tokens", remembered.reading()));
        }
        list
    }

    /// Drops every cached installation (sites merged).
    pub fn forget_installations(&self) {
        if let Some(cache) = &self.installations {
            cache.invalidate_all();
        }
    }

    /// The verified token, from memory or verified now.
    pub async fn verify(&self, token: &str) -> Result<Arc<VerifiedFit>, ForgeAuthError> {
        let now = now();
        if let Some(remembered) = &self.remembered
            && let Some(fit) = remembered.get(token)
        {
            if now <= fit.exp.saturating_add(self.leeway_secs) {
                return Ok(fit);
            }
            remembered.remove(token);
            return Err(ForgeAuthError::Token(FitError::Token(VerifyError::Expired)));
        }
        let fit = Arc::new(self.verifier.verify(token, now).await?);
        if let Some(remembered) = &self.remembered {
            remembered.insert(token, Arc::clone(&fit));
        }
        Ok(fit)
    }

    /// The installation (established on first sight) with its site's address.
    async fn installation(&self, fit: &VerifiedFit) -> Result<CachedInstallation, DbError> {
        let id = fit.installation_id.as_str();
        if let Some(found) = self.installations.as_ref().and_then(|c| c.get(id)) {
            return Ok(found);
        }
        let ticket = self.installations.as_ref().map(|c| c.ticket(id));
        let cloud_id = fit.cloud_id.as_ref().map(|c| c.as_str());
        let installation = sites::establish_installation(&self.db, id, cloud_id).await?;
        let site_url = sites::site_url(&self.db, &installation.site_id)
            .await?
            .unwrap_or_default();
        let found = CachedInstallation {
            installation,
            site_url,
        };
        if let (Some(cache), Some(ticket)) = (&self.installations, ticket) {
            cache.fill(ticket, id.to_owned(), found.clone());
        }
        Ok(found)
    }

    /// Verifies `token` and finds the site it acts for; refuses uninstalled installations.
    pub async fn authenticate(&self, token: &str) -> Result<ForgeCaller, ForgeError> {
        let fit = self.verify(token).await?;
        let found = self.installation(&fit).await?;
        if !found.installation.active {
            return Err(ForgeError::Uninstalled);
        }
        Ok(ForgeCaller {
            fit,
            site_id: found.installation.site_id,
            site_url: found.site_url,
        })
    }

    /// `preUninstall`: marks the installation uninstalled. Settles like every lifecycle write
    /// (`db::settle`): the cached installation is dropped once the result is known. Returns
    /// whether this call changed it (a retried event changes nothing).
    pub async fn uninstall(self: &Arc<Self>, fit: &VerifiedFit) -> Result<bool, DbError> {
        let ticket = WriteTicket::new();
        let write = {
            let (forge, ticket) = (Arc::clone(self), ticket.clone());
            let id = fit.installation_id.as_str().to_owned();
            let cloud_id = fit.cloud_id.as_ref().map(|c| c.as_str().to_owned());
            async move {
                let _guard = forge.installations.as_ref().map(|c| c.write(id.clone()));
                if !ticket.start() {
                    return Err(DbError::Unavailable);
                }
                sites::uninstall_installation(&forge.db, &id, cloud_id.as_deref()).await
            }
        };
        settle(self.db.timeout(), ticket, write).await
    }
}
