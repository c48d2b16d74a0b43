// The page itself: signed install, server rendering (with and without JavaScript), editing and
// persisting every kind of preference, a clean hydration, and the README screenshots.
import { test, expect } from "@playwright/test";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  APP,
  KNOWN,
  addLabel,
  ensureInstalled,
  form,
  hostUrl,
  iframeUrl,
  install,
  openApp,
  readPrefs,
  resetPrefs,
  siteState,
  uniqueLabel,
  watchErrors,
  appFrame,
} from "./helpers";

test.describe("install and server rendering", () => {
  test("the client bundle is sent precompressed (brotli, else gzip), as the release build wrote it", async () => {
    for (const [accept, encoding] of [["br, gzip", "br"], ["gzip", "gzip"]]) {
      const res = await fetch(`${APP}/pkg/connect-prefs.wasm`, { headers: { "accept-encoding": accept } });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-encoding")).toBe(encoding);
      expect(res.headers.get("content-type")).toBe("application/wasm");
      // fetch decodes the body: it must be the wasm itself.
      const bytes = new Uint8Array(await res.arrayBuffer());
      expect(Array.from(bytes.slice(0, 4))).toEqual([0x00, 0x61, 0x73, 0x6d]);
      // A file read from disk has a length; on-the-fly compression would stream without one.
      const sent = res.headers.get("content-length");
      expect(sent).not.toBeNull();
      expect(Number(sent)).toBeLessThan(bytes.length / 2);
    }
  });

  test("signed install, then the saved values are in the server-rendered page, with and without JavaScript", async ({ browser, page }) => {
    const installed = await install("acme");
    expect(installed.installed).toBe(true);
    expect(installed.status).toBe(204);
    expect(installed.enabled_status).toBe(204);
    const state = await siteState("acme");
    expect(state.callbacks.installed.status).toBe(204);
    expect(state.callbacks.enabled.status).toBe(204);

    const label = uniqueLabel("ssr");
    await resetPrefs("acme", "alice", {
      ...KNOWN,
      theme: "dark",
      default_space_key: "MKT",
      favourite_labels: [label],
      items_per_page: 42,
    });

    // The raw HTML, fetched without a browser: values are there before any script runs.
    const res = await fetch(await iframeUrl("acme", "alice"));
    expect(res.status).toBe(200);
    const html = await res.text();
    // (A debug build puts hydration markers such as <!> after text nodes.)
    expect(html).toMatch(new RegExp(`<span>${label}(<!>)*</span>`));
    expect(html).toMatch(/<input[^>]*id="theme-dark"[^>]*\bchecked\b/);
    expect(html).not.toMatch(/<input[^>]*id="theme-light"[^>]*\bchecked\b/);
    expect(html).toMatch(/<main[^>]*data-theme="dark"/);
    expect(html).toMatch(/<input[^>]*id="default-space-key"[^>]*value="MKT"/);
    expect(html).toMatch(/<input[^>]*id="items-per-page"[^>]*value="42"/);
    expect(html).toMatch(/<meta name="token" content="eyJ[^"]+"/);

    // Inside the host page, in the browser, as a user would see it: hydrated.
    const app = await openApp(page, "acme", "alice");
    const f = form(app);
    await expect(f.theme("Dark")).toBeChecked();
    await expect(f.chip(label)).toBeVisible();
    await expect(f.spaceKey).toHaveValue("MKT");
    await expect(f.save).toBeEnabled();

    // With JavaScript off the same values are shown (saving then needs JavaScript).
    const noJs = await browser.newContext({ javaScriptEnabled: false });
    try {
      const p = await noJs.newPage();
      await p.goto(hostUrl("acme", "alice"));
      const frame = appFrame(p);
      const g = form(frame);
      await expect(frame.locator("main.app")).toHaveAttribute("data-theme", "dark");
      await expect(g.theme("Dark")).toBeChecked();
      await expect(g.chip(label)).toBeVisible();
      await expect(g.spaceKey).toHaveValue("MKT");
      await expect(g.itemsPerPage).toHaveValue("42");
      await expect(g.save).toBeDisabled();
      await expect(frame.getByText("Saving needs JavaScript.")).toBeVisible();
      await expect(frame.locator("html[data-hydrated]")).toHaveCount(0);
    } finally {
      await noJs.close();
    }
  });
});

test.describe("editing", () => {
  test.beforeEach(async () => {
    await ensureInstalled("acme");
    await resetPrefs("acme", "bob", KNOWN);
  });

  test("edit every kind of preference, save, reload: the values persisted and the theme applies", async ({ page }) => {
    const errors = watchErrors(page);
    let app = await openApp(page, "acme", "bob");
    let f = form(app);
    await expect(f.theme("Light")).toBeChecked();
    const lightBg = await f.main.evaluate((el) => getComputedStyle(el).backgroundColor);

    await f.theme("Dark").check();
    await expect(f.main).toHaveAttribute("data-theme", "dark");
    await f.locale.selectOption("de-DE");
    await f.dateFormat.selectOption("long");
    await f.digest.selectOption("daily");
    await f.spaceKey.fill("eng");
    await f.itemsPerPage.fill("5");
    const labels = Array.from({ length: 5 }, (_, i) => uniqueLabel(`edit${i}`));
    for (const l of labels) await addLabel(app, l);
    // "baseline" plus five new ones at five per page: the editor pages, showing the last page.
    await expect(app.getByText("6 labels.")).toBeVisible();
    await expect(app.getByText("Page 2 of 2")).toBeVisible();
    await expect(f.chip(labels[4])).toBeVisible();
    await expect(f.chip("baseline")).toBeHidden();
    // The summary follows the draft: German long dates, daily digest, the space link.
    await expect(app.getByText("You'll get a digest every morning.")).toBeVisible();
    await expect(app.getByRole("link", { name: "ENG" })).toHaveAttribute("href", /\/spaces\/ENG$/);

    await f.save.click();
    await expect(f.status).toContainText("Saved.");
    await expect(f.lastSaved).toHaveText(/^Last saved \d{1,2}\. [A-Za-zäöü]+ \d{4}\.$/);

    const stored = await readPrefs("acme", "bob");
    expect(stored.preferences).toEqual({
      theme: "dark",
      locale: "de-DE",
      date_format: "long",
      email_digest: "daily",
      default_space_key: "ENG",
      default_space_name: "Engineering",
      favourite_labels: ["baseline", ...labels],
      items_per_page: 5,
    });

    await page.reload();
    app = appFrame(page);
    await app.locator("html[data-hydrated]").waitFor({ state: "attached" });
    f = form(app);
    await expect(f.theme("Dark")).toBeChecked();
    await expect(f.main).toHaveAttribute("data-theme", "dark");
    await expect(f.locale).toHaveValue("de-DE");
    await expect(f.dateFormat).toHaveValue("long");
    await expect(f.digest).toHaveValue("daily");
    await expect(f.spaceKey).toHaveValue("ENG");
    // Saved and checked with Confluence: the summary names the space.
    await expect(app.getByRole("link", { name: "Engineering (ENG)" })).toHaveAttribute("href", /\/spaces\/ENG$/);
    await expect(f.itemsPerPage).toHaveValue("5");
    await expect(app.getByText("6 labels.")).toBeVisible();
    await expect(f.chip("baseline")).toBeVisible(); // a fresh page starts on page 1
    const darkBg = await f.main.evaluate((el) => getComputedStyle(el).backgroundColor);
    expect(lightBg).toBe("rgb(255, 255, 255)");
    expect(darkBg).toBe("rgb(29, 33, 37)");
    expect(errors.pageErrors).toEqual([]);
  });

  test("the page hydrates and saves with no page errors and no console errors", async ({ page }) => {
    const errors = watchErrors(page);
    const warnings: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "warning") warnings.push(m.text());
    });
    const app = await openApp(page, "acme", "bob");
    const f = form(app);
    await f.digest.selectOption("off");
    await addLabel(app, uniqueLabel("clean"));
    await f.save.click();
    await expect(f.status).toContainText("Saved.");
    await expect(app.getByText("You won't get email digests.")).toBeVisible();
    expect(errors.describe()).toBe("");
    expect(warnings.filter((w) => /hydrat/i.test(w))).toEqual([]);
  });
});

test.describe("screenshots", () => {
  test.beforeEach(async () => {
    await ensureInstalled("acme");
    await resetPrefs("acme", "bob", {
      theme: "light",
      locale: "en-GB",
      date_format: "long",
      email_digest: "weekly",
      default_space_key: "ENG",
      favourite_labels: ["release-notes", "meeting-notes", "how-to", "architecture"],
      items_per_page: 25,
    });
  });

  test("light and dark screenshots for the README", async ({ page }) => {
    await page.setViewportSize({ width: 1100, height: 1250 });
    const app = await openApp(page, "acme", "bob");
    const f = form(app);
    const dir = path.join(__dirname, "..", "artifacts");
    fs.mkdirSync(dir, { recursive: true });

    await expect(f.main).toHaveAttribute("data-theme", "light");
    const light = path.join(dir, "preferences-light.png");
    await page.screenshot({ path: light, fullPage: true, animations: "disabled", caret: "hide" });

    await f.theme("Dark").check();
    await expect(f.main).toHaveAttribute("data-theme", "dark");
    const dark = path.join(dir, "preferences-dark.png");
    await page.screenshot({ path: dark, fullPage: true, animations: "disabled", caret: "hide" });

    for (const file of [light, dark]) expect(fs.statSync(file).size).toBeGreaterThan(10_000);
    const docs = path.join(__dirname, "..", "..", "docs");
    fs.mkdirSync(docs, { recursive: true });
    fs.copyFileSync(light, path.join(docs, "screenshot.png"));
  });
});
