//! The outbound HTTP client that talks to the app (descriptor, health, lifecycle callbacks):
//! short timeouts, no redirects, no proxies. The workspace's reqwest has rustls without a
//! crypto provider, so we install ring as the process default before building it.

use reqwest::redirect::Policy;
use std::time::Duration;

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
