// The Forge Custom UI (forge/static/preferences, built by scripts/forge-ui.sh): the same page
// rendered in the browser, inside the simulator's Forge host page, served from another origin
// under the CSP Atlassian's @forge/csp computes for forge/manifest.yml, its server functions
// carried by @forge/bridge's requestRemote (the simulator mints a FIT for each call).
import { test, expect, type Page, type FrameLocator } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  APP,
  KNOWN,
  SIM,
  addLabel,
  contextToken,
  apiGetWith,
  form,
  install,
  readPrefs,
  resetPrefs,
  saveAndConfirm,
  sim,
  siteState,
  uniqueLabel,
  watchErrors,
  type Site,
  type User,
} from "./helpers";

const ROOT = path.resolve(__dirname, "../..");
/** The Custom UI's origin: the simulator under its other loopback name (cross-origin frame). */
const RESOURCE_ORIGIN = SIM.replace("127.0.0.1", "localhost");
const BRIDGE = `${RESOURCE_ORIGIN}/forge-ui/*/*/__forge/bridge`;

/** Forge-installs `site` (then re-installs Connect, whose payload names the installation: the
 *  site's Connect and Forge users share one store). */
async function ensureForgeInstalled(site: Site) {
  const state = await siteState(site);
  if (state.forge?.installed && state.installed) return;
  if (!state.forge?.installed) {
    const r = await sim(`/api/sites/${site}/forge/install`, "POST");
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.delivered, JSON.stringify(r.body)).toBe(true);
  }
  await install(site);
}

function forgeUrl(site: Site, user: User, extra = ""): string {
  return `${SIM}/sites/${site}/wiki/forge/preferences?user=${user}${extra}`;
}

function forgeFrame(page: Page): FrameLocator {
  return page.frameLocator("#forge-iframe");
}

/** Opens the Forge host page and waits until the page has mounted and its first read is shown. */
async function openForge(page: Page, site: Site, user: User, extra = ""): Promise<FrameLocator> {
  const res = await page.goto(forgeUrl(site, user, extra));
  expect(res?.status(), "host page status").toBe(200);
  const app = forgeFrame(page);
  await app.locator("html[data-hydrated]").waitFor({ state: "attached" });
  return app;
}

async function cspReportCount(): Promise<number> {
  const r = await sim("/api/forge/ui/csp-reports");
  expect(r.status).toBe(200);
  return r.body.reports.length;
}

test.describe("Forge Custom UI", () => {
  test.beforeEach(async () => {
    await ensureForgeInstalled("acme");
    await ensureForgeInstalled("globex");
  });

  test("loads under the exact @forge/csp policy without a violation, saves, and shows the save after a reload", async ({ page }) => {
    const errors = watchErrors(page);
    const reportsBefore = await cspReportCount();
    const documentResponse = page.waitForResponse((r) => r.url().startsWith(`${RESOURCE_ORIGIN}/forge-ui/acme/alice/index.html`));
    const app = await openForge(page, "acme", "alice");
    const csp = (await documentResponse).headers()["content-security-policy"];
    const expected = execFileSync(
      "node",
      [
        "tools/forge/csp.js",
        "forge/manifest.yml",
        "forge/static/preferences",
        "--hostname",
        SIM,
        "--report-uri",
        `${RESOURCE_ORIGIN}/forge-ui/csp-report`,
      ],
      { cwd: ROOT, encoding: "utf8" },
    ).trim();
    expect(csp).toBe(expected);
    expect(csp).toContain("'unsafe-eval'");
    expect(csp).not.toContain("wasm-unsafe-eval");

    const f = form(app);
    await expect(f.save).toBeEnabled();
    const label = uniqueLabel("forge");
    await addLabel(app, label);
    await f.digest.selectOption("daily");
    await saveAndConfirm(app);

    await page.reload();
    const again = forgeFrame(page);
    await again.locator("html[data-hydrated]").waitFor({ state: "attached" });
    await expect(form(again).chip(label)).toBeVisible();
    await expect(form(again).digest).toHaveValue("daily");
    // The Connect side of the same (linked) site reads the same copy.
    const stored = await readPrefs("acme", "alice");
    expect(stored.preferences.favourite_labels).toContain(label);

    // Every call went through the bridge: no request from the frame reached the app directly.
    const calls = await page.frame({ url: /\/forge-ui\/acme\/alice\// })!.evaluate(() => (window as any).__simForgeBridge.calls);
    expect(calls.some((c: any) => c.method === "fetchRemote" && c.path.startsWith("/api/preferences"))).toBe(true);

    expect(await cspReportCount()).toBe(reportsBefore);
    expect(errors.unexpected([])).toEqual([]);
  });

  test("a user who never saved sees the defaults, in the host's language", async ({ page }) => {
    // Alice on globex: no test ever saves there (data.spec.ts relies on it too); read-only here.
    const app = await openForge(page, "globex", "alice", "&locale=de_DE");
    const f = form(app);
    await expect(f.save).toBeEnabled();
    await expect(f.theme("Match my system")).toBeChecked();
    await expect(f.locale).toHaveValue("de-DE");
    await expect(f.dateFormat).toHaveValue("iso");
    await expect(f.digest).toHaveValue("weekly");
    await expect(f.spaceKey).toHaveValue("");
    await expect(f.itemsPerPage).toHaveValue("25");
    await expect(app.getByText("No favourite labels yet.")).toBeVisible();
    await expect(f.lastSaved).toContainText("Not saved yet.");
    expect((await readPrefs("globex", "alice")).revision).toBe(0);
  });

  test("shows a loading line while the first read is in flight; an anonymous visitor is told to log in", async ({ page }) => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    await page.route(BRIDGE, async (route) => {
      await held;
      await route.continue();
    });
    await page.goto(forgeUrl("acme", "anonymous"));
    const app = forgeFrame(page);
    await expect(app.getByText("Loading your preferences…")).toBeVisible();
    release();
    // A FIT without a principal may not read per-user data (403 principal_required).
    await expect(app.getByRole("alert")).toContainText("Log in to Confluence");
  });

  test("two users and two sites are isolated; Connect and Forge pages of a site show the same preferences", async ({ page }) => {
    const labels: Record<string, string> = {};
    const cases: [Site, User][] = [
      ["acme", "alice"],
      ["acme", "bob"],
      ["globex", "bob"],
    ];
    for (const [site, user] of cases) {
      labels[`${site}/${user}`] = uniqueLabel(`${site}-${user}`);
      // Saved through the Connect API with a Connect context token.
      await resetPrefs(site, user, { ...KNOWN, favourite_labels: [labels[`${site}/${user}`]], items_per_page: 30 });
    }
    for (const [site, user] of cases) {
      const app = await openForge(page, site, user);
      const f = form(app);
      await expect(f.chip(labels[`${site}/${user}`])).toBeVisible();
      await expect(f.itemsPerPage).toHaveValue("30");
      for (const [key, other] of Object.entries(labels)) {
        if (key !== `${site}/${user}`) await expect(f.chip(other)).toHaveCount(0);
      }
    }
  });

  test("the space picker lists the user's spaces through the bridge, with Forge's user token", async ({ page }) => {
    await resetPrefs("acme", "alice", KNOWN);
    const app = await openForge(page, "acme", "alice");
    const f = form(app);
    await expect(app.locator("#default-space-key-hint")).toHaveText("Chosen: Documentation (DOCS).");
    await f.spaceKey.fill("priv");
    const options = app.locator("#space-options option");
    // Read at the FIT's apiBaseUrl (the simulator's gateway) as alice: her private space only.
    await expect(options).toHaveCount(1);
    await expect(options.first()).toHaveAttribute("value", "APRIV");
    await f.spaceKey.fill("ENG");
    await expect(app.locator("#default-space-key-hint")).toHaveText("Chosen: Engineering (ENG).");
    await saveAndConfirm(app);
    expect((await readPrefs("acme", "alice")).preferences.default_space_name).toBe("Engineering");
  });

  test("the same validation and conflict handling as on Connect: a Connect save meanwhile is a conflict on Forge", async ({ page }) => {
    await resetPrefs("globex", "bob", KNOWN);
    const app = await openForge(page, "globex", "bob");
    const f = form(app);
    await expect(f.save).toBeEnabled();
    // Validation: the field explains, nothing is sent.
    await f.itemsPerPage.fill("3");
    await f.save.click();
    await expect(f.status).toContainText("Some values need fixing");
    await expect(app.getByText("Choose a number from 5 to 100.")).toBeVisible();
    await f.itemsPerPage.fill("40");
    // Someone saves through the Connect page meanwhile.
    const theirs = uniqueLabel("connect-meanwhile");
    await resetPrefs("globex", "bob", { ...KNOWN, favourite_labels: [theirs] });
    await f.save.click();
    await expect(f.status).toContainText("These preferences were saved from another tab or device");
    await app.getByRole("button", { name: "Load the saved version" }).click();
    await expect(f.status).toContainText("Loaded the version saved elsewhere.");
    await expect(f.chip(theirs)).toBeVisible();
    await expect(f.itemsPerPage).toHaveValue(String(KNOWN.items_per_page));
    await saveAndConfirm(app);
    expect((await readPrefs("globex", "bob")).preferences.favourite_labels).toEqual([theirs]);
  });

  test("a call after the FIT lifetime still succeeds: the bridge hands a new token", async ({ page }) => {
    test.setTimeout(90_000);
    const fitsBefore = (await sim("/api/stats")).body.fits_issued.total;
    // FITs that live 1 s; the app accepts them for its 30 s clock-skew leeway on top.
    const app = await openForge(page, "acme", "bob", "&fit_lifetime=1");
    const f = form(app);
    await expect(f.save).toBeEnabled();
    await page.waitForTimeout(32_000);
    await f.itemsPerPage.fill("35");
    await saveAndConfirm(app);
    expect((await sim("/api/stats")).body.fits_issued.total).toBeGreaterThanOrEqual(fitsBefore + 2);
    const token = await contextToken("acme", "bob");
    expect((await apiGetWith(token)).body.preferences.items_per_page).toBe(35);
  });

  test("a 401 is retried once, then shown as a clear error", async ({ page }) => {
    let remoteCalls = 0;
    await page.route(BRIDGE, async (route) => {
      const call = JSON.parse(route.request().postData() ?? "{}");
      if (call.method !== "fetchRemote") return route.continue();
      remoteCalls += 1;
      await route.fulfill({
        contentType: "application/json",
        body: JSON.stringify({
          ok: true,
          result: {
            status: 401,
            statusText: "Unauthorized",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ error: "invalid_token", message: "The token is missing or not valid." }),
          },
        }),
      });
    });
    const app = await openForge(page, "acme", "alice");
    await expect(app.getByRole("alert")).toContainText("Your session has ended");
    expect(remoteCalls).toBe(2);
  });

  test("outside Forge and Connect the page says to open it from Confluence", async ({ page }) => {
    // Without the host's global-bridge.js there is no __bridge, so no transport.
    await page.route(`${RESOURCE_ORIGIN}/forge-ui/*/*/__forge/global-bridge.js`, (route) => route.abort());
    await page.goto(`${RESOURCE_ORIGIN}/forge-ui/acme/alice/index.html`);
    await expect(page.getByRole("alert")).toContainText("Open it from Confluence");
  });

  test("the same build picks Connect when AP is there: Authorization JWT from AP.context.getToken", async ({ page }) => {
    const label = uniqueLabel("csr-connect");
    await resetPrefs("acme", "bob", { ...KNOWN, favourite_labels: [label] });
    const token = await contextToken("acme", "bob");
    // No Forge bridge; an AP that hands out a real context token, as all.js would.
    await page.route(`${RESOURCE_ORIGIN}/forge-ui/*/*/__forge/global-bridge.js`, (route) => route.abort());
    await page.addInitScript((jwt) => {
      (globalThis as any).AP = { context: { getToken: (cb?: (t: string) => void) => (cb ? cb(jwt) : Promise.resolve(jwt)) } };
    }, token);
    // The page calls /api on its own origin (as a Connect page does); pass it to the app.
    const seen: string[] = [];
    await page.route(`${RESOURCE_ORIGIN}/api/**`, async (route) => {
      seen.push(route.request().headers()["authorization"] ?? "");
      const url = route.request().url().replace(RESOURCE_ORIGIN, APP);
      await route.fulfill({ response: await route.fetch({ url }) });
    });
    await page.goto(`${RESOURCE_ORIGIN}/forge-ui/acme/bob/index.html`);
    await expect(form(page as unknown as FrameLocator).chip(label)).toBeVisible();
    expect(seen).toEqual([`JWT ${token}`]);
  });

  test("follows the host's theme and is axe-clean in light and dark", async ({ page }) => {
    await resetPrefs("globex", "bob", { ...KNOWN, theme: "system" });
    for (const theme of ["light", "dark"]) {
      const app = await openForge(page, "globex", "bob", `&theme=${theme}`);
      await expect(app.locator("html")).toHaveAttribute("data-color-mode", theme);
      await expect(form(app).main).toHaveAttribute("data-theme", "system");
      const scheme = await app.locator("main.app").evaluate((el) => getComputedStyle(el).colorScheme);
      expect(scheme).toBe(theme);
      const results = await new AxeBuilder({ page }).include("#forge-iframe").analyze();
      expect(results.passes.length).toBeGreaterThan(0);
      const serious = results.violations
        .filter((v) => v.impact === "serious" || v.impact === "critical")
        .map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
      expect(serious).toEqual([]);
    }
  });

  test("the API answers CORS for a configured Forge UI origin only, and still needs a FIT", async ({ page }) => {
    const minted = await sim("/api/sites/acme/forge/fit", "POST", { user: "alice" });
    expect(minted.status, JSON.stringify(minted.body)).toBe(200);
    const call = (token: string) =>
      page.evaluate(
        async ([url, token]) => {
          try {
            const res = await fetch(url, { headers: { authorization: `Bearer ${token}`, accept: "application/json" } });
            return { status: res.status, body: await res.json() };
          } catch (e) {
            return { error: String(e) };
          }
        },
        [`${APP}/api/preferences`, token] as const,
      );
    // A real cross-origin page: the configured origin (FORGE_UI_ORIGINS) reads the answer.
    await page.goto(`${RESOURCE_ORIGIN}/healthz`);
    const allowed = await call(minted.body.token);
    expect(allowed.status, JSON.stringify(allowed)).toBe(200);
    expect(allowed.body.can_edit).toBe(true);
    // CORS is no authentication: a bad token is still refused (and the page may read why).
    const refused = await call("not-a-token");
    expect(refused.status).toBe(401);
    // Any other origin is stopped at the preflight (a page of its own, served by the test).
    await page.route("http://elsewhere.test/**", (route) => route.fulfill({ contentType: "text/html", body: "<!DOCTYPE html><title>x</title>" }));
    await page.goto("http://elsewhere.test/");
    const other = await call(minted.body.token);
    expect(other.error, JSON.stringify(other)).toContain("Failed to fetch");
  });

  test("host mode: the host page makes the remote calls from its own origin, through the app's CORS", async ({ page }) => {
    const errors = watchErrors(page);
    const app = await openForge(page, "acme", "alice", "&bridge=host");
    await expect(page.locator("#forge-iframe")).toHaveAttribute("data-bridge-connected", "true");
    const f = form(app);
    await expect(f.save).toBeEnabled();
    const label = uniqueLabel("host-mode");
    await addLabel(app, label);
    const requests: import("@playwright/test").Request[] = [];
    page.on("request", (r) => {
      if (r.url().startsWith(`${APP}/api/`)) requests.push(r);
    });
    await saveAndConfirm(app);
    // The POST left the host page (origin SIM) for the app: a CORS request the app admitted.
    const origins = await Promise.all(requests.map(async (r) => `${r.method()} ${(await r.allHeaders())["origin"]}`));
    expect(origins).toContain(`POST ${SIM}`);
    const calls = await page.evaluate(() => (window as any).simForgeHost.calls);
    expect(calls.map((c: any) => `${c.method} ${c.status}`)).toEqual(["GET 200", "POST 200"]);
    await page.reload();
    await expect(form(forgeFrame(page)).chip(label)).toBeVisible();
    expect((await readPrefs("acme", "alice")).preferences.favourite_labels).toContain(label);
    expect(errors.unexpected([])).toEqual([]);
  });

  test("a screenshot of the Forge page for the README", async ({ page }) => {
    await page.setViewportSize({ width: 1100, height: 1250 });
    await resetPrefs("acme", "bob", { ...KNOWN, theme: "light", favourite_labels: ["release-notes", "how-to"] });
    const app = await openForge(page, "acme", "bob");
    await expect(form(app).chip("how-to")).toBeVisible();
    const dir = path.join(__dirname, "..", "artifacts");
    fs.mkdirSync(dir, { recursive: true });
    const shot = path.join(dir, "preferences-forge.png");
    await page.screenshot({ path: shot, fullPage: true, animations: "disabled", caret: "hide" });
    expect(fs.statSync(shot).size).toBeGreaterThan(10_000);
    fs.copyFileSync(shot, path.join(ROOT, "docs", "screenshot-forge.png"));
  });
});
