//! The two browser scripts, served as static text: `/all.js` (the `AP` bridge the app loads
//! in its iframe) and `/host.js` (the host page's side). Both sides check who is talking.
//!
//! Protocol (modelled on Atlassian's simple-xdm, not byte-compatible with it):
//! * iframe → host, once on load: `{type: "init", eid}`; no answer.
//! * iframe → host: `{type: "req", eid, mid, mod, fn, args: [...]}`, posted to
//!   `window.parent` with targetOrigin = the host origin (`xdm_e`); `eid` is `xdm_c`
//!   (`channel-{module key}`), `mid` a unique request id.
//! * host → iframe: `{type: "resp", eid, mid, result}` or `{type: "resp", eid, mid, error}`
//!   with the same `mid`, posted to the iframe with targetOrigin = the app origin.
//! * calls: `context.getToken` → token string (the host page POSTs to
//!   `/api/sites/{site}/context-token`), `context.getContext` → `{confluence, license, user?}`,
//!   `user.getCurrentUser` → `{atlassianAccountId}` (null when anonymous),
//!   `env.resize [width, height]` and `env.sizeToParent []` → null.
//! * the host accepts a message only if `event.source` is the iframe's `contentWindow`,
//!   `event.origin` is the app origin and `eid` is the channel; all.js accepts one only if
//!   `event.source === window.parent` and `event.origin` is the host origin.

use axum::http::header;
use axum::response::IntoResponse;

const ALL_JS: &str = include_str!("all.js");
const HOST_JS: &str = include_str!("host.js");

fn javascript(body: &'static str) -> impl IntoResponse {
    (
        [
            (
                header::CONTENT_TYPE,
                "application/javascript; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
}

/// `GET /all.js`.
pub async fn all_js() -> impl IntoResponse {
    javascript(ALL_JS)
}

/// `GET /host.js`.
pub async fn host_js() -> impl IntoResponse {
    javascript(HOST_JS)
}
