//! The server binary: read configuration, start, serve. A bad configuration or a failed start
//! prints one line and exits with status 2; never a panic trace.

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

#[tokio::main]
async fn main() {
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
