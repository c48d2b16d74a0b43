//! The shared application state handed to every handler: one `Arc`, so the clone axum makes
//! for each request is a single reference count.

use std::ops::Deref;
use std::sync::Arc;

use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;

use crate::cache::pages::PageCache;
use crate::config::Config;
use crate::connect::descriptor::ServedDescriptor;
use crate::connect::verifier::Verifier;
use crate::db::Db;
use crate::forge::Forge;
use crate::http::csp::PagePolicy;
use crate::metrics::Metrics;
use crate::outbound::Outbound;
use app::preferences::store::PreferencesService;

/// Drops what a cache holds of one user of one site (site id, accountId).
pub type UserForgetter = Arc<dyn Fn(&str, &str) + Send + Sync>;

#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct Shared {
    pub config: Arc<Config>,
    pub leptos_options: LeptosOptions,
    pub db: Db,
    pub verifier: Arc<Verifier>,
    pub descriptor: Arc<ServedDescriptor>,
    pub preferences: PreferencesService,
    /// Rendered pages (`None`: `PAGE_CACHE_MIB=0`).
    pub pages: Option<PageCache>,
    /// The page's Content-Security-Policy, but for each render's own inline scripts.
    pub page_policy: PagePolicy,
    /// Forge Remote (`None`: `FORGE_APP_ID` unset, every Bearer token is refused).
    pub forge: Option<Arc<Forge>>,
    /// Calls to Atlassian (the product REST API, the authorization server).
    pub outbound: Arc<Outbound>,
    /// This server's metrics (served on `METRICS_ADDR` only; counted either way).
    pub metrics: Arc<Metrics>,
    /// Drop everything cached by site id (called after sites merged).
    pub site_caches: Vec<Arc<dyn Fn() + Send + Sync>>,
    /// Drop what is cached of one user of one site (site id, accountId): after their data was
    /// erased.
    pub user_caches: Vec<UserForgetter>,
}

impl Shared {
    /// Drops every cache keyed by site: after a Connect install merged two sites' data.
    pub fn forget_site_caches(&self) {
        for forget in &self.site_caches {
            forget();
        }
    }
}

impl Shared {
    /// Drops every cached copy of one user's data on one site: preferences and their page.
    pub fn forget_user_caches(&self, site_id: &str, account_id: &str) {
        for forget in &self.user_caches {
            forget(site_id, account_id);
        }
        if let Some(pages) = &self.pages {
            pages.forget_user(site_id, account_id);
        }
    }

    /// Drops everything cached of a site whose data was deleted.
    pub fn forget_deleted_site(&self, site_id: &str) {
        self.forget_site_caches();
        if let Some(pages) = &self.pages {
            pages.forget_site(site_id);
        }
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
