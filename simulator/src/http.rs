//! The outbound HTTP client that talks to the app (descriptor, health, lifecycle callbacks,
//! Forge triggers): short timeouts, no redirects, no proxies. The workspace's reqwest has rustls
//! without a crypto provider, so we install ring as the process default before building it.

use crate::sites::CallbackRecord;
use reqwest::redirect::Policy;
use std::time::Duration;
use tracing::{info, warn};

/// Overall timeout of one request to the app.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The client could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the HTTP client: {0}")]
pub struct ClientError(String);

/// A client for requests to the app.
pub fn client() -> Result<reqwest::Client, ClientError> {
    // Fails only if a provider is already installed, which is just as good.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .redirect(Policy::none())
        .connect_timeout(Duration::from_secs(3))
        .timeout(REQUEST_TIMEOUT)
        .user_agent("confluence-simulator (Atlassian Connect host stand-in)")
        .build()
        .map_err(|e| ClientError(error_chain(&e)))
}

/// Sends one callback (a lifecycle callback or a Forge trigger) made at `at` and records what
/// came back: the app's status, or why nothing did. Logs site, event, URL and status, never
/// the request itself (it carries a token).
pub async fn send_callback(
    request: reqwest::RequestBuilder,
    site: &str,
    event: &str,
    url: &str,
    at: i64,
) -> CallbackRecord {
    match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            info!(site, event, url, status, "callback to the app");
            CallbackRecord {
                status: Some(status),
                error: None,
                at,
            }
        }
        Err(e) => {
            let error = error_chain(&e);
            warn!(site, event, url, %error, "callback to the app failed");
            CallbackRecord {
                status: None,
                error: Some(error),
                at,
            }
        }
    }
}

/// An error and all its sources on one line (reqwest's top-level message alone is vague).
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let next = e.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = e.source();
    }
    text
}
