//! Prometheus metrics, one registry per server (in [`crate::state::Shared`], not process-global,
//! so each test server counts alone), served in the OpenMetrics text format on `METRICS_ADDR`
//! only (`serve`). One module per concern; each says what it counts. Labels are fixed sets
//! (route templates, methods, status classes, transports, token kinds, reason codes, cache names,
//! outcomes): never a tenant, user, token, client key or path parameter.
//!
//! Components own the meters they update (the store, the outbound client, the key fetchers, the
//! caches); [`Metrics::new`] registers shared handles to them, so nothing is threaded through
//! their constructors. What the request path updates is resolved to a counter handle once, ahead
//! of time or on first use: a request costs atomic adds, never a label lookup by string.

pub mod auth;
pub mod caches;
pub mod http;
pub mod jobs;
pub mod keys;
pub mod outbound;
pub mod process;
pub mod serve;
pub mod store;

use prometheus_client::registry::Registry;

use crate::db::Db;

/// Every metric name starts with this (`<PREFIX>_http_requests_total`, …).
pub const PREFIX: &str = "confluence_prefs";

/// What [`Metrics::new`] registers besides its own meters: the components' meters.
pub struct Sources<'a> {
    pub db: &'a Db,
    pub caches: caches::CacheList,
    pub install_keys: &'a keys::FetchMeters,
    /// `None` without Forge.
    pub forge_jwks: Option<&'a keys::FetchMeters>,
    pub outbound: &'a outbound::OutboundMeters,
}

pub struct Metrics {
    registry: Registry,
    pub http: http::HttpMeters,
    pub auth: auth::AuthMeters,
    pub jobs: jobs::JobMeters,
}

impl Metrics {
    pub fn new(sources: Sources<'_>) -> Self {
        let mut registry = Registry::with_prefix(PREFIX);
        process::register(&mut registry);
        let http = http::HttpMeters::new(&mut registry);
        let auth = auth::AuthMeters::new(&mut registry);
        let jobs = jobs::JobMeters::new(&mut registry);
        sources.install_keys.register(
            &mut registry,
            "connect_install_key_fetches",
            "Fetches of Connect install public keys (by kid), by outcome",
        );
        if let Some(jwks) = sources.forge_jwks {
            jwks.register(
                &mut registry,
                "forge_jwks_fetches",
                "Fetches of Forge's JWKS, by outcome",
            );
        }
        sources.db.meters().register(&mut registry, sources.db);
        sources.outbound.register(&mut registry);
        caches::register(&mut registry, sources.caches);
        Self {
            registry,
            http,
            auth,
            jobs,
        }
    }

    /// The OpenMetrics text exposition of everything, ending in `# EOF`.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(32 * 1024);
        // Writing to a String cannot fail; an encoder error would leave a partial text, which
        // the scraper rejects for its missing `# EOF`.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
