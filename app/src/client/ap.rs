//! The only place that touches Confluence's `AP` object. A missing or misbehaving `AP` (page
//! opened outside Confluence) is a normal case: every function here degrades to "no answer".

use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen(inline_js = r#"
export function apGetToken(timeoutMs) {
  const ctx = globalThis.AP && globalThis.AP.context;
  if (!ctx || typeof ctx.getToken !== "function") return Promise.resolve(null);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), timeoutMs);
    const done = (t) => { clearTimeout(timer); resolve(typeof t === "string" && t ? t : null); };
    try {
      const r = ctx.getToken(done);                       // callback form (older all.js)
      if (r && typeof r.then === "function") r.then(done, () => done(null)); // Promise form
    } catch (e) { done(null); }
  });
}
export function apAvailable() {
  const ctx = globalThis.AP && globalThis.AP.context;
  return !!(ctx && typeof ctx.getToken === "function");
}
export function apResize() {
  try {
    const ap = globalThis.AP;
    if (ap && typeof ap.resize === "function") ap.resize();
  } catch (e) { /* outside Confluence: nothing to resize */ }
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = apGetToken)]
    fn ap_get_token(timeout_ms: u32) -> js_sys::Promise;
    #[wasm_bindgen(js_name = apResize)]
    fn ap_resize();
    #[wasm_bindgen(js_name = apAvailable)]
    fn ap_available() -> bool;
}

/// How long to wait for the host to answer `getToken` before giving up.
const GET_TOKEN_TIMEOUT_MS: u32 = 10_000;

/// A fresh context token from the host, or `None` outside Confluence or on no answer.
pub async fn get_token() -> Option<String> {
    JsFuture::from(ap_get_token(GET_TOKEN_TIMEOUT_MS))
        .await
        .ok()?
        .as_string()
}

/// Whether the page runs inside a Confluence host that can issue tokens.
pub fn host_available() -> bool {
    #[cfg(target_arch = "wasm32")]
    return ap_available();
    #[cfg(not(target_arch = "wasm32"))]
    false
}

/// Asks the host to fit the iframe to the page's content. A no-op outside Confluence.
pub fn resize_iframe() {
    #[cfg(target_arch = "wasm32")]
    ap_resize();
}
