//! The route table. Every route is added through `PolicyRouter::route`, which requires an
//! `AuthPolicy`; the table is kept so a test can check each route against its policy (default
//! deny: a route cannot exist without one). The policy names the extractor the handler uses.

use axum::Router;
use axum::routing::{MethodRouter, any, get, post};
use leptos::server_fn::axum::server_fn_paths;
use tower::Layer;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;

use super::headers::SecurityHeaders;
use super::{api, assets, health, pages, telemetry};
use crate::connect::{descriptor, lifecycle};
use crate::forge::lifecycle as forge;
use crate::forge::manifest::{INSTALLED_PATH, UNINSTALLED_PATH};
use crate::metrics::http::HttpMetricsLayer;
use crate::state::AppState;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthPolicy {
    /// No token: descriptor, health probes, static assets.
    Public,
    /// `?jwt=` page-load token, qsh bound to the request (`IframeJwt`).
    IframeToken,
    /// A user's API token, by scheme (`ApiCaller`): `Authorization: JWT` context or app session
    /// token, qsh `context-qsh`; or `Authorization: Bearer` Forge invocation token with a
    /// `principal`.
    UserApiToken,
    /// RS256 Atlassian-signed lifecycle callback (`LifecycleJwt`).
    SignedLifecycle,
    /// HS256 host callback with computed qsh (`HostCallbackJwt`).
    HostCallback,
    /// `Authorization: Bearer` Forge invocation token without a principal: Forge lifecycle
    /// events (`ForgeFit`).
    ForgeEvent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteSpec {
    pub path: &'static str,
    pub policy: AuthPolicy,
}

struct PolicyRouter {
    router: Router<AppState>,
    table: Vec<RouteSpec>,
}

impl PolicyRouter {
    fn route(mut self, path: &'static str, policy: AuthPolicy, mr: MethodRouter<AppState>) -> Self {
        self.router = self.router.route(path, mr);
        self.table.push(RouteSpec { path, policy });
        self
    }
}

fn table(state: &AppState) -> PolicyRouter {
    use AuthPolicy::*;
    let mut r = PolicyRouter {
        router: Router::new(),
        table: Vec::new(),
    };
    r = r
        .route("/atlassian-connect.json", Public, get(descriptor::serve))
        .route("/healthz", Public, get(health::healthz))
        .route("/readyz", Public, get(health::readyz))
        .route("/installed", SignedLifecycle, post(lifecycle::installed))
        .route(
            "/uninstalled",
            SignedLifecycle,
            post(lifecycle::uninstalled),
        )
        .route("/enabled", HostCallback, post(lifecycle::enabled))
        .route("/disabled", HostCallback, post(lifecycle::disabled))
        .route(
            "/preferences",
            IframeToken,
            get(pages::preferences).layer(compression()),
        )
        .route(
            "/api/{*fn_name}",
            UserApiToken,
            // CORS preflights of the Forge Custom UI (FORGE_UI_ORIGINS) carry no token.
            any(api::server_fn).layer(axum::middleware::from_fn_with_state(
                state.clone(),
                crate::forge::ui_origins::api_cors,
            )),
        )
        // The paths the Forge manifest routes the lifecycle events to.
        .route(INSTALLED_PATH, ForgeEvent, post(forge::installed))
        .route(UNINSTALLED_PATH, ForgeEvent, post(forge::uninstalled));
    r.router = r.router.nest_service(
        "/pkg",
        compression().layer(assets::service(&state.leptos_options)),
    );
    r.table.push(RouteSpec {
        path: "/pkg/{*file}",
        policy: Public,
    });
    r
}

/// Every route and its policy (for tests and docs).
pub fn route_table(state: &AppState) -> Vec<RouteSpec> {
    table(state).table
}

async fn not_found() -> axum::response::Response {
    super::errors::json_error(&app::AppError::NotFound {
        message: "Nothing here.".into(),
    })
}

/// On the page and the assets only (a release build's assets are precompressed and pass
/// through): the other answers are small JSON, which compression would make slower to produce
/// than to send.
fn compression() -> CompressionLayer {
    CompressionLayer::new()
}

pub fn router(state: AppState) -> Router {
    let security = SecurityHeaders::new(&state.config);
    let table = table(&state);
    let mut templates: Vec<&'static str> = table.table.iter().map(|r| r.path).collect();
    // Each server function is a route of its own for the metrics (`/api/preferences`): a fixed
    // set compiled into the binary, so the label stays bounded.
    let mut functions: Vec<&'static str> = server_fn_paths().map(|(path, _)| path).collect();
    functions.sort_unstable();
    functions.dedup();
    templates.extend(functions);
    state.metrics.http.know_routes(&templates);
    // Requests are counted only when the metrics are served (`METRICS_ADDR`).
    let metrics = (state.config.metrics_addr.is_some()).then(|| Arc::clone(&state.metrics));
    // One tuple of layers, outermost first, applied in one step: each `Router::layer` call
    // wraps every route in another boxed service that is cloned for each request.
    let layers = (
        telemetry::AccessLogLayer,
        HttpMetricsLayer(metrics),
        security.layer(),
        // A bug must cost one request a 500, never the connection or the process.
        CatchPanicLayer::custom(|_| super::errors::json_error(&app::AppError::internal())),
    );
    table
        .router
        .fallback(not_found)
        .layer(layers)
        .with_state(state)
}
