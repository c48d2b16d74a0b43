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
use crate::outbound::Outbound;
use app::preferences::store::PreferencesService;

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
    /// Drop everything cached by site id (called after sites merged).
    pub site_caches: Vec<Arc<dyn Fn() + Send + Sync>>,
}

impl Shared {
    /// Drops every cache keyed by site: after a Connect install merged two sites' data.
    pub fn forget_site_caches(&self) {
        for forget in &self.site_caches {
            forget();
        }
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
