//! Bare axum baseline for bench/run.sh: `GET /api/preferences` answers a fixed JSON body the
//! size and shape of the real app's answer, `GET /atlassian-connect.json` a small fixed body
//! (cold start). Listens on `127.0.0.1:$PORT` (default 3712); stops on SIGTERM or SIGINT.

use axum::Router;
use axum::http::header;
use axum::routing::get;

const PREFERENCES: &str = r#"{"preferences":{"theme":"dark","locale":"en-GB","date_format":"long","email_digest":"weekly","default_space_key":"BU1","favourite_labels":["howto","release-notes"],"items_per_page":25},"revision":2,"updated_at":1795864800,"can_edit":true,"site_url":"https://bench-tenant.invalid/wiki"}"#;
const DESCRIPTOR: &str = r#"{"key":"bench-bare","baseUrl":"http://127.0.0.1"}"#;

async fn preferences() -> ([(header::HeaderName, &'static str); 1], &'static str) {
    ([(header::CONTENT_TYPE, "application/json")], PREFERENCES)
}

async fn descriptor() -> ([(header::HeaderName, &'static str); 1], &'static str) {
    ([(header::CONTENT_TYPE, "application/json")], DESCRIPTOR)
}

async fn shutdown() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {},
        _ = tokio::signal::ctrl_c() => {},
    }
}

#[tokio::main]
async fn main() {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3712);
    let app = Router::new()
        .route("/api/preferences", get(preferences))
        .route("/atlassian-connect.json", get(descriptor));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind 127.0.0.1:$PORT");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown())
        .await
        .expect("serve");
}
