//! The wasm entry point of the Forge Custom UI: mounts the same `App` the Connect page hydrates,
//! rendered in the browser (there is no server render on Forge), and removes the static
//! "Loading" line of `index.html` that stood in while the wasm loaded.

#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
    if let Some(boot) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id("boot"))
    {
        boot.remove();
    }
    app::client::mark_hydrated();
}
