#!/usr/bin/env node
"use strict";
// Time to interactive of the Forge Custom UI in headless Chromium (reported, never asserted):
// the simulator's Forge host page is loaded in a fresh browser context per trial (empty HTTP
// cache); the clock is the frame's own performance.now(), i.e. from the frame's navigation start
// to the form being usable (its first read shown through the bridge, Save enabled). The first
// trial also pays the simulator's one-off CSP computation (node @forge/csp).
// Prints one line: FORGETTIJSON {"trials": [...], "median_ms": N}.
//
// usage: forge-tti.js --url http://127.0.0.1:3100/sites/acme/wiki/forge/preferences?user=alice
//                     [--trials 7] [--playwright end2end/node_modules/playwright-core]
//                     [--chromium /usr/bin/chromium]

const path = require("path");

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

async function main() {
  const url = arg("url");
  if (!url) throw new Error("--url is required");
  const trials = Number(arg("trials", "7"));
  const root = path.resolve(__dirname, "../..");
  const { chromium } = require(path.resolve(root, arg("playwright", "end2end/node_modules/playwright-core")));
  const browser = await chromium.launch({
    executablePath: arg("chromium", "/usr/bin/chromium"),
    args: ["--no-sandbox", "--disable-gpu"],
  });
  const times = [];
  try {
    for (let i = 0; i < trials; i++) {
      const context = await browser.newContext();
      const page = await context.newPage();
      const attached = page.waitForEvent("frameattached");
      await page.goto(url, { waitUntil: "commit" });
      const frame = await attached;
      const ready = await frame.waitForFunction(
        () => {
          const save = [...document.querySelectorAll("button")].find((b) => b.textContent.includes("Save preferences"));
          return save && !save.disabled ? performance.now() : false;
        },
        null,
        { polling: "raf", timeout: 20000 },
      );
      times.push(await ready.jsonValue());
      await context.close();
    }
  } finally {
    await browser.close();
  }
  const sorted = [...times].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  console.log(`FORGETTIJSON ${JSON.stringify({ trials: times.map(Math.round), median_ms: Math.round(median) })}`);
}

main().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
