//! Assembling and running the server: configuration → secrets → database (migrated) →
//! descriptor → verifier → router; then serving until SIGINT/SIGTERM, letting in-flight
//! requests finish and closing the pool.

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use leptos::prelude::LeptosOptions;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;

use crate::cache::pages::PageCache;
use crate::cache::preferences::CachedPreferences;
use crate::config::Config;
use crate::connect::descriptor;
use crate::connect::install_keys::InstallKeys;
use crate::connect::secrets::SecretKeys;
use crate::connect::verifier::Verifier;
use crate::db::preferences::SqlPreferences;
use crate::db::{Backend, Db};
use crate::forge::Forge;
use crate::forge::jwks::ForgeJwks;
use crate::forge::verifier::ForgeVerifier;
use crate::http::csp::{self, PagePolicy};
use crate::metrics::{Metrics, Sources};
use crate::outbound::{Outbound, OutboundConfig, RetryPolicy};
use crate::state::{AppState, Shared, UserForgetter};
use app::preferences::store::{PreferencesService, PreferencesStore};
use connect::forge::FitPolicy;

/// Where the development encryption key lives when `TENANT_SECRET_KEYS` is unset.
pub const DEV_KEY_FILE: &str = "data/tenant-secret.key";

/// Everything that can stop start-up, as one printable line.
pub type StartupError = String;

/// The largest product API answer read (a page of 250 spaces is about 150 KB).
const MAX_PRODUCT_BODY: usize = 2 * 1024 * 1024;

pub async fn build(
    config: Config,
    leptos_options: LeptosOptions,
) -> Result<(Router, AppState), StartupError> {
    // reqwest's rustls needs a process-wide crypto provider; install ring's once.
    let _ = rustls::crypto::ring::default_provider().install_default();
    // Leptos spawns render tasks on this executor (leptos_routes would do it for us).
    let _ = any_spawner::Executor::init_tokio();

    let secrets = match &config.tenant_secret_keys {
        Some(spec) => SecretKeys::parse(spec.expose_secret()),
        None => SecretKeys::load_or_create_dev(Path::new(DEV_KEY_FILE)),
    }
    .map_err(|e| e.to_string())?;

    let db = Db::connect(
        config.database_url.expose_secret(),
        config.db_max_connections,
        config.db_acquire_timeout,
    )
    .await?;
    db.migrate().await?;

    // In-process caches only where this process is the store's only writer (`crate::cache`).
    let cache_bytes = match db.backend() {
        Backend::Sqlite => config.cache_bytes,
        Backend::Postgres => 0,
    };
    tracing::info!(
        cache_mib = cache_bytes >> 20,
        "in-process caches {}",
        if cache_bytes > 0 { "on" } else { "off" }
    );

    let descriptor = descriptor::load(&config)?;
    let keys = InstallKeys::new(&config.install_keys_url, config.install_key_policy.clone())?;
    let verifier = Verifier::new(
        db.clone(),
        Arc::new(secrets),
        keys,
        config.jwt_leeway_secs,
        config.base_url.clone(),
        config.base_path.clone(),
        cache_bytes / 4,
    );
    let verifier = Arc::new(verifier);
    let forge = forge(&config, &db, cache_bytes / 16)?.map(Arc::new);
    let mut site_caches: Vec<Arc<dyn Fn() + Send + Sync>> = Vec::new();
    {
        let verifier = Arc::clone(&verifier);
        site_caches.push(Arc::new(move || verifier.forget_tenants()));
    }
    if let Some(forge) = &forge {
        let forge = Arc::clone(forge);
        site_caches.push(Arc::new(move || forge.forget_installations()));
    }
    let store = SqlPreferences(db.clone());
    let mut user_caches: Vec<UserForgetter> = Vec::new();
    let mut preference_cache = None;
    let preferences: Arc<dyn PreferencesStore> = if cache_bytes > 0 {
        let cached =
            CachedPreferences::new(store, cache_bytes - cache_bytes / 4 - cache_bytes / 16);
        site_caches.push(cached.forgetter());
        user_caches.push(cached.user_forgetter());
        preference_cache = Some(cached.reading());
        Arc::new(cached)
    } else {
        Arc::new(store)
    };
    let outbound = Outbound::new(OutboundConfig {
        oauth_url: config.oauth_url.clone(),
        app_key: config.app_key.clone(),
        allow_plain_http: !config.is_production(),
        retry: RetryPolicy::default(),
        max_body: MAX_PRODUCT_BODY,
    })?;
    let pages = (config.page_cache_bytes > 0).then(|| PageCache::new(config.page_cache_bytes));
    let mut caches = verifier.cache_readings();
    if let Some(forge) = &forge {
        caches.extend(forge.cache_readings());
    }
    caches.extend(preference_cache.map(|reading| ("preferences", reading)));
    caches.extend(pages.as_ref().map(|p| ("pages", p.reading())));
    let metrics = Arc::new(Metrics::new(Sources {
        db: &db,
        caches,
        install_keys: verifier.install_keys().meters(),
        forge_jwks: forge.as_ref().map(|f| f.verifier().jwks().meters()),
        outbound: outbound.meters(),
    }));
    let page_policy = PagePolicy::new(&config, &csp::shell_scripts(leptos_options.clone()));
    let state = AppState::new(Shared {
        preferences: PreferencesService(preferences),
        pages,
        page_policy,
        config: Arc::new(config),
        leptos_options,
        db,
        verifier,
        descriptor: Arc::new(descriptor),
        forge,
        site_caches,
        user_caches,
        outbound,
        metrics,
    });
    Ok((crate::http::routes::router(state.clone()), state))
}

/// Forge Remote, when `FORGE_APP_ID` is set: the JWKS cache, the verifier and the installation
/// lookup. `store_cache_bytes` is 0 unless this process is the store's only writer; verified
/// tokens are remembered on every backend (they are not store data), within `CACHE_MIB`.
fn forge(config: &Config, db: &Db, store_cache_bytes: u64) -> Result<Option<Forge>, StartupError> {
    let Some(forge) = &config.forge else {
        return Ok(None);
    };
    let jwks = ForgeJwks::new(&forge.jwks_url, forge.jwks_cooldown)?;
    let mut policy = FitPolicy::new(
        forge.app_id.clone(),
        forge.environments.clone(),
        config.jwt_leeway_secs,
    );
    policy.api_base_url_prefix = forge.api_base_url_prefix.clone();
    tracing::info!(app_id = %forge.app_id, "Forge Remote on");
    Ok(Some(Forge::new(
        ForgeVerifier::new(jwks, policy),
        db.clone(),
        store_cache_bytes,
        config.cache_bytes / 16,
        config.jwt_leeway_secs,
    )))
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}

/// Serves `GET /metrics` on `listener` (bound to `METRICS_ADDR`) until `shutdown` resolves.
pub async fn serve_metrics(
    listener: TcpListener,
    state: &AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    crate::metrics::serve::serve(listener, Arc::clone(&state.metrics), shutdown).await
}

/// Serves until `shutdown` resolves, with the personal-data job in the background; in-flight
/// requests finish, the job stops (its progress is stored per batch), then the pool closes.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let job = crate::personal_data::spawn(state.clone());
    let result = axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await;
    if let Some(job) = job {
        job.abort();
        let _ = job.await;
    }
    state.db.close().await;
    result
}
