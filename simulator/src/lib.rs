//! A local stand-in for Confluence Cloud, for developing and testing the Connect app: two
//! sites with users, signed lifecycle callbacks, host pages that embed the app, an `all.js`
//! bridge and a JSON admin API; Forge for its Forge Remote side (`forge`: FITs, JWKS,
//! install triggers); and the product for the app's outbound calls (`product`: the REST API,
//! the OAuth JWT-bearer token endpoint, injected faults). Development and tests only: binds loopback, never shows a secret.

pub mod api;
pub mod autoinstall;
pub mod config;
pub mod descriptor;
pub mod forge;
mod html;
pub mod http;
pub mod ids;
pub mod issue;
pub mod keys;
pub mod lifecycle;
pub mod pages;
pub mod product;
pub mod scripts;
pub mod sites;
pub mod state;
pub mod tokens;

pub use config::{Config, ConfigError};
pub use state::{AppState, Simulator, StartError};

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use std::future::Future;
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tracing::info;

/// Every route of the simulator.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::index))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .route("/all.js", get(scripts::all_js))
        .route("/host.js", get(scripts::host_js))
        .route("/keys/{kid}", get(keys::serve_public_key))
        .route(
            "/sites/{site}/wiki/plugins/servlet/ac/{app_key}/{module_key}",
            get(pages::host_page),
        )
        .merge(api::routes())
        .merge(forge::api::routes())
        .merge(product::routes())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            product::guard,
        ))
        .with_state(state)
}

/// Why the simulator stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The listener is not on a loopback address.
    #[error("refusing to serve on {0}: the simulator only listens on loopback")]
    NotLoopback(SocketAddr),
    /// Start-up failed.
    #[error(transparent)]
    Start(#[from] StartError),
    /// Serving failed.
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

/// Serves on `listener` until SIGINT or SIGTERM.
pub async fn run(config: Config, listener: TcpListener) -> Result<(), RunError> {
    run_until(config, listener, shutdown_signal()).await
}

/// Serves on `listener` until `shutdown` completes (tests pass a channel).
pub async fn run_until(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    let bound = listener.local_addr()?;
    if !bound.ip().is_loopback() {
        return Err(RunError::NotLoopback(bound));
    }
    // RSA key generation is CPU-bound: keep it off the async workers.
    let state = tokio::task::spawn_blocking(move || Simulator::new(config, bound))
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))??;
    info!(
        addr = %bound,
        app = %state.config.app_url,
        kid = state.key.kid(),
        forge_kid = state.forge.as_ref().map(|f| f.keys.current().kid().to_owned()),
        "Confluence simulator listening"
    );
    println!("Confluence simulator ready: open {}/", state.public_url);
    if state.config.auto_install {
        tokio::spawn(autoinstall::run(state.clone()));
    }
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await?;
    info!("Confluence simulator stopped");
    Ok(())
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    info!("shutdown signal received");
}
