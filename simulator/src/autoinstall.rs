//! Start-up auto-install: wait until the app answers (`/healthz`, else its descriptor), then
//! install every site once and print which ones succeeded. Never retries a failed install:
//! the index page and `POST /api/sites/{site}/install` are there for that.

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
    for site in sim.sites.iter() {
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
    info!(?installed, ?failed, "auto-install finished");
    if !installed.is_empty() {
        println!(
            "Auto-install: installed the app on {}",
            installed.join(", ")
        );
    }
    if !failed.is_empty() {
        println!("Auto-install failed for {}", failed.join("; "));
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
