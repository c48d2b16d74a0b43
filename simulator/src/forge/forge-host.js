// The Forge host page's side of the simulator's bridge in "host" mode (?bridge=host): what
// Atlassian's product page does for a Custom UI frame, as far as @forge/bridge shows it
// (docs/ARCHITECTURE.md, "Forge Custom UI"). The frame's global-bridge.js says hello; only a
// hello from our iframe's window and the resource origin gets a MessagePort. Over it:
// getContext is answered by the simulator (the frame's ./__forge/bridge, same answer as in
// server mode); fetchRemote gets a fresh FIT from the simulator for this page's site and user
// and then makes the HTTP call itself, from this page's origin: a cross-origin request with an
// Authorization header, so the app's CORS (FORGE_UI_ORIGINS) must admit this origin.
// window.simForgeHost = {connected, calls} for tests.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("sim-forge-config").textContent);
  var iframe = document.getElementById("forge-iframe");
  var state = { connected: false, calls: [] };
  window.simForgeHost = state;

  function mintFit() {
    var body = { lifetime_secs: config.fitLifetime };
    if (config.user !== "anonymous") body.user = config.user;
    return fetch("/api/sites/" + encodeURIComponent(config.site) + "/forge/fit", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    }).then(function (res) {
      if (!res.ok) throw new Error("the simulator minted no FIT (" + res.status + ")");
      return res.json();
    });
  }

  function fetchRemote(payload) {
    if (!payload || payload.remoteKey !== config.remoteKey) {
      return Promise.reject(new Error("Unknown remote: " + (payload && payload.remoteKey)));
    }
    var init = payload.fetchRequestInit || {};
    var path = init.path || "";
    var url = config.appUrl.replace(/\/+$/, "") + (path.charAt(0) === "/" || !path ? path : "/" + path);
    return mintFit().then(function (minted) {
      var headers = new Headers();
      (init.headers || []).forEach(function (pair) {
        if (pair[0].toLowerCase() !== "authorization") headers.append(pair[0], pair[1]);
      });
      headers.set("authorization", "Bearer " + minted.token);
      var call = { path: path, method: init.method || "GET" };
      state.calls.push(call);
      return fetch(url, {
        method: init.method || "GET",
        headers: headers,
        body: init.body == null ? undefined : init.body,
        mode: "cors",
        credentials: "omit",
      }).then(function (res) {
        call.status = res.status;
        var out = {};
        res.headers.forEach(function (value, name) { out[name] = value; });
        return res.text().then(function (text) {
          return { status: res.status, statusText: res.statusText, headers: out, body: text, isAttachment: false };
        });
      });
    });
  }

  function getContext() {
    return fetch(config.bridgePath, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ method: "getContext", payload: null, locale: config.locale }),
    })
      .then(function (res) { return res.json(); })
      .then(function (reply) {
        if (!reply.ok) throw new Error(reply.error.message);
        return reply.result;
      });
  }

  window.addEventListener("message", function (event) {
    if (event.source !== iframe.contentWindow || event.origin !== config.resourceOrigin) return;
    if (!event.data || event.data.type !== "sim-forge-hello") return;
    var channel = new MessageChannel();
    channel.port1.onmessage = function (e) {
      var msg = e.data || {};
      var work = msg.method === "fetchRemote" ? fetchRemote(msg.payload)
        : msg.method === "getContext" ? getContext()
        : Promise.reject(new Error("The simulator's Forge host does not support " + msg.method));
      work.then(
        function (result) { channel.port1.postMessage({ id: msg.id, ok: true, result: result }); },
        function (error) { channel.port1.postMessage({ id: msg.id, ok: false, error: { message: String(error && error.message || error) } }); }
      );
    };
    iframe.contentWindow.postMessage({ type: "sim-forge-port" }, config.resourceOrigin, [channel.port2]);
    state.connected = true;
    iframe.setAttribute("data-bridge-connected", "true");
  });
})();
