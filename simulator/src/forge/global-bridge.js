// The simulator's stand-in for Forge's global-bridge.js (served from the resource origin and
// injected first in <head>): defines globalThis.__bridge.callBridge(method, payload), the only
// thing @forge/bridge talks to. enableTheming applies the host's colour mode (?theme=) inside
// this document. getContext and fetchRemote (requestRemote) go, by ?bridge=:
// - "server" (default): to this origin's ./bridge endpoint, where the simulator mints a fresh FIT
//   for the frame's site and user and calls the app server-side;
// - "host": over a MessagePort to the host page (?host= origin; forge-host.js), which mints a FIT
//   through the simulator and calls the app itself, cross-origin, as a product page would.
// Calls made before the port is up wait for it (10 s). Any other method is refused by name.
// window.__simForgeBridge.calls records calls for tests.
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

  var viaHost = params.get("bridge") === "host";
  var hostOrigin = params.get("host") || "";
  var port = null;
  var waiting = [];
  var pending = {};
  var nextId = 1;
  if (viaHost) {
    window.addEventListener("message", function (event) {
      if (event.source !== window.parent || event.origin !== hostOrigin) return;
      if (!event.data || event.data.type !== "sim-forge-port" || !event.ports[0] || port) return;
      port = event.ports[0];
      port.onmessage = function (e) {
        var reply = e.data || {};
        var done = pending[reply.id];
        if (!done) return;
        delete pending[reply.id];
        if (reply.ok) done.resolve(reply.result);
        else done.reject(new Error((reply.error && reply.error.message) || "bridge call failed"));
      };
      waiting.splice(0).forEach(function (send) { send(); });
    });
    var hello = function (tries) {
      if (port || tries <= 0) return;
      window.parent.postMessage({ type: "sim-forge-hello" }, hostOrigin);
      setTimeout(function () { hello(tries - 1); }, 200);
    };
    hello(50);
  }

  function viaPort(method, payload) {
    return new Promise(function (resolve, reject) {
      var id = nextId++;
      var send = function () {
        pending[id] = { resolve: resolve, reject: reject };
        port.postMessage({ id: id, method: method, payload: payload });
      };
      if (port) return send();
      waiting.push(send);
      setTimeout(function () {
        var i = waiting.indexOf(send);
        if (i >= 0) {
          waiting.splice(i, 1);
          reject(new Error("bridge not connected"));
        }
      }, 10000);
    });
  }

  function post(method, payload) {
    if (viaHost) return viaPort(method, payload);
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
