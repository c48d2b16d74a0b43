//! The server binary: read configuration, start, serve. A bad configuration or a failed start
//! prints one line and exits with status 2; never a panic trace.
//! `server forge-manifest` prints the Forge manifest for the same configuration instead.

use std::io::Write;

use leptos::prelude::get_configuration;
use server::config::Config;
use server::{http::telemetry, startup};

/// mimalloc instead of glibc's malloc: SSR allocates and frees many small buffers per page, and
/// glibc's allocator took about a third of a page render's CPU (docs/BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn fail(message: impl std::fmt::Display) -> ! {
    telemetry::flush();
    eprintln!("{message}");
    std::process::exit(2)
}

const USAGE: &str = "usage: server [forge-manifest]";

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    match args.as_slice() {
        [] => serve(),
        [command] if command == "forge-manifest" => print_forge_manifest(),
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
    if let Err(e) = startup::serve(listener, router, state, startup::shutdown_signal()).await {
        fail(format!("server error: {e}"));
    }
    tracing::info!("stopped");
    telemetry::flush();
}
