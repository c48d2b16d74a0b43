//! Browser-side plumbing: the server-function client that authenticates every call, the token
//! cache it uses, and the bridges to the hosts (Confluence's all.js `AP`; on Forge, the bridge
//! shim). It compiles into the server build too (Leptos needs the type), but only ever runs in
//! the browser. Two clients, one per build: the hydrated Connect page always has its token
//! (`auth_client`); the Custom UI build (`csr`) picks Forge, Connect or neither at start-up
//! (`host_client`). Nothing outside this module knows which transport carries a call.

mod ap;
#[cfg(not(feature = "csr"))]
mod auth_client;
#[cfg(feature = "csr")]
mod forge;
#[cfg(feature = "csr")]
mod host_client;
#[cfg(feature = "csr")]
mod host_response;
pub mod token;

pub use ap::{host_available, resize_iframe};
#[cfg(not(feature = "csr"))]
pub use auth_client::AuthClient;
#[cfg(feature = "csr")]
pub use host_client::AuthClient;

/// The key of the app's remote in the Forge manifest (`remotes[].key`): where `requestRemote`
/// sends the server functions. The manifest generator uses the same constant.
pub const FORGE_REMOTE_KEY: &str = "backend";

/// Marks the document as hydrated (`<html data-hydrated="true">`): a signal for tests and for
/// CSS that hides no-JS hints.
pub fn mark_hydrated() {
    if let Some(el) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = el.set_attribute("data-hydrated", "true");
    }
}
