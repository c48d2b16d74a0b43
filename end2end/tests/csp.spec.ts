// The Content-Security-Policy in the browser: the page hydrates, talks to the host through
// all.js, saves, and reloads (rendered again, then from the page cache) under its policy with no
// violation; and the policy is enforced (an injected inline script does not run).
import { test, expect, type Frame, type Page } from "@playwright/test";
import { APP, KNOWN, addLabel, appFrame, ensureInstalled, form, openApp, resetPrefs, uniqueLabel, watchErrors } from "./helpers";

/**
 * Records `securitypolicyviolation` events in every frame: an init script runs in the app's
 * iframe too, before the page's own scripts, and is not subject to the page's CSP.
 */
async function recordViolations(page: Page) {
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as any).__cspViolations = seen;
    document.addEventListener(
      "securitypolicyviolation",
      (e) => seen.push(`${e.effectiveDirective} blocked ${e.blockedURI || "inline"}: ${e.sample}`),
      true,
    );
  });
}

function appFrameOf(page: Page): Frame {
  const frame = page.frames().find((f) => f.url().startsWith(`${APP}/preferences`));
  if (!frame) throw new Error("no app frame");
  return frame;
}

async function violations(page: Page): Promise<string[]> {
  return appFrameOf(page).evaluate(() => (window as any).__cspViolations ?? ["no recorder"]);
}

/** The CSP of each app page document the browser loads. */
function pagePolicies(page: Page): string[] {
  const policies: string[] = [];
  page.on("response", async (res) => {
    if (res.url().startsWith(`${APP}/preferences`)) policies.push((await res.allHeaders())["content-security-policy"] ?? "");
  });
  return policies;
}

test.describe("content security policy", () => {
  test.beforeEach(async () => {
    await ensureInstalled("acme");
    await resetPrefs("acme", "bob", KNOWN);
  });

  test("the page hydrates, saves and reloads under its CSP with no violation, and the CSP is enforced", async ({ page }) => {
    const errors = watchErrors(page);
    const policies = pagePolicies(page);
    await recordViolations(page);

    const app = await openApp(page, "acme", "bob");
    const f = form(app);
    await f.digest.selectOption("off");
    await addLabel(app, uniqueLabel("csp"));
    await f.save.click();
    await expect(f.status).toContainText("Saved.");
    expect(await violations(page)).toEqual([]);

    // Rendered again (the save changed the view), then the same page from the page cache.
    for (const load of ["after the save", "from the page cache"]) {
      await page.reload();
      await appFrame(page).locator("html[data-hydrated]").waitFor({ state: "attached" });
      await expect(page.locator("#ap-iframe")).toHaveAttribute("data-ap-connected", "true");
      await expect(form(appFrame(page)).save).toBeEnabled();
      expect(await violations(page), load).toEqual([]);
    }
    expect(errors.describe()).toBe("");

    // Every page load was served with the page policy (not a missing or permissive one).
    expect(policies).toHaveLength(3);
    for (const csp of policies) {
      expect(csp).toContain("default-src 'self'");
      expect(csp).toMatch(/script-src 'self' http:\/\/127\.0\.0\.1:3110 'wasm-unsafe-eval'( 'sha256-[A-Za-z0-9+/]+=*')+;/);
      expect(csp).not.toContain("unsafe-inline");
      expect(csp).not.toMatch(/'unsafe-eval'/);
    }
    expect(policies[2]).toBe(policies[1]);

    // Enforced: a script injected into the page does not run, and is reported.
    const ran = await appFrameOf(page).evaluate(() => {
      const s = document.createElement("script");
      s.textContent = "window.__injected = true;";
      document.head.append(s);
      return (window as any).__injected === true;
    });
    expect(ran).toBe(false);
    await expect.poll(() => violations(page)).toEqual([expect.stringMatching(/^script-src-elem blocked inline/)]);
  });
});
