//! Forge Custom UI hosting (simulator/README.md, "Forge"; by default `bridge=server`): a
//! host page that frames the app's Custom UI resource (`scripts/forge-ui.sh` builds it) from a
//! second origin, under the CSP Atlassian's `@forge/csp` computes for the manifest, with a
//! `global-bridge.js` of our own injected first in `<head>` as Forge injects its own. The
//! bridge's `fetchRemote` (`requestRemote`) reaches this server, which mints a fresh FIT for the
//! page's site and user and calls the app's remote with it: the signing key never reaches a
//! browser, and a token never appears in a URL or a log.
//!
//! The resource origin is the simulator's own listener under its other loopback name
//! (`127.0.0.1` <-> `localhost`), so the frame is cross-origin to the host page as on Forge.

use super::fit::{self, FitSpec, Module};
use crate::api::{ApiError, find_site, find_user};
use crate::html::{document, escape};
use crate::sites::{self, USERS};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Component, PathBuf};
use std::sync::Mutex;

/// The remote key the page may call (`remotes[].key` of forge/manifest.yml).
pub const REMOTE_KEY: &str = "backend";
/// The simulated Forge `global-bridge.js`.
const GLOBAL_BRIDGE_JS: &str = include_str!("global-bridge.js");
/// The host page's side of the bridge in "host" mode.
const FORGE_HOST_JS: &str = include_str!("forge-host.js");
/// CSP reports kept for `GET /api/forge/ui/csp-reports` (the newest; tests read them).
const MAX_REPORTS: usize = 200;
/// Longest a forwarded call may take (Forge's UI remote timeout).
const REMOTE_TIMEOUT_SECS: u64 = 25;

/// The Forge UI routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sites/{site}/wiki/forge/preferences", get(host_page))
        .route("/forge-host.js", get(forge_host_js))
        .route(
            "/forge-ui/{site}/{user}/__forge/global-bridge.js",
            get(global_bridge),
        )
        .route("/forge-ui/{site}/{user}/__forge/bridge", post(bridge_call))
        .route("/forge-ui/{site}/{user}/{*file}", get(resource_file))
        .route(
            "/forge-ui/csp-report",
            post(csp_report).get(|| async { StatusCode::METHOD_NOT_ALLOWED }),
        )
        .route("/api/forge/ui/csp-reports", get(csp_reports))
}

/// Where the resource, the manifest and the CSP tool are (paths relative to the working
/// directory, the repository root in `scripts/dev.sh` and the Playwright suite).
struct Paths {
    resource: PathBuf,
    manifest: PathBuf,
    csp_tool: PathBuf,
}

fn paths() -> Paths {
    let var = |name: &str, default: &str| {
        PathBuf::from(std::env::var(name).unwrap_or_else(|_| default.to_owned()))
    };
    Paths {
        resource: var("SIM_FORGE_UI_DIR", "forge/static/preferences"),
        manifest: var("SIM_FORGE_MANIFEST", "forge/manifest.yml"),
        csp_tool: PathBuf::from("tools/forge/csp.js"),
    }
}

/// The origin the Custom UI is served from: the host's own listener under its other loopback
/// name, so the frame is cross-origin to the host page.
pub fn resource_origin(public_url: &str) -> String {
    if public_url.contains("://127.0.0.1") {
        public_url.replacen("://127.0.0.1", "://localhost", 1)
    } else {
        public_url.replacen("://localhost", "://127.0.0.1", 1)
    }
}

#[derive(Debug, Deserialize)]
struct HostQuery {
    user: Option<String>,
    /// `light` or `dark`: the host's colour mode, handed to `view.theme.enable()`.
    theme: Option<String>,
    /// The locale `view.getContext()` reports (default `en-US`).
    locale: Option<String>,
    /// Lifetime of the FITs the bridge mints (default Forge's 25 s), to test calls past it.
    fit_lifetime: Option<u64>,
    /// `server` (default): the simulator makes the page's remote calls; `host`: this page
    /// does, from its own origin, as Atlassian's product page would (needs the app's CORS).
    bridge: Option<String>,
}

/// `GET /sites/{site}/wiki/forge/preferences?user=alice&theme=dark`: the Confluence frame with
/// the Custom UI in an iframe from the resource origin. The frame has a fixed height: Forge sizes
/// it with iframe-resizer, which the page does not depend on.
async fn host_page(
    State(sim): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query<HostQuery>,
) -> Response {
    let Some(site) = sim.sites.get(&slug) else {
        return error_page(StatusCode::NOT_FOUND, "There is no such site.");
    };
    let user_slug = query.user.as_deref().unwrap_or(USERS[0].slug);
    let Some(user) = sites::user(user_slug) else {
        return error_page(StatusCode::BAD_REQUEST, "There is no such user.");
    };
    let theme = if query.theme.as_deref() == Some("dark") {
        "dark"
    } else {
        "light"
    };
    let locale = query.locale.as_deref().unwrap_or("en-US");
    let lifetime = fit_lifetime(query.fit_lifetime);
    let via_host = query.bridge.as_deref() == Some("host");
    let mode = if via_host { "host" } else { "server" };
    let link = |user: &str, theme: &str| {
        format!(
            "?user={}&amp;theme={}&amp;locale={}&amp;bridge={mode}",
            escape(user),
            escape(theme),
            escape(locale)
        )
    };
    let switcher: String = USERS
        .iter()
        .map(|u| {
            format!(
                r#"<a href="{href}" data-user="{slug}"{current}>{name}</a>"#,
                href = link(u.slug, theme),
                slug = escape(u.slug),
                name = escape(u.name),
                current = if u.slug == user.slug {
                    r#" aria-current="true""#
                } else {
                    ""
                },
            )
        })
        .collect();
    let other_theme = if theme == "dark" { "light" } else { "dark" };
    let resource = resource_origin(&sim.public_url);
    let frame_query = form_urlencoded_pairs(&[
        ("theme", theme),
        ("locale", locale),
        ("fit_lifetime", &lifetime.to_string()),
        ("bridge", mode),
        ("host", &sim.public_url),
    ]);
    let src = format!(
        "{resource}/forge-ui/{site}/{user}/index.html?{frame_query}",
        site = site.slug,
        user = user.slug,
    );
    // Host mode: the page's side of the bridge, with what it needs to know.
    let host_side = if via_host {
        let config = json!({
            "site": site.slug,
            "user": user.slug,
            "appUrl": sim.config.app_url,
            "remoteKey": REMOTE_KEY,
            "resourceOrigin": resource,
            "bridgePath": format!("/forge-ui/{}/{}/__forge/bridge", site.slug, user.slug),
            "locale": locale,
            "fitLifetime": lifetime,
        });
        format!(
            r#"<script type="application/json" id="sim-forge-config">{}</script>
<script src="/forge-host.js"></script>"#,
            crate::html::script_json(&config)
        )
    } else {
        String::new()
    };
    let body = format!(
        r#"<header class="topbar">
<a class="brand" href="/">Confluence</a>
<span class="site-name" data-site="{site_slug}">{site_name}</span>
<nav class="user-switcher" aria-label="Switch user">Viewing as {switcher}</nav>
</header>
<div class="layout">
<nav class="sidebar" aria-label="Site navigation">
<ul><li><a href="/">All sites</a></li></ul>
<h2>Apps (Forge)</h2>
<ul><li><a href="{theme_link}" data-theme-switch="{other_theme}">Switch to the {other_theme} theme</a></li></ul>
</nav>
<main class="content">
<h1 class="page-title">My preferences</h1>
<iframe id="forge-iframe" title="My preferences" src="{src}" data-user="{user_slug}" data-theme="{theme}" data-bridge="{mode}"
 style="display: block; width: 100%; height: 1150px; border: 0;"
 sandbox="allow-downloads allow-forms allow-modals allow-pointer-lock allow-same-origin allow-scripts"
 allow="camera; clipboard-write; display-capture; fullscreen; microphone"></iframe>
{host_side}
</main>
</div>"#,
        site_slug = escape(site.slug),
        site_name = escape(site.name),
        theme_link = link(user.slug, other_theme),
        src = escape(&src),
        user_slug = escape(user.slug),
    );
    let title = format!("My preferences (Forge) - {} - Confluence", site.name);
    (
        StatusCode::OK,
        [(header::CACHE_CONTROL, "no-store")],
        Html(document(&title, "host-page forge-host-page", &body)),
    )
        .into_response()
}

fn error_page(status: StatusCode, message: &str) -> Response {
    let body = format!(
        r#"<main class="index"><h1>Cannot open the app</h1><p class="notice">{}</p><p><a href="/">Back to the index</a></p></main>"#,
        escape(message)
    );
    (
        status,
        Html(document("Cannot open the app", "error-page", &body)),
    )
        .into_response()
}

/// A FIT lifetime asked for, kept within what a verifier accepts (1 to 300 s).
fn fit_lifetime(asked: Option<u64>) -> u64 {
    asked
        .unwrap_or(fit::DEFAULT_FIT_LIFETIME_SECS)
        .clamp(1, 300)
}

/// `a=b&c=d`, each value percent-encoded.
fn form_urlencoded_pairs(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", encode_component(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
fn encode_component(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `GET /forge-host.js`.
async fn forge_host_js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        FORGE_HOST_JS,
    )
        .into_response()
}

/// `GET /forge-ui/{site}/{user}/__forge/global-bridge.js`.
async fn global_bridge() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        GLOBAL_BRIDGE_JS,
    )
        .into_response()
}

/// A file path inside the resource folder, or `None` for anything that could leave it.
fn resource_path(root: &std::path::Path, file: &str) -> Option<PathBuf> {
    let relative = std::path::Path::new(file);
    let safe = relative
        .components()
        .all(|c| matches!(c, Component::Normal(part) if !part.to_string_lossy().starts_with('.')));
    (safe && !file.is_empty()).then(|| root.join(relative))
}

fn content_type(path: &std::path::Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

/// Prepends the simulated `global-bridge.js` to `<head>`, as Forge prepends its own
/// (`@forge/cli-shared` bridge-script-service); a classic script, so it runs first.
pub fn inject_bridge(html: &str) -> String {
    let tag = r#"<script src="./__forge/global-bridge.js"></script>"#;
    match html.find("<head>") {
        Some(at) => {
            let end = at + "<head>".len();
            format!("{}{tag}{}", &html[..end], &html[end..])
        }
        None => format!("{tag}{html}"),
    }
}

/// CSP headers already computed, by the host origin they name.
static CSP: Mutex<Option<HashMap<String, String>>> = Mutex::new(None);

/// The CSP Forge would send for the resource, from Atlassian's `@forge/csp` (through
/// `tools/forge/csp.js`) with this host in `frame-ancestors` and reports sent here. Computed
/// once per host origin (it depends on the manifest and the HTML's inline scripts only).
fn csp_header(host_origin: &str, resource_origin: &str) -> Result<String, String> {
    if let Some(found) = CSP
        .lock()
        .ok()
        .and_then(|m| m.as_ref().and_then(|m| m.get(host_origin).cloned()))
    {
        return Ok(found);
    }
    let p = paths();
    let out = std::process::Command::new("node")
        .arg(&p.csp_tool)
        .arg(&p.manifest)
        .arg(&p.resource)
        .args(["--hostname", host_origin])
        .args([
            "--report-uri",
            &format!("{resource_origin}/forge-ui/csp-report"),
        ])
        .output()
        .map_err(|e| format!("cannot run node {}: {e}", p.csp_tool.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} failed: {}",
            p.csp_tool.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let csp = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if let Ok(mut m) = CSP.lock() {
        m.get_or_insert_with(HashMap::new)
            .insert(host_origin.to_owned(), csp.clone());
    }
    Ok(csp)
}

/// `GET /forge-ui/{site}/{user}/{*file}`: the resource's files; HTML gets the bridge script and
/// the `@forge/csp` policy.
async fn resource_file(
    State(sim): State<AppState>,
    Path((_site, _user, file)): Path<(String, String, String)>,
) -> Response {
    let root = paths().resource;
    let Some(path) = resource_path(&root, &file) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let host = sim.public_url.clone();
    let resource = resource_origin(&host);
    let is_html = content_type(&path).starts_with("text/html");
    let loaded = tokio::task::spawn_blocking(
        move || -> Result<(Vec<u8>, Option<String>), Option<String>> {
            let bytes = std::fs::read(&path).map_err(|_| None::<String>)?;
            if !is_html {
                return Ok((bytes, None));
            }
            let html = inject_bridge(&String::from_utf8_lossy(&bytes));
            let csp = csp_header(&host, &resource).map_err(Some)?;
            Ok((html.into_bytes(), Some(csp)))
        },
    )
    .await;
    let (bytes, csp) = match loaded {
        Ok(Ok(found)) => found,
        Ok(Err(None)) => {
            let message = format!(
                "No {file} in {}: run scripts/forge-ui.sh to build the Custom UI.",
                root.display()
            );
            return (StatusCode::NOT_FOUND, message).into_response();
        }
        Ok(Err(Some(e))) => return (StatusCode::INTERNAL_SERVER_ERROR, e).into_response(),
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    };
    let mut response = (
        [
            (
                header::CONTENT_TYPE,
                content_type(std::path::Path::new(&file)),
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        bytes,
    )
        .into_response();
    if let Some(csp) = csp.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    response
}

/// One `callBridge(method, payload)` from the iframe.
#[derive(Debug, Deserialize)]
struct BridgeCall {
    method: String,
    #[serde(default)]
    payload: Value,
    /// `?locale=` of the frame, for `getContext`.
    locale: Option<String>,
    /// `?fit_lifetime=` of the frame.
    fit_lifetime_secs: Option<u64>,
}

/// `fetchRemote`'s `fetchRequestInit` (`@forge/bridge` `fetch/fetch.js`).
#[derive(Debug, Deserialize)]
struct FetchRequestInit {
    path: Option<String>,
    method: Option<String>,
    #[serde(default)]
    headers: Vec<(String, String)>,
    body: Option<String>,
}

#[derive(Debug, Deserialize)]
struct FetchRemote {
    #[serde(rename = "remoteKey")]
    remote_key: String,
    #[serde(rename = "fetchRequestInit")]
    init: FetchRequestInit,
}

fn bridge_error(message: impl Into<String>) -> Json<Value> {
    Json(json!({"ok": false, "error": {"message": message.into()}}))
}

/// `POST /forge-ui/{site}/{user}/__forge/bridge`: `{method, payload}` →
/// `{ok: true, result}` or `{ok: false, error: {message}}`.
async fn bridge_call(
    State(sim): State<AppState>,
    Path((slug, user_slug)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let forge = sim.forge()?;
    let site = find_site(&sim, &slug)?;
    let user = find_user(&user_slug)?;
    let Ok(call) = serde_json::from_slice::<BridgeCall>(&body) else {
        return Ok(bridge_error("expected {method, payload}"));
    };
    match call.method.as_str() {
        "getContext" => {
            let installation = site.forge_installation();
            Ok(Json(json!({"ok": true, "result": {
                "accountId": fit::principal_of(user),
                "cloudId": site.cloud_id,
                "siteUrl": site.base_url,
                "localId": format!("preferences-{}", site.slug),
                "moduleKey": "preferences",
                "extension": {"type": "confluence:globalPage"},
                "environmentId": forge.config.environment_id.as_str(),
                "environmentType": fit::DEVELOPMENT,
                "installationId": installation.map(|i| i.installation_id),
                "locale": call.locale.unwrap_or_else(|| "en-US".to_owned()),
                "timezone": "UTC",
            }})))
        }
        "fetchRemote" => {
            let Ok(request) = serde_json::from_value::<FetchRemote>(call.payload) else {
                return Ok(bridge_error("fetchRemote: unreadable payload"));
            };
            if request.remote_key != REMOTE_KEY {
                return Ok(bridge_error(format!(
                    "Unknown remote: {}",
                    request.remote_key
                )));
            }
            let spec = FitSpec {
                principal: fit::principal_of(user),
                module: Module::preferences_page(),
                environment_id: forge.config.environment_id.to_string(),
                environment_type: Some(fit::DEVELOPMENT.to_owned()),
                lifetime_secs: fit_lifetime(call.fit_lifetime_secs),
            };
            let minted = match fit::issue(forge, site, &spec) {
                Ok(minted) => minted,
                Err(e) => return Ok(bridge_error(e.to_string())),
            };
            // As Forge does for an endpoint with `auth.appUserToken`: the user's API token
            // beside the FIT (the app calls Confluence with it).
            let user_token = match user.account_id {
                Some(_) => match crate::product::oauth::forge_user_token(&sim, site, user) {
                    Ok(token) => Some(token),
                    Err(e) => return Ok(bridge_error(e.to_string())),
                },
                None => None,
            };
            Ok(Json(
                forward(
                    &sim.http,
                    &sim.config.app_url,
                    &request.init,
                    &minted.token,
                    user_token.as_deref(),
                )
                .await,
            ))
        }
        other => Ok(bridge_error(format!(
            "The simulator's Forge bridge does not support {other}"
        ))),
    }
}

/// Request headers never passed on from the page (Forge sets the last two itself).
const HOP_HEADERS: [&str; 6] = [
    "authorization",
    "host",
    "content-length",
    "cookie",
    "x-forge-oauth-user",
    "x-forge-oauth-system",
];

/// Sends the page's call to the remote with `Authorization: Bearer <fit>`; answers the reply in
/// the shape the bridge rebuilds a `Response` from.
async fn forward(
    http: &reqwest::Client,
    base_url: &str,
    init: &FetchRequestInit,
    fit: &str,
    user_token: Option<&str>,
) -> Value {
    let path = init.path.as_deref().unwrap_or("");
    let url = if path.is_empty() || path.starts_with('/') {
        format!("{}{path}", base_url.trim_end_matches('/'))
    } else {
        format!("{}/{path}", base_url.trim_end_matches('/'))
    };
    let method = init.method.as_deref().unwrap_or("GET");
    let Ok(method) = reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes()) else {
        return json!({"ok": false, "error": {"message": format!("bad method {method}")}});
    };
    let mut request = http
        .request(method, &url)
        .timeout(std::time::Duration::from_secs(REMOTE_TIMEOUT_SECS));
    for (name, value) in &init.headers {
        if !HOP_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            request = request.header(name, value);
        }
    }
    request = request.header(header::AUTHORIZATION, format!("Bearer {fit}"));
    if let Some(token) = user_token {
        request = request.header("x-forge-oauth-user", token);
    }
    if let Some(body) = &init.body {
        request = request.body(body.clone());
    }
    let response = match request.send().await {
        Ok(r) => r,
        Err(e) => {
            return json!({"ok": false, "error": {"message": format!("remote network error: {}", e.without_url())}});
        }
    };
    let status = response.status();
    let headers = reply_headers(response.headers());
    let body = response.text().await.unwrap_or_default();
    json!({"ok": true, "result": {
        "status": status.as_u16(),
        "statusText": status.canonical_reason().unwrap_or(""),
        "headers": headers,
        "body": body,
        "isAttachment": false,
    }})
}

/// Response headers as the bridge takes them: lower-case names, repeated values comma-joined.
fn reply_headers(headers: &HeaderMap) -> Value {
    let mut out = serde_json::Map::new();
    for (name, value) in headers {
        let Ok(value) = value.to_str() else { continue };
        let entry = out
            .entry(name.as_str().to_owned())
            .or_insert_with(|| Value::String(String::new()));
        if let Value::String(s) = entry {
            if !s.is_empty() {
                s.push_str(", ");
            }
            s.push_str(value);
        }
    }
    Value::Object(out)
}

/// CSP violation reports received (newest last).
static REPORTS: Mutex<Vec<Value>> = Mutex::new(Vec::new());

/// `POST /forge-ui/csp-report` (the `report-uri` of the served policy).
async fn csp_report(body: Bytes) -> StatusCode {
    let report = serde_json::from_slice::<Value>(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    tracing::warn!(%report, "CSP violation in the Forge Custom UI");
    if let Ok(mut reports) = REPORTS.lock() {
        if reports.len() >= MAX_REPORTS {
            reports.remove(0);
        }
        reports.push(report);
    }
    StatusCode::NO_CONTENT
}

/// `GET /api/forge/ui/csp-reports`: `{reports: [...]}`.
async fn csp_reports() -> Json<Value> {
    let reports = REPORTS.lock().map(|r| r.clone()).unwrap_or_default();
    Json(json!({ "reports": reports }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_resource_is_served_from_the_other_loopback_name() {
        assert_eq!(
            resource_origin("http://127.0.0.1:3110"),
            "http://localhost:3110"
        );
        assert_eq!(
            resource_origin("http://localhost:3100"),
            "http://127.0.0.1:3100"
        );
    }

    #[test]
    fn the_bridge_script_comes_first_in_head() {
        let html = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head></html>";
        let served = inject_bridge(html);
        assert!(served.starts_with(
            "<!DOCTYPE html><html><head><script src=\"./__forge/global-bridge.js\"></script><meta"
        ));
    }

    #[test]
    fn no_file_outside_the_resource_is_served() {
        let root = std::path::Path::new("/r");
        assert_eq!(
            resource_path(root, "snippets/a/inline0.js"),
            Some(PathBuf::from("/r/snippets/a/inline0.js"))
        );
        for bad in [
            "../secret",
            "a/../../b",
            "/etc/passwd",
            ".env",
            "",
            "a/.git/x",
        ] {
            assert_eq!(resource_path(root, bad), None, "{bad}");
        }
    }

    #[test]
    fn frame_query_values_are_percent_encoded() {
        assert_eq!(
            form_urlencoded_pairs(&[("host", "http://127.0.0.1:3100"), ("locale", "de-DE")]),
            "host=http%3A%2F%2F127.0.0.1%3A3100&locale=de-DE"
        );
        assert_eq!(encode_component("a b&c=d<"), "a%20b%26c%3Dd%3C");
    }

    #[test]
    fn reply_headers_join_repeated_values() {
        let mut headers = HeaderMap::new();
        headers.append("vary", HeaderValue::from_static("a"));
        headers.append("vary", HeaderValue::from_static("b"));
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        let out = reply_headers(&headers);
        assert_eq!(out["vary"], "a, b");
        assert_eq!(out["content-type"], "application/json");
    }
}
