#!/usr/bin/env node
"use strict";
// Time from navigation to a hydrated, interactive page in headless Chromium (reported, never
// asserted). Each trial is a fresh browser context (empty HTTP cache) loading the page-load URL
// directly (top level, as the iframe would). The app's all.js URL is answered by a stub (no AP:
// the page runs in its "outside Confluence" mode and uses its own session token), so nothing
// leaves loopback. Hydrated = `<html data-hydrated>` set by the wasm; interactive = a form
// control of the page is enabled (the page enables editing only once hydrated).
// Prints one line: HYDRATIONJSON {...} (milliseconds from navigation start, performance.now()).
//
// usage: hydration.js --url URL [--trials 10] [--playwright end2end/node_modules/playwright-core]
//                     [--chromium /usr/bin/chromium]

const path = require("path");

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const URL_ = arg("url");
const TRIALS = Number(arg("trials", 10));
const PW = path.resolve(arg("playwright", path.join(__dirname, "../../end2end/node_modules/playwright-core")));
const CHROMIUM = arg("chromium", "/usr/bin/chromium");

const median = xs => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : null;
};
const r1 = x => (x == null ? null : Math.round(x * 10) / 10);

(async () => {
  const { chromium } = require(PW);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
      "--disable-sync", "--no-first-run", "--disable-quic"]
  });
  const version = browser.version();
  const trials = [];
  try {
    for (let i = 0; i < TRIALS; i++) {
      const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
      const page = await context.newPage();
      await page.route("**/all.js", route =>
        route.fulfill({ status: 200, contentType: "application/javascript", body: "/* all.js stub: outside Confluence */" })
      );
      await page.addInitScript(() => {
        const mark = () => {
          if (window.__hydratedAt === undefined && document.documentElement.hasAttribute("data-hydrated")) {
            window.__hydratedAt = performance.now();
            const control = document.querySelector("form select, form input, form button, select, input");
            window.__interactiveAt = control && !control.disabled ? performance.now() : undefined;
          }
        };
        // `document` exists when init scripts run; <html> may not yet
        new MutationObserver(mark).observe(document, { attributes: true, subtree: true, attributeFilter: ["data-hydrated"] });
      });
      const errors = [];
      page.on("pageerror", e => errors.push(String(e)));
      const response = await page.goto(URL_, { waitUntil: "commit" });
      if (!response || response.status() !== 200) throw new Error(`page answered ${response && response.status()}`);
      await page.waitForFunction(() => window.__hydratedAt !== undefined, null, { timeout: 30000 });
      // If no control was enabled at the hydration mark, wait for the first enabled one.
      await page.waitForFunction(() => {
        if (window.__interactiveAt !== undefined) return true;
        const c = document.querySelector("form select, form input, form button, select, input");
        if (c && !c.disabled) window.__interactiveAt = performance.now();
        return window.__interactiveAt !== undefined;
      }, null, { timeout: 30000, polling: "raf" });
      await page.waitForLoadState("load");
      const m = await page.evaluate(() => {
        const nav = performance.getEntriesByType("navigation")[0];
        const fcp = performance.getEntriesByName("first-contentful-paint")[0];
        return {
          ttfb: nav.responseStart,
          html_done: nav.responseEnd,
          dom_content_loaded: nav.domContentLoadedEventEnd,
          load: nav.loadEventEnd,
          fcp: fcp ? fcp.startTime : null,
          hydrated: window.__hydratedAt,
          interactive: window.__interactiveAt,
          html_bytes: nav.encodedBodySize,
          resources: performance.getEntriesByType("resource").map(e => ({
            name: new URL(e.name).pathname,
            transfer: e.transferSize,
            encoded: e.encodedBodySize,
            decoded: e.decodedBodySize
          }))
        };
      });
      m.errors = errors;
      trials.push(m);
      await context.close();
    }
  } finally {
    await browser.close();
  }
  const keys = ["ttfb", "html_done", "fcp", "dom_content_loaded", "load", "hydrated", "interactive"];
  const summary = {};
  for (const k of keys) {
    const xs = trials.map(t => t[k]).filter(x => x != null);
    summary[k] = { median: r1(median(xs)), min: r1(Math.min(...xs)), max: r1(Math.max(...xs)), first: r1(trials[0][k]) };
  }
  console.log(
    "HYDRATIONJSON " +
      JSON.stringify({
        trials: TRIALS,
        chromium: version,
        summary,
        resources: trials[trials.length - 1].resources,
        html_bytes: trials[trials.length - 1].html_bytes,
        page_errors: trials.flatMap(t => t.errors)
      })
  );
})().catch(err => {
  console.error(`hydration: ${err.message}`);
  process.exit(1);
});
