//! The wasm entry point. It only hydrates the body that the server rendered; the `<head>` (and the
//! per-request token in it) is never hydrated, so it cannot cause a mismatch.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
    app::client::mark_hydrated();
}
