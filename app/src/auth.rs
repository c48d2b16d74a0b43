//! Who is asking, as the server verified it, and what the shell needs to write into `<head>`.
//! The server provides these as Leptos context; nothing here verifies anything.

use crate::preferences::Locale;

/// The verified caller, whichever transport carried it (a Connect JWT or a Forge invocation
/// token): site and user come only from a verified token, never from input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthCtx {
    /// The internal tenant id: the site, the same through Connect and Forge.
    pub site_id: String,
    /// `None` for anonymous viewers (a token without `sub`).
    pub account_id: Option<String>,
    /// The site's address (display URL when Confluence sent one); empty when no transport told
    /// it (a Forge-only install).
    pub site_url: String,
    /// The language Confluence reported on page load (`loc`), used for never-saved users.
    pub host_locale: Option<Locale>,
}

/// Values the shell writes into `<head>` of a page render.
#[derive(Debug, Clone, Default)]
pub struct ShellContext {
    /// The app-minted session token for `<meta name="token">`.
    pub session_token: String,
    /// Where all.js comes from (Atlassian's CDN, or the local simulator).
    pub all_js_url: String,
}

/// The caller, or `invalid_token` when a server function runs without a verified caller (which
/// the server's routing makes impossible; this is the fail-closed default).
#[cfg(feature = "ssr")]
pub fn require_caller() -> Result<AuthCtx, crate::AppError> {
    leptos::prelude::use_context::<AuthCtx>().ok_or_else(crate::AppError::invalid_token)
}
