/* Confluence simulator host page: the host side of the AP postMessage bridge.
 * Accepts requests only from the app iframe's window AND the app's origin, answers with the
 * app origin as targetOrigin. Protocol: simulator/src/scripts.rs. State for tests: window.simHost.
 */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("sim-host-config").textContent);
  var state = { connected: false, requests: [], ignored: 0, sizeToParent: false, contextTokens: 0 };
  window.simHost = state;

  function frame() { return document.getElementById("ap-iframe"); }

  function cssLength(value) {
    if (typeof value === "number" && isFinite(value) && value >= 0) return value + "px";
    if (typeof value === "string") {
      var v = value.trim();
      if (/^\d+(\.\d+)?$/.test(v)) return v + "px";
      if (/^\d+(\.\d+)?(px|%)$/.test(v)) return v;
    }
    return null;
  }

  function fitToParent() {
    var el = frame();
    if (!el) return;
    el.style.width = "100%";
    var top = el.getBoundingClientRect().top + window.scrollY;
    el.style.height = Math.max(150, Math.floor(window.innerHeight - top - 16)) + "px";
  }
  window.addEventListener("resize", function () { if (state.sizeToParent) fitToParent(); });

  var handlers = {
    "context.getToken": function () {
      return fetch(config.contextTokenUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ user: config.user }),
        credentials: "same-origin"
      }).then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) throw new Error((body && body.message) || "HTTP " + response.status);
          state.contextTokens += 1;
          return body.token;
        });
      });
    },
    "context.getContext": function () { return config.context; },
    "user.getCurrentUser": function () { return { atlassianAccountId: config.accountId }; },
    "env.resize": function (args) {
      var el = frame();
      if (!el || state.sizeToParent) return null; // sizeToParent wins, as in Confluence
      var width = cssLength(args[0]);
      var height = cssLength(args[1]);
      if (width) el.style.width = width;
      if (height) el.style.height = height;
      return null;
    },
    "env.sizeToParent": function () {
      state.sizeToParent = true;
      fitToParent();
      return null;
    }
  };

  window.addEventListener("message", function (event) {
    var el = frame();
    if (!el || event.source !== el.contentWindow || event.origin !== config.appOrigin) {
      state.ignored += 1;
      return;
    }
    var data = event.data;
    if (!data || typeof data !== "object" || data.eid !== config.channel) {
      state.ignored += 1;
      return;
    }
    if (data.type === "init") {
      state.connected = true;
      el.setAttribute("data-ap-connected", "true");
      return;
    }
    if (data.type !== "req" || typeof data.mid !== "string") {
      state.ignored += 1;
      return;
    }
    var name = String(data.mod) + "." + String(data.fn);
    state.requests.push(name);
    var source = event.source;
    var reply = function (fields) {
      var message = { type: "resp", eid: config.channel, mid: data.mid };
      Object.keys(fields).forEach(function (k) { message[k] = fields[k]; });
      source.postMessage(message, config.appOrigin);
    };
    var handler = handlers[name];
    if (!handler) {
      reply({ error: "unsupported AP call: " + name });
      return;
    }
    Promise.resolve()
      .then(function () { return handler(Array.isArray(data.args) ? data.args : []); })
      .then(
        function (result) { reply({ result: result === undefined ? null : result }); },
        function (error) { reply({ error: String((error && error.message) || error) }); }
      );
  });
})();
