//! The only place that touches the Forge bridge. The Custom UI page bundles a small shim
//! (`forge-ui/js/bridge.js`, `@forge/bridge` inside) that sets `globalThis.__forgeUi` only when
//! Forge's own `__bridge` is there; this module calls that object and nothing else. Outside
//! Forge every function here degrades to "no answer".

use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen(inline_js = r#"
export function forgeAvailable() {
  const f = globalThis.__forgeUi;
  return !!(f && typeof f.requestRemote === "function");
}
export function forgeRequest(remoteKey, path, method, contentType, accept, body) {
  const headers = [];
  if (contentType) headers.push(["content-type", contentType]);
  if (accept) headers.push(["accept", accept]);
  try {
    return Promise.resolve(globalThis.__forgeUi.requestRemote(remoteKey, { path, method, headers, body: body ?? undefined }));
  } catch (e) { return Promise.reject(e); }
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = forgeAvailable)]
    fn forge_available() -> bool;
    #[wasm_bindgen(js_name = forgeRequest)]
    fn forge_request(
        remote_key: &str,
        path: &str,
        method: &str,
        content_type: Option<String>,
        accept: Option<String>,
        body: Option<String>,
    ) -> js_sys::Promise;
}

/// Whether the page runs as Forge Custom UI (the bridge shim found Forge's `__bridge`).
pub fn available() -> bool {
    forge_available()
}

/// One server-function call, as `requestRemote` takes it.
pub struct RemoteCall {
    /// Path and query, e.g. `/api/preferences?`: resolved by Forge against the remote's `baseUrl`.
    pub path: String,
    pub method: String,
    pub content_type: Option<String>,
    pub accept: Option<String>,
    pub body: Option<String>,
}

/// Sends `call` to the app's remote through `requestRemote` (the bridge adds the FIT). The
/// answer is the `Response` the bridge rebuilt, or the bridge's error text.
pub async fn request(call: &RemoteCall) -> Result<web_sys::Response, String> {
    let promise = forge_request(
        super::FORGE_REMOTE_KEY,
        &call.path,
        &call.method,
        call.content_type.clone(),
        call.accept.clone(),
        call.body.clone(),
    );
    let value = JsFuture::from(promise).await.map_err(|e| {
        e.as_string()
            .or_else(|| {
                js_sys::Reflect::get(&e, &"message".into())
                    .ok()
                    .and_then(|m| m.as_string())
            })
            .unwrap_or_else(|| "The Forge bridge did not answer.".into())
    })?;
    value
        .dyn_into::<web_sys::Response>()
        .map_err(|_| "The Forge bridge answered something other than a Response.".into())
}
