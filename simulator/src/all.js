/* Confluence simulator all.js: the AP bridge inside the app's iframe.
 * Talks to the host page over postMessage; the protocol is documented in
 * simulator/src/scripts.rs. Load it as a classic script:
 *   <script src="http://127.0.0.1:3100/all.js" data-options="sizeToParent:true"></script>
 */
(function () {
  "use strict";
  if (window.AP && window.AP._simulator) return;

  var TIMEOUT_MS = 10000;
  var script = document.currentScript;
  var options = parseOptions(script ? script.getAttribute("data-options") : "");
  var host = findHost();
  var pending = Object.create(null);
  var counter = 0;

  // "sizeToParent:true;resize:false" -> {sizeToParent: "true", resize: "false"}
  function parseOptions(text) {
    var out = {};
    String(text || "").split(";").forEach(function (part) {
      var i = part.indexOf(":");
      if (i > 0) out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
    });
    return out;
  }

  // The host origin and channel come from xdm_e / xdm_c on the iframe URL; after an in-frame
  // navigation they are read from window.name, which the host page sets on the iframe.
  function findHost() {
    if (window.parent === window) return null;
    var params = new URLSearchParams(window.location.search);
    var origin = null;
    var channel = params.get("xdm_c");
    var xdmE = params.get("xdm_e");
    if (xdmE) {
      try { origin = new URL(xdmE).origin; } catch (e) { origin = null; }
    }
    if (!origin || !channel) {
      try {
        var saved = JSON.parse(window.name || "null");
        if (saved && typeof saved === "object") {
          if (!origin && typeof saved.hostOrigin === "string") origin = saved.hostOrigin;
          if (!channel && typeof saved.channel === "string") channel = saved.channel;
        }
      } catch (e) { /* window.name is not ours */ }
    }
    if (!origin || origin === "null" || !channel) return null;
    return { origin: origin, channel: channel };
  }

  function post(message) {
    // Never "*": only the host origin may read what we send.
    window.parent.postMessage(message, host.origin);
  }

  function request(mod, fn, args) {
    return new Promise(function (resolve, reject) {
      if (!host) {
        reject(new Error("AP: not inside a Confluence host page (no xdm_e/xdm_c)"));
        return;
      }
      counter += 1;
      var mid = "ap-" + counter + "-" + Math.random().toString(36).slice(2, 10);
      var timer = setTimeout(function () {
        delete pending[mid];
        reject(new Error("AP: the host did not answer " + mod + "." + fn));
      }, TIMEOUT_MS);
      pending[mid] = { resolve: resolve, reject: reject, timer: timer };
      post({ type: "req", eid: host.channel, mid: mid, mod: mod, fn: fn, args: args || [] });
    });
  }

  window.addEventListener("message", function (event) {
    if (!host || event.source !== window.parent || event.origin !== host.origin) return;
    var data = event.data;
    if (!data || typeof data !== "object" || data.type !== "resp" || data.eid !== host.channel) return;
    var entry = typeof data.mid === "string" ? pending[data.mid] : undefined;
    if (!entry) return;
    delete pending[data.mid];
    clearTimeout(entry.timer);
    if (data.error) entry.reject(new Error(String(data.error)));
    else entry.resolve(data.result);
  });

  // Promise for modern callers, callback for old ones; both, like Atlassian's all.js.
  function withCallback(promise, callback) {
    if (typeof callback === "function") {
      promise.then(function (value) { callback(value); }, function () {});
    }
    return promise;
  }

  function fireAndForget(promise) {
    promise.catch(function (e) { if (window.console) console.debug(String(e && e.message || e)); });
  }

  var AP = {
    _simulator: true,
    _hostOrigin: host ? host.origin : null,
    context: {
      getToken: function (callback) { return withCallback(request("context", "getToken", []), callback); },
      getContext: function (callback) { return withCallback(request("context", "getContext", []), callback); }
    },
    user: {
      getCurrentUser: function (callback) { return withCallback(request("user", "getCurrentUser", []), callback); }
    },
    resize: function (width, height) {
      if (width === undefined || width === null) width = "100%";
      if (height === undefined || height === null) height = document.documentElement.scrollHeight;
      fireAndForget(request("env", "resize", [width, height]));
    },
    sizeToParent: function () {
      fireAndForget(request("env", "sizeToParent", []));
    }
  };
  AP.env = { resize: AP.resize, sizeToParent: AP.sizeToParent };
  window.AP = AP;

  if (!host) return;
  post({ type: "init", eid: host.channel });

  if (options.sizeToParent === "true") {
    AP.sizeToParent();
  } else if (options.resize !== "false") {
    // Auto-resize to the content height, as Atlassian's all.js does by default.
    var lastHeight = -1;
    var autoResize = function () {
      var height = document.documentElement.scrollHeight;
      if (height !== lastHeight) {
        lastHeight = height;
        AP.resize("100%", height);
      }
    };
    if (document.readyState === "complete") autoResize();
    else window.addEventListener("load", autoResize);
    if (typeof ResizeObserver === "function") {
      new ResizeObserver(function () { window.requestAnimationFrame(autoResize); })
        .observe(document.documentElement);
    }
  }
})();
