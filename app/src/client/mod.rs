//! Browser-side plumbing: the server-function client that authenticates every call, the token
//! cache it uses, and the bridge to Confluence's all.js (`AP`). It compiles into the server build
//! too (Leptos needs the type), but only ever runs in the browser.

mod ap;
mod auth_client;
pub mod codec;
pub mod token;

pub use ap::{host_available, resize_iframe};
pub use auth_client::AuthClient;

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
