//! Issuing tokens for a site: checks the app is installed, mints with the site's current
//! secret (`tokens`), counts what was issued and logs it without the token text.
//! Shared by the host page and the admin API.

use crate::descriptor::GeneralPage;
use crate::sites::{Installation, Site, User};
use crate::state::{Simulator, now};
use crate::tokens::{self, ContextToken, IframeUrl, TokenError};
use tracing::debug;

/// Why nothing was issued.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// The app is not installed on the site: there is no secret.
    #[error("the app is not installed on site {0}")]
    NotInstalled(&'static str),
    /// The installed app has no general page with that key.
    #[error("the app has no general page {0:?}")]
    UnknownModule(String),
    /// Minting failed.
    #[error(transparent)]
    Token(#[from] TokenError),
}

/// A context token for `user` on `site`, with the configured lifetime.
pub fn context_token(
    sim: &Simulator,
    site: &Site,
    user: &User,
) -> Result<ContextToken, IssueError> {
    let installation = site
        .installation()
        .ok_or(IssueError::NotInstalled(site.slug))?;
    let minted = tokens::context_token(
        &site.client_key,
        &installation.secret,
        user,
        now(),
        sim.token_lifetime_secs(),
    )
    .map_err(TokenError::from)?;
    site.count_context_token();
    debug!(
        site = site.slug,
        user = user.slug,
        exp = minted.exp,
        "context token issued"
    );
    Ok(minted)
}

/// A freshly signed iframe URL for the general page `module` (the first one if `None`),
/// with the installation it was made for.
pub fn iframe_url(
    sim: &Simulator,
    site: &Site,
    user: &User,
    module: Option<&str>,
) -> Result<(IframeUrl, Installation, GeneralPage), IssueError> {
    let installation = site
        .installation()
        .ok_or(IssueError::NotInstalled(site.slug))?;
    let descriptor = &installation.descriptor;
    let page = match module {
        Some(key) => descriptor.page(key),
        None => descriptor.primary_page(),
    }
    .ok_or_else(|| IssueError::UnknownModule(module.unwrap_or_default().to_owned()))?
    .clone();
    let minted = tokens::iframe_url(
        descriptor,
        &page,
        &site.client_key,
        &installation.secret,
        user,
        &sim.public_url,
        now(),
    )?;
    site.count_iframe_token();
    debug!(site = site.slug, user = user.slug, module = %page.key, exp = minted.exp, "iframe token issued");
    Ok((minted, installation, page))
}
