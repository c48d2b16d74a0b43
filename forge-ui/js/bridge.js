// The page's Forge bridge shim, bundled with @forge/bridge by scripts/forge-ui.sh (esbuild, one
// classic script). It gives the wasm one small object, `globalThis.__forgeUi`, and only when
// Forge's own `globalThis.__bridge` is there: @forge/bridge throws at import without it, and the
// page must still load (and say "open this page from Confluence") anywhere else.
//
// The modules are required by file, not through the package root: the root re-exports every
// module of @forge/bridge (ADF renderer, modals, realtime...) and this page needs three calls.
// `require` inside the functions keeps the import lazy: esbuild wraps CommonJS modules so they
// run at their first require.

function bridgeAvailable() {
  const b = globalThis.__bridge;
  return !!(b && typeof b.callBridge === "function");
}

if (bridgeAvailable()) {
  const fetchApi = () => require("../../tools/node_modules/@forge/bridge/out/fetch/index.js");
  const viewApi = () => require("../../tools/node_modules/@forge/bridge/out/view/theme.js");
  // The host's locale, asked once: the backend starts a never-saved user in it, as the Connect
  // page does with Confluence's `loc`. view.getContext() is exactly this call plus @forge/i18n's
  // ensureLocale (out/view/getContext.js:9-15), which would add 8 KB brotli of i18n machinery;
  // the backend reads the tag leniently instead (Locale::from_host_tag).
  let hostLocale;
  const locale = () =>
    (hostLocale ??= Promise.resolve()
      .then(() => globalThis.__bridge.callBridge("getContext"))
      .then((c) => (c && typeof c.locale === "string" ? c.locale : null))
      .catch(() => null));
  globalThis.__forgeUi = {
    // requestRemote(remoteKey, {path, method, headers: [[name, value]], body}) -> Promise<Response>;
    // the bridge adds `Authorization: Bearer <FIT>`.
    requestRemote: async (remoteKey, init) => {
      const tag = await locale();
      const headers = tag ? [...init.headers, ["x-host-locale", tag]] : init.headers;
      return fetchApi().requestRemote(remoteKey, { ...init, headers });
    },
  };
  // Follow the host's theme: view.theme.enable() sets data-color-mode on <html> (style/main.css
  // maps it for the "system" choice). Failure leaves the page's own light/dark defaults.
  Promise.resolve()
    .then(() => viewApi().theme.enable())
    .catch(() => {});
}
