//! Server-side rendering of a whole page into one buffer. It does what leptos_axum's async mode
//! does for this app (a root owner with an SSR shared context, the view rendered in order, then
//! the serialised resources the browser hydrates from) without its generic response pipeline:
//! no copy of the request parts, no meta context, no per-page script nonce (the CSP allows the
//! appended scripts by their hashes, which this collects), no streamed body. The page goes out
//! in one piece with its length.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use futures::StreamExt;
use hydration_context::{SharedContext, SsrSharedContext};
use leptos::prelude::*;
use leptos::reactive::owner::Sandboxed;

use crate::http::owner;

use super::csp;

/// A rendered page.
pub struct Rendered {
    pub html: String,
    /// The CSP hash sources of the inline scripts appended after the document.
    pub script_hashes: Vec<String>,
}

/// The page's HTML: `contexts` runs first inside the page's owner, then `app` is rendered.
pub async fn html<IV>(contexts: impl FnOnce(), app: impl FnOnce() -> IV) -> Rendered
where
    IV: IntoView + 'static,
{
    let shared: Arc<dyn SharedContext + Send + Sync> = Arc::new(SsrSharedContext::new());
    // A root of this page's own, current only while the render is polled (`http::owner`).
    let owner = owner::request_root(Some(Arc::clone(&shared)));
    let render = owner.with(|| {
        contexts();
        let view = app().to_html_stream_in_order();
        Sandboxed::new(async move {
            let mut html = view.collect::<String>().await;
            while let Some(pending) = shared.await_deferred() {
                pending.await;
            }
            // Resolved resources, for hydration; after the document, as leptos_axum puts them.
            let mut script_hashes = Vec::new();
            if let Some(mut data) = shared.pending_data() {
                while let Some(chunk) = data.next().await {
                    html.push_str("<script>");
                    html.push_str(&chunk);
                    html.push_str("</script>");
                    script_hashes.push(csp::hash_source(&chunk));
                }
            }
            Rendered {
                html,
                script_hashes,
            }
        })
    });
    let html = owner::scoped(&owner, render).await;
    owner.unset_with_forced_cleanup();
    html
}

/// A 200 `text/html` response with a length.
pub fn response(html: String) -> Response {
    let mut res = Response::new(Body::from(html));
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    res
}
