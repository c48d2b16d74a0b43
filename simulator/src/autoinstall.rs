//! Start-up auto-install: wait until the app answers (`/healthz`, else its descriptor), then
//! install every site once and print which ones succeeded: with Forge on, first a Forge install
//! (so the Connect `installed` payload carries its installationId), then the Connect install.
//! An app without `/forge/installed` (404) still gets its Connect install. Never retries: the
//! index page and `POST /api/sites/{site}/install` are there for that.

use crate::forge;
use crate::lifecycle;
use crate::state::AppState;
use std::time::Duration;
use tokio::time::Instant;
use tracing::{info, warn};

/// Pause between two polls of the app.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// How long to wait for the app before giving up.
pub const WAIT_LIMIT: Duration = Duration::from_secs(120);

/// Waits for the app, installs all sites, prints the outcome.
pub async fn run(sim: AppState) {
    if !wait_for_app(&sim).await {
        warn!(app = %sim.config.app_url, "app did not answer; auto-install skipped");
        println!(
            "Auto-install skipped: the app at {} did not answer within {} s; install from {}/",
            sim.config.app_url,
            WAIT_LIMIT.as_secs(),
            sim.public_url
        );
        return;
    }
    let mut installed = Vec::new();
    let mut failed = Vec::new();
    let mut forge_notes = Vec::new();
    for site in sim.sites.iter() {
        if sim.forge.is_some() {
            match forge::install::install(&sim, site).await {
                Ok(outcome) if outcome.delivered => {}
                Ok(outcome) if outcome.status == Some(404) => forge_notes.push(format!(
                    "{}: the app has no {} (HTTP 404; an app without Forge?)",
                    site.slug, outcome.url
                )),
                Ok(outcome) => forge_notes.push(format!(
                    "{}: {} {}",
                    site.slug,
                    outcome.event,
                    outcome
                        .status
                        .map(|s| format!("answered HTTP {s}"))
                        .or(outcome.error)
                        .unwrap_or_else(|| "got no answer".to_owned())
                )),
                Err(e) => forge_notes.push(format!("{}: {e}", site.slug)),
            }
        }
        match lifecycle::install(&sim, site).await {
            Ok(outcome) if outcome.installed => installed.push(site.slug.to_owned()),
            Ok(outcome) => failed.push(format!(
                "{} (installed callback: {})",
                site.slug,
                outcome
                    .status
                    .map(|s| format!("HTTP {s}"))
                    .or(outcome.error)
                    .unwrap_or_else(|| "no answer".to_owned())
            )),
            Err(e) => failed.push(format!("{} ({e})", site.slug)),
        }
    }
    info!(?installed, ?failed, ?forge_notes, "auto-install finished");
    if !installed.is_empty() {
        println!(
            "Auto-install: installed the app on {}",
            installed.join(", ")
        );
    }
    if !failed.is_empty() {
        println!("Auto-install failed for {}", failed.join("; "));
    }
    if !forge_notes.is_empty() {
        println!(
            "Forge install trigger not delivered (a Forge installation stands all the same): {}",
            forge_notes.join("; ")
        );
    }
}

async fn wait_for_app(sim: &AppState) -> bool {
    let deadline = Instant::now() + WAIT_LIMIT;
    loop {
        if answers(sim, &sim.config.healthz_url()).await
            || answers(sim, &sim.config.descriptor_url()).await
        {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

async fn answers(sim: &AppState, url: &str) -> bool {
    sim.http
        .get(url)
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
}
