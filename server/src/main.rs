//! The server binary: read configuration, start, serve. A bad configuration or a failed start
//! prints one line and exits with status 2; never a panic trace.
//! `server forge-manifest` prints the Forge manifest for the same configuration instead;
//! `server personal-data --once` runs the personal-data job once for every tenant and exits 0
//! when every batch was answered, 1 when not.

use std::io::Write;

use leptos::prelude::get_configuration;
use server::config::Config;
use server::{http::telemetry, startup};

/// mimalloc instead of glibc's malloc: SSR allocates and frees many small buffers per page, and
/// glibc's allocator was a large part of a page render's CPU (docs/BENCHMARKS.md, "Measured
/// reasons behind code choices").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn fail(message: impl std::fmt::Display) -> ! {
    telemetry::flush();
    eprintln!("{message}");
    std::process::exit(2)
}

const USAGE: &str = "usage: server [forge-manifest | personal-data --once]";

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    match args.as_slice() {
        [] => serve(),
        [command] if command == "forge-manifest" => print_forge_manifest(),
        [command, once] if command == "personal-data" && once == "--once" => personal_data_once(),
        _ => fail(USAGE),
    }
}

/// The manifest on stdout, nothing else (no logging is set up), so it can be redirected to a file.
fn print_forge_manifest() {
    let config = Config::from_env().unwrap_or_else(|e| fail(e));
    let manifest = server::forge::manifest::render(&config).unwrap_or_else(|e| fail(e));
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(manifest.as_bytes())
        .and_then(|()| stdout.flush())
    {
        fail(format!("cannot write the Forge manifest: {e}"));
    }
}

/// The personal-data job, once, with the server's configuration and database (on SQLite only
/// while the server is stopped: the file has one process at a time).
#[tokio::main]
async fn personal_data_once() {
    let config = Config::from_env().unwrap_or_else(|e| fail(e));
    telemetry::init(config.is_production(), config.log_flush);
    // Nothing is served: the site's build settings (cargo-leptos) are not needed.
    let leptos_options = leptos::prelude::LeptosOptions::builder()
        .output_name("connect-prefs")
        .build();
    let (_router, state) = startup::build(config, leptos_options)
        .await
        .unwrap_or_else(|e| fail(format!("start-up failed: {e}")));
    let summary = server::personal_data::run_once(&state).await;
    tracing::info!(
        cycles = summary.cycles,
        batches = summary.batches,
        failed = summary.failed,
        busy = summary.busy,
        closed = summary.closed,
        erased = summary.erased,
        purged_tenants = summary.purged.tenants,
        purged_sites = summary.purged.sites.len(),
        "personal-data run finished"
    );
    state.db.close().await;
    telemetry::flush();
    std::process::exit(if summary.complete() { 0 } else { 1 });
}

#[tokio::main]
async fn serve() {
    let config = Config::from_env().unwrap_or_else(|e| fail(e));
    telemetry::init(config.is_production(), config.log_flush);
    let mut leptos_options = get_configuration(None)
        .unwrap_or_else(|e| fail(format!("configuration error: leptos: {e}")))
        .leptos_options;
    leptos_options.site_addr = config.site_addr;
    let addr = config.site_addr;
    let env = config.env;
    let (router, state) = startup::build(config, leptos_options)
        .await
        .unwrap_or_else(|e| fail(format!("start-up failed: {e}")));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .unwrap_or_else(|e| fail(format!("start-up failed: cannot listen on {addr}: {e}")));
    tracing::info!(%addr, ?env, "listening");
    if let Some(metrics_addr) = state.config.metrics_addr {
        let metrics_listener = tokio::net::TcpListener::bind(metrics_addr)
            .await
            .unwrap_or_else(|e| {
                fail(format!(
                    "start-up failed: cannot listen on METRICS_ADDR {metrics_addr}: {e}"
                ))
            });
        tracing::info!(addr = %metrics_addr, "metrics on /metrics");
        let state = state.clone();
        tokio::spawn(async move {
            let served =
                startup::serve_metrics(metrics_listener, &state, startup::shutdown_signal()).await;
            if let Err(e) = served {
                tracing::error!(error = %e, "the metrics listener failed");
            }
        });
    }
    if let Err(e) = startup::serve(listener, router, state, startup::shutdown_signal()).await {
        fail(format!("server error: {e}"));
    }
    tracing::info!("stopped");
    telemetry::flush();
}
