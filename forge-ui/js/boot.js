// Loads the wasm next to this file (relative URL: the Custom UI is served under a path of
// Forge's choosing); its start function mounts the page.
import init from "./preferences.js";

init({ module_or_path: new URL("./preferences_bg.wasm", import.meta.url) });
