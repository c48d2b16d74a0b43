// The simulator's stand-in for Forge's global-bridge.js (served from the resource origin and
// injected first in <head>): defines globalThis.__bridge.callBridge(method, payload), the only
// thing @forge/bridge talks to. getContext and fetchRemote (requestRemote) go to this origin's
// ./bridge endpoint, where the simulator mints a fresh FIT for the frame's site and user and
// calls the app; enableTheming applies the host's colour mode (?theme=) inside this document.
// Any other method is refused by name. window.__simForgeBridge.calls records calls for tests.
(function () {
  "use strict";
  if (globalThis.__bridge) return;
  var endpoint = new URL("bridge", document.currentScript.src).href;
  var params = new URLSearchParams(location.search);
  var theme = params.get("theme") === "dark" ? "dark" : "light";
  var locale = params.get("locale") || "en-US";
  var fitLifetime = Number(params.get("fit_lifetime")) || null;
  var record = { calls: [] };
  window.__simForgeBridge = record;

  function post(method, payload) {
    return fetch(endpoint, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ method: method, payload: payload === undefined ? null : payload, locale: locale, fit_lifetime_secs: fitLifetime }),
    })
      .then(function (res) { return res.json(); })
      .then(function (reply) {
        if (!reply || !reply.ok) {
          throw new Error((reply && reply.error && reply.error.message) || "bridge call " + method + " failed");
        }
        return reply.result;
      });
  }

  function enableTheming() {
    var html = document.documentElement;
    html.setAttribute("data-color-mode", theme);
    html.setAttribute("data-theme", "dark:dark light:light shape:shape spacing:spacing typography:typography-adg3");
    return Promise.resolve(undefined);
  }

  function callBridge(method, payload) {
    var entry = { method: method };
    if (method === "fetchRemote" && payload && payload.fetchRequestInit) {
      entry.path = payload.fetchRequestInit.path;
      entry.httpMethod = payload.fetchRequestInit.method;
    }
    record.calls.push(entry);
    try {
      if (method === "enableTheming") return enableTheming();
      if (method === "getContext" || method === "fetchRemote") {
        return post(method, payload).then(function (result) {
          if (method === "fetchRemote") entry.status = result.status;
          return result;
        });
      }
      return Promise.reject(new Error("The simulator's Forge bridge does not support " + method));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  globalThis.__bridge = { callBridge: callBridge, __SEMVER: "simulator-1" };
})();
