//! The browser pages: the index (sites, Connect and Forge install state, buttons, links to open
//! the app as each user) and the host page, a bare Confluence frame embedding the app's general page in an
//! iframe with a freshly signed URL. Every interpolated value goes through `html::escape`.

use crate::html::{document, escape, script_json};
use crate::issue::{self, IssueError};
use crate::sites::{self, CallbackRecord, SiteSnapshot, USERS};
use crate::state::AppState;
use crate::state::Simulator;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

/// `GET /`.
pub async fn index(State(sim): State<AppState>) -> Response {
    let sections: String = sim
        .sites
        .iter()
        .map(|site| site_section(&site.snapshot(), sim.forge.is_some()))
        .collect();
    let body = format!(
        r#"<header class="topbar"><a class="brand" href="/">Confluence simulator</a></header>
<main class="index">
<h1>Confluence simulator</h1>
<p>Plays Confluence Cloud for the Connect app at <a href="{app}">{app}</a>
(descriptor <a href="{descriptor}">{descriptor}</a>).</p>
<p>Context tokens live {lifetime}&nbsp;s. Install callbacks are signed with the key
<a href="/keys/{kid}">{kid}</a>. JSON API: <a href="/api/sites">/api/sites</a>,
<a href="/api/stats">/api/stats</a>, <a href="/api/config">/api/config</a>.</p>
{forge}{sections}</main>"#,
        app = escape(&sim.config.app_url),
        descriptor = escape(&sim.config.descriptor_url()),
        lifetime = sim.token_lifetime_secs(),
        kid = escape(sim.key.kid()),
        forge = forge_paragraph(&sim),
    );
    page(StatusCode::OK, "Confluence simulator", "index-page", &body)
}

fn forge_paragraph(sim: &Simulator) -> String {
    let Some(forge) = &sim.forge else {
        return "<p>Forge is off (<code>SIM_FORGE=false</code>).</p>\n".to_owned();
    };
    format!(
        r#"<section class="forge" data-forge-kid="{kid}">
<p>Plays Forge for the app <code>{app_id}</code>, environment <code>{env}</code> (DEVELOPMENT).
Forge invocation tokens are signed with <code>{kid}</code>; keys:
<a href="/forge/jwks.json">/forge/jwks.json</a> ({published} published, fetched {fetches} times).
State: <a href="/api/forge">/api/forge</a>.</p>
<div class="actions">
<form method="post" action="/api/forge/rotate"><button type="submit">Rotate the Forge key</button></form>
</div>
</section>
"#,
        app_id = escape(forge.config.app_id.as_str()),
        env = escape(forge.config.environment_id.as_str()),
        kid = escape(forge.keys.current().kid()),
        published = forge.keys.kids().len(),
        fetches = forge.keys.jwks_fetches(),
    )
}

fn site_section(site: &SiteSnapshot, forge_enabled: bool) -> String {
    let slug = escape(site.site);
    let state = if site.installed {
        r#"<span class="state-installed">installed</span>"#
    } else {
        r#"<span class="state-not-installed">not installed</span>"#
    };
    let callbacks = callback_list(&[
        ("installed", &site.callbacks.installed),
        ("enabled", &site.callbacks.enabled),
        ("disabled", &site.callbacks.disabled),
        ("uninstalled", &site.callbacks.uninstalled),
    ]);
    let open_links: String = site
        .app
        .iter()
        .flat_map(|app| app.pages.iter().map(move |p| (app, p)))
        .map(|(app, p)| {
            let links: Vec<String> = USERS
                .iter()
                .map(|u| {
                    format!(
                        r#"<a href="{url}?user={user}" data-user="{user}">{name}</a>"#,
                        url = escape(&p.host_page_url),
                        user = escape(u.slug),
                        name = escape(u.name),
                    )
                })
                .collect();
            format!(
                "<dt>Open</dt><dd>{app} › {page} as {links}</dd>",
                app = escape(&app.name),
                page = escape(&p.name),
                links = links.join(", "),
            )
        })
        .collect();
    let (install_label, uninstall_disabled) = if site.installed {
        ("Re-install (rotates the secret)", "")
    } else {
        ("Install", " disabled")
    };
    let (forge_rows, forge_buttons) = if forge_enabled {
        forge_parts(site)
    } else {
        (String::new(), String::new())
    };
    format!(
        r#"<section class="site" data-site="{slug}">
<h2>{name} <small><code>{slug}</code></small></h2>
<dl>
<dt>State</dt><dd>{state} (successful installs: {installs})</dd>
<dt>clientKey</dt><dd><code>{client_key}</code></dd>
<dt>Base URL</dt><dd><code>{base_url}</code></dd>
<dt>cloudId</dt><dd><code>{cloud_id}</code></dd>
<dt>Callbacks</dt><dd>{callbacks}</dd>
{forge_rows}<dt>Tokens issued</dt><dd>context {context}, iframe {iframe}, Forge {fits}</dd>
{open_links}</dl>
<div class="actions">
<form method="post" action="/api/sites/{slug}/install"><button type="submit">{install_label}</button></form>
<form method="post" action="/api/sites/{slug}/uninstall"><button type="submit"{uninstall_disabled}>Uninstall</button></form>
{forge_buttons}</div>
</section>
"#,
        name = escape(site.name),
        installs = site.installs,
        client_key = escape(&site.client_key),
        base_url = escape(&site.base_url),
        cloud_id = escape(&site.cloud_id),
        fits = site.fits_issued,
        callbacks = callbacks,
        context = site.context_tokens_issued,
        iframe = site.iframe_tokens_issued,
    )
}

/// The Forge rows of a site's list and its Forge buttons.
fn forge_parts(site: &SiteSnapshot) -> (String, String) {
    let forge = &site.forge;
    let state = match &forge.installation_id {
        Some(id) => format!(
            r#"<span class="state-installed">installed</span>, installationId <code>{}</code>"#,
            escape(id)
        ),
        None => r#"<span class="state-not-installed">not installed</span>"#.to_owned(),
    };
    let triggers = callback_list(&[
        ("installed", &forge.callbacks.installed),
        ("upgraded", &forge.callbacks.upgraded),
        ("preUninstall", &forge.callbacks.uninstalled),
    ]);
    let open: Vec<String> = USERS
        .iter()
        .map(|u| {
            format!(
                r#"<a href="/sites/{site}/wiki/forge/preferences?user={user}" data-forge-user="{user}">{name}</a>"#,
                site = escape(site.site),
                user = escape(u.slug),
                name = escape(u.name),
            )
        })
        .collect();
    let rows = format!(
        "<dt>Forge</dt><dd>{state} (installs: {installs})</dd>\n<dt>Forge triggers</dt><dd>{triggers}</dd>\n<dt>Open on Forge</dt><dd>Custom UI as {open}</dd>\n",
        installs = forge.installs,
        open = open.join(", "),
    );
    let slug = escape(site.site);
    let (install_label, disabled) = if forge.installed {
        ("Forge re-install (new installationId)", "")
    } else {
        ("Forge install", " disabled")
    };
    let buttons = format!(
        r#"<form method="post" action="/api/sites/{slug}/forge/install"><button type="submit">{install_label}</button></form>
<form method="post" action="/api/sites/{slug}/forge/upgrade"><button type="submit"{disabled}>Forge upgrade</button></form>
<form method="post" action="/api/sites/{slug}/forge/uninstall"><button type="submit"{disabled}>Forge uninstall</button></form>
"#
    );
    (rows, buttons)
}

/// The outcomes recorded so far, `·`-separated, or "none yet".
fn callback_list(records: &[(&str, &Option<CallbackRecord>)]) -> String {
    let texts: Vec<String> = records
        .iter()
        .filter_map(|(name, record)| record.as_ref().map(|r| callback_text(name, r)))
        .collect();
    if texts.is_empty() {
        "none yet".to_owned()
    } else {
        texts.join(" · ")
    }
}

fn callback_text(name: &str, record: &CallbackRecord) -> String {
    match (record.status, &record.error) {
        (Some(status), _) => format!("{name} <code>{status}</code>"),
        (None, Some(error)) => format!("{name} <code>failed</code> ({})", escape(error)),
        (None, None) => format!("{name} <code>failed</code>"),
    }
}

/// Query of the host page.
#[derive(Debug, Deserialize)]
pub struct HostQuery {
    user: Option<String>,
}

/// `GET /sites/{site}/wiki/plugins/servlet/ac/{app_key}/{module_key}?user=alice`.
pub async fn host_page(
    State(sim): State<AppState>,
    Path((site_slug, app_key, module_key)): Path<(String, String, String)>,
    Query(query): Query<HostQuery>,
) -> Response {
    let Some(site) = sim.sites.get(&site_slug) else {
        let message = format!(
            "There is no site {}. Known sites: {}.",
            escape(&site_slug),
            escape(&sim.sites.slugs())
        );
        return error_page(StatusCode::NOT_FOUND, "Site not found", &message);
    };
    let user_slug = query.user.as_deref().unwrap_or(USERS[0].slug);
    let Some(user) = sites::user(user_slug) else {
        let message = format!(
            "There is no user {}. Known users: {}.",
            escape(user_slug),
            escape(&sites::user_slugs())
        );
        return error_page(StatusCode::BAD_REQUEST, "Unknown user", &message);
    };
    let installed_key = site.installation().map(|i| i.descriptor.key);
    if installed_key.as_deref() != Some(app_key.as_str()) {
        let message = format!(
            "The app {} is not installed on {}. Install it from the <a href=\"/\">index page</a>.",
            escape(&app_key),
            escape(site.name)
        );
        return error_page(StatusCode::NOT_FOUND, "App not installed", &message);
    }
    match issue::iframe_url(&sim, site, user, Some(&module_key)) {
        Ok((minted, installation, current)) => {
            let descriptor = &installation.descriptor;
            let switcher: String = USERS
                .iter()
                .map(|u| {
                    format!(
                        r#"<a href="?user={slug}" data-user="{slug}"{current}>{name}</a>"#,
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
            let nav: String = descriptor
                .pages
                .iter()
                .map(|p| {
                    format!(
                        r#"<li><a href="{url}?user={user}"{current}>{name}</a></li>"#,
                        url = escape(&site.host_page_url(&descriptor.key, &p.key)),
                        user = escape(user.slug),
                        name = escape(&p.name),
                        current = if p.key == current.key {
                            r#" aria-current="page""#
                        } else {
                            ""
                        },
                    )
                })
                .collect();
            let mut context = json!({"confluence": {}, "license": {"active": true}});
            if let Some(account_id) = user.account_id {
                context["user"] = json!({"accountId": account_id});
            }
            let config = json!({
                "site": site.slug,
                "user": user.slug,
                "accountId": user.account_id,
                "appOrigin": minted.origin,
                "channel": minted.channel,
                "contextTokenUrl": format!("/api/sites/{}/context-token", site.slug),
                "context": context,
            });
            let frame_name = json!({"hostOrigin": sim.public_url, "channel": minted.channel});
            let body = format!(
                r#"<header class="topbar">
<a class="brand" href="/">Confluence</a>
<span class="site-name" data-site="{site_slug}">{site_name}</span>
<nav class="user-switcher" aria-label="Switch user">Viewing as {switcher}</nav>
</header>
<div class="layout">
<nav class="sidebar" aria-label="Site navigation">
<ul><li><a href="/">All sites</a></li></ul>
<h2>Apps</h2>
<ul>{nav}</ul>
</nav>
<main class="content">
<h1 class="page-title">{title}</h1>
<script type="application/json" id="sim-host-config">{config}</script>
<script src="/host.js"></script>
<iframe id="ap-iframe" title="{title}" name="{frame_name}" src="{src}" data-app-key="{app_key}" data-module-key="{module_key}" data-user="{user_slug}"></iframe>
</main>
</div>"#,
                site_slug = escape(site.slug),
                site_name = escape(site.name),
                title = escape(&current.name),
                config = script_json(&config),
                frame_name = escape(&frame_name.to_string()),
                src = escape(&minted.url),
                app_key = escape(&descriptor.key),
                module_key = escape(&current.key),
                user_slug = escape(user.slug),
            );
            let title = format!("{} - {} - Confluence", current.name, site.name);
            page(StatusCode::OK, &title, "host-page", &body)
        }
        Err(IssueError::UnknownModule(_)) => {
            let message = format!("The app has no page {}.", escape(&module_key));
            error_page(StatusCode::NOT_FOUND, "Page not found", &message)
        }
        Err(e) => error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Cannot open the app",
            &escape(&e.to_string()),
        ),
    }
}

fn page(status: StatusCode, title: &str, class: &str, body: &str) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Html(document(title, class, body)),
    )
        .into_response()
}

/// `message` must be safe markup.
fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    let body = format!(
        r#"<header class="topbar"><a class="brand" href="/">Confluence simulator</a></header>
<main class="index"><h1>{title}</h1><p class="notice">{message}</p><p><a href="/">Back to the index</a></p></main>"#,
        title = escape(title),
    );
    page(status, title, "error-page", &body)
}
