//! The page route. `GET /preferences?...&jwt=...` needs a verified page-load token
//! (`IframeJwt`); the page is then rendered whole on the server (values in the first HTML, no
//! loading flash) with a fresh app session token in `<meta name="token">`. The handler reads the
//! viewer's preferences itself and renders them (`PageData`), so a page rendered from an equal
//! read can be reused (`crate::cache::pages`), with the CSP that allows its inline scripts.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{Uri, header};
use axum::response::Response;
use leptos::prelude::provide_context;

use crate::cache::pages::Page;
use crate::connect::extractors::IframeJwt;
use crate::connect::session;
use crate::http::errors::json_error;
use crate::http::render;
use crate::state::AppState;
use app::auth::{AuthCtx, ShellContext};
use app::preferences::{Locale, PageData, PreferencesView};

type PageRead = Result<PreferencesView, app::AppError>;

/// The locale Confluence reported in the page URL (`loc`), if it is one we support.
fn host_locale(query: &str) -> Option<Locale> {
    connect::query_values(query, "loc")
        .next()
        .and_then(|v| Locale::from_host_tag(&v))
}

pub async fn preferences(
    State(state): State<AppState>,
    IframeJwt(verified): IframeJwt,
    uri: Uri,
) -> Response {
    let tenant = &verified.tenant;
    let account_id = verified.claims.sub.clone();
    let Ok(session_token) = session::mint(
        tenant,
        account_id.as_deref(),
        crate::db::now(),
        state.config.session_token_ttl_secs,
    ) else {
        return json_error(&app::AppError::internal());
    };
    let auth = AuthCtx {
        site_id: tenant.site_id.clone(),
        account_id,
        site_url: tenant.site_url().to_string(),
        host_locale: host_locale(uri.query().unwrap_or("")),
    };
    let read = app::preferences::load(&state.preferences, &auth).await;
    let viewer = (auth.site_id.as_str(), auth.account_id.as_deref());
    let cached = match (&state.pages, &read) {
        (Some(pages), Ok(view)) => pages.get(viewer.0, viewer.1, view),
        _ => None,
    };
    let page = match cached {
        Some(page) => page,
        None => {
            let Some(page) = render(&state, auth.clone(), read.clone()).await else {
                tracing::error!("the page shell has no token meta tag");
                return json_error(&app::AppError::internal());
            };
            let page = Arc::new(page);
            // Error pages (store unavailable) are rendered each time: they are rare and brief.
            if let (Some(pages), Ok(view)) = (&state.pages, read) {
                pages.insert(viewer.0, viewer.1, view, Arc::clone(&page));
            }
            page
        }
    };
    let mut res = render::response(page.with_token(&session_token));
    res.headers_mut()
        .insert(header::CONTENT_SECURITY_POLICY, page.csp().clone());
    res
}

/// Renders the page showing `read`, without a session token (`Page::cut` leaves its place).
async fn render(state: &AppState, auth: AuthCtx, read: PageRead) -> Option<Page> {
    let shell = ShellContext {
        session_token: String::new(),
        all_js_url: state.config.all_js_url.clone(),
    };
    let preferences = state.preferences.clone();
    let options = state.leptos_options.clone();
    let page_data = PageData::new(auth.clone(), read);
    let rendered = render::html(
        move || {
            provide_context(auth);
            provide_context(shell);
            provide_context(preferences);
            provide_context(page_data);
        },
        move || app::shell(options),
    )
    .await;
    let csp = state.page_policy.header(&rendered.script_hashes);
    Page::cut(rendered.html, csp)
}
