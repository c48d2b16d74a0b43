// Authentication as the browser does it: JWTs only in the Authorization header, an expired page
// token replaced through AP.context.getToken, a rotated shared secret handled by one refresh
// and one retry, and an uninstalled app refusing everything with a clear message.
//
// E2E_SESSION_TTL (the app's SESSION_TOKEN_TTL_SECS, one value for the whole run) stays at its
// real 900 s by default; these tests pass with any value:
//  - expiry: with a page token of more than a minute left, the browser's clock is moved past
//    its expiry (Playwright's clock); with a short TTL the test really waits until it expired.
//  - rotation: a first save before the re-install makes the browser cache a token under the old
//    secret whatever the TTL (the page token, or with a TTL under 60 s an AP token), so the save
//    after the re-install is refused once.
import { test, expect, type Request, type Response } from "@playwright/test";
import {
  APP,
  KNOWN,
  addLabel,
  apiGetWith,
  contextToken,
  ensureInstalled,
  form,
  install,
  jwtPayload,
  openApp,
  readPrefs,
  resetPrefs,
  setTokenLifetime,
  stats,
  uninstall,
  uniqueLabel,
  hostUrl,
  iframeUrl,
  SIM,
  httpError,
  watchErrors,
} from "./helpers";

const isApi = (url: string) => url.startsWith(`${APP}/api/`);

test.describe("tokens", () => {
  test.beforeEach(async () => {
    await ensureInstalled("acme");
  });

  test("every API call carries Authorization: JWT and no URL but the page's carries a token", async ({ page }) => {
    await resetPrefs("acme", "alice", KNOWN);
    const errors = watchErrors(page);
    const requests: Request[] = [];
    page.on("request", (r) => requests.push(r));

    const app = await openApp(page, "acme", "alice");
    const f = form(app);
    await addLabel(app, uniqueLabel("hdr"));
    await f.save.click();
    await expect(f.status).toContainText("Saved.");

    const appRequests = requests.filter((r) => r.url().startsWith(APP));
    const api = appRequests.filter((r) => isApi(r.url()));
    expect(api.length, "the save reached the API").toBeGreaterThanOrEqual(1);
    for (const r of api) {
      const auth = (await r.allHeaders())["authorization"] ?? "";
      expect(auth, `${r.method()} ${r.url()}`).toMatch(/^JWT eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+$/);
      expect(r.url()).not.toContain("jwt=");
      expect(r.url()).not.toContain("eyJ");
    }
    // Only the page itself is opened with ?jwt= (that is how Connect signs it); nothing the
    // page loads afterwards (scripts, styles, wasm) repeats the token.
    const withToken = appRequests.filter((r) => /jwt=|eyJ/.test(r.url()));
    expect(withToken.map((r) => new URL(r.url()).pathname)).toEqual(["/preferences"]);
    expect(withToken[0].isNavigationRequest()).toBe(true);
    expect(errors.describe()).toBe("");
  });

  test("after the page token expires, the next save gets a new token through AP and succeeds", async ({ page }) => {
    await resetPrefs("acme", "bob", KNOWN);
    await setTokenLifetime(5);
    try {
      const errors = watchErrors(page);
      await page.clock.install(); // real time keeps flowing until fastForward
      const app = await openApp(page, "acme", "bob");
      const f = form(app);
      const meta = await app.locator('meta[name="token"]').getAttribute("content");
      expect(meta).toBeTruthy();
      const metaExp = jwtPayload(meta!).exp as number;
      const left = metaExp - Date.now() / 1000;
      if (left > 60) {
        await page.clock.fastForward(Math.ceil(left + 5) * 1000);
      } else {
        // A short E2E_SESSION_TTL: wait for the real expiry (plus a second of rounding).
        await page.waitForTimeout(Math.max(0, Math.ceil(left + 1) * 1000));
      }
      const browserNow = await app.locator("html").evaluate(() => Date.now() / 1000);
      expect(browserNow).toBeGreaterThan(metaExp);

      const before = (await stats()).context_tokens_issued.total;
      const saves: { auth: string; status: number }[] = [];
      page.on("response", async (r) => {
        if (isApi(r.url()) && r.request().method() === "POST") {
          saves.push({ auth: (await r.request().allHeaders())["authorization"] ?? "", status: r.status() });
        }
      });
      await f.digest.selectOption("daily");
      await f.save.click();
      await expect(f.status).toContainText("Saved.");
      await expect(app.locator(".banner-error")).toHaveCount(0);
      const after = (await stats()).context_tokens_issued.total;
      expect(after - before).toBeGreaterThanOrEqual(1);
      await expect.poll(() => saves.length).toBeGreaterThanOrEqual(1);
      const used = saves[saves.length - 1];
      expect(used.status).toBe(200);
      const token = used.auth.replace(/^JWT /, "");
      expect(token).not.toBe(meta);
      expect(jwtPayload(token).kind, "a host-issued context token, not the app's session token").toBeUndefined();
      expect((await readPrefs("acme", "bob")).preferences.email_digest).toBe("daily");

      // The AP token lives 5 s, so the next save asks the host again and still succeeds.
      await f.digest.selectOption("off");
      await f.save.click();
      await expect(f.status).toContainText("Saved.");
      expect((await stats()).context_tokens_issued.total).toBeGreaterThan(after);
      expect((await readPrefs("acme", "bob")).preferences.email_digest).toBe("off");
      expect(errors.describe(), "no request was refused").toBe("");
    } finally {
      await setTokenLifetime(900);
    }
  });

  test("a rotated shared secret costs one 401 and one retry with a token under the new secret", async ({ page }) => {
    await resetPrefs("acme", "alice", KNOWN);
    const errors = watchErrors(page);
    const app = await openApp(page, "acme", "alice");
    const f = form(app);
    // First save: the browser now holds a token signed with the current secret.
    await f.itemsPerPage.fill("30");
    await f.save.click();
    await expect(f.status).toContainText("Saved.");

    const reinstalled = await install("acme"); // a new shared secret
    expect(reinstalled.status).toBe(204);

    const responses: Response[] = [];
    page.on("response", (r) => {
      if (isApi(r.url())) responses.push(r);
    });
    const before = (await stats()).context_tokens_issued.total;
    await f.itemsPerPage.fill("35");
    await f.save.click();
    await expect(f.status).toContainText("Saved.");
    await expect.poll(() => responses.length).toBe(2);
    expect(responses.map((r) => `${r.request().method()} ${r.status()}`)).toEqual(["POST 401", "POST 200"]);
    expect((await responses[0].json()).error).toBe("invalid_token");
    expect((await stats()).context_tokens_issued.total - before).toBe(1);
    expect((await readPrefs("acme", "alice")).preferences.items_per_page).toBe(35);
    // The only error logged is Chromium's line for that one handled 401.
    const unauthorized = httpError(401, `${APP}/api/preferences`);
    expect(errors.unexpected([unauthorized])).toEqual([]);
    expect(errors.consoleErrors.filter((m) => unauthorized.test(`console: ${m.text()} @ ${m.location().url}`))).toHaveLength(1);
  });
});

test.describe("uninstall", () => {
  // globex with bob: no other test reads bob's values on globex.
  test.beforeEach(async () => {
    await ensureInstalled("globex");
    await resetPrefs("globex", "bob", KNOWN);
  });
  test.afterEach(async () => {
    await ensureInstalled("globex");
  });

  test("with the page open, uninstalling makes saves and direct calls fail clearly", async ({ page }) => {
    const errors = watchErrors(page);
    const token = await contextToken("globex", "bob");
    expect((await apiGetWith(token)).status).toBe(200);
    const app = await openApp(page, "globex", "bob");
    const f = form(app);

    const gone = await uninstall("globex");
    expect(gone.installed).toBe(false);
    expect(gone.status).toBe(204);

    await f.digest.selectOption("off");
    await f.save.click();
    await expect(f.status).toContainText("Your session has ended, so nothing was saved");
    await expect(f.save).toBeEnabled();
    // Logged: the refused save, and the host's refused request for a new token.
    expect(
      errors.unexpected([httpError(401, `${APP}/api/preferences`), httpError(409, `${SIM}/api/sites/globex/context-token`)]),
    ).toEqual([]);

    const refused = await apiGetWith(token);
    expect(refused.status).toBe(401);
    expect(refused.body.error).toBe("invalid_token");

    // Reloading the host page: the simulator (like Confluence) no longer offers the app, so
    // the app is never asked; its own 401 page is what a stale page URL gets (see below).
    const res = await page.goto(hostUrl("globex", "bob"));
    expect(res?.status()).toBe(404);
    await expect(page.getByRole("heading", { name: "App not installed" })).toBeVisible();
    await expect(page.locator("#ap-iframe")).toHaveCount(0);

    // Installed again: nothing was saved while the app was gone, the stored values were kept
    // (the app keeps a tenant's data across an uninstall), and the page works again.
    await install("globex");
    expect((await readPrefs("globex", "bob")).preferences).toEqual(KNOWN);
    const back = await openApp(page, "globex", "bob");
    await expect(form(back).spaceKey).toHaveValue(KNOWN.default_space_key!);
    await form(back).digest.selectOption("off");
    await form(back).save.click();
    await expect(form(back).status).toContainText("Saved.");
    expect((await readPrefs("globex", "bob")).preferences.email_digest).toBe("off");
  });

  test("a page URL signed before the uninstall gets the app's 401 page", async () => {
    const url = await iframeUrl("globex", "bob");
    await uninstall("globex");
    const res = await fetch(url);
    expect(res.status).toBe(401);
    const html = await res.text();
    expect(html).toContain("Open this page from Confluence");
    expect(html).not.toContain('name="token"');
  });
});
