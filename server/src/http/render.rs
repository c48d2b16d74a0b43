//! Server-side rendering of a whole page into one buffer. It does what leptos_axum's async mode
//! does for this app (a root owner with an SSR shared context, the view rendered in order, then
//! the serialised resources the browser hydrates from) without its generic response pipeline:
//! no copy of the request parts, no meta context, no per-page script nonce (no CSP here asks
//! for one), no streamed body. The page goes out in one piece with its length.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use futures::StreamExt;
use hydration_context::{SharedContext, SsrSharedContext};
use leptos::prelude::*;
use leptos::reactive::owner::{Owner, Sandboxed};

/// The page's HTML: `contexts` runs first inside the page's owner, then `app` is rendered.
pub async fn html<IV>(contexts: impl FnOnce(), app: impl FnOnce() -> IV) -> String
where
    IV: IntoView + 'static,
{
    let shared: Arc<dyn SharedContext + Send + Sync> = Arc::new(SsrSharedContext::new());
    let owner = Owner::new_root(Some(Arc::clone(&shared)));
    let render = owner.with(|| {
        contexts();
        let view = app().to_html_stream_in_order();
        Sandboxed::new(async move {
            let mut html = view.collect::<String>().await;
            while let Some(pending) = shared.await_deferred() {
                pending.await;
            }
            // Resolved resources, for hydration; after the document, as leptos_axum puts them.
            if let Some(mut data) = shared.pending_data() {
                while let Some(chunk) = data.next().await {
                    html.push_str("<script>");
                    html.push_str(&chunk);
                    html.push_str("</script>");
                }
            }
            html
        })
    });
    let html = render.await;
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
