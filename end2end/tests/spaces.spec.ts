// The default-space picker against the simulator playing Confluence: the app lists the spaces
// the user can see (asked as that user, through the JWT-bearer grant), searches them, checks the
// chosen one on save and names it; when Confluence rate-limits, the page stays usable.
import { test, expect } from "@playwright/test";
import { KNOWN, ensureInstalled, form, openApp, readPrefs, resetPrefs, sim, watchErrors } from "./helpers";

const SPACES_API = "/sites/acme/wiki/api/";

test.describe("default space picker", () => {
  test.beforeEach(async () => {
    await ensureInstalled("acme");
    await sim("/api/faults", "DELETE");
    await resetPrefs("acme", "alice", KNOWN);
  });
  test.afterEach(async () => {
    await sim("/api/faults", "DELETE");
  });

  test("lists only the user's spaces, narrows by search, and a saved choice is shown by name", async ({ page }) => {
    const errors = watchErrors(page);
    const app = await openApp(page, "acme", "alice");
    const f = form(app);
    const choice = app.locator("#default-space-key-hint");
    const options = app.locator("#space-options option");
    await expect(choice).toHaveText("Chosen: Documentation (DOCS).");
    // The box is a combobox to assistive technology, described by that line.
    await expect(f.spaceKey).toHaveRole("combobox");
    await expect(f.spaceKey).toHaveAccessibleDescription(/Chosen: Documentation \(DOCS\)\./);

    await f.spaceKey.focus();
    await expect(options).toHaveCount(25);
    await expect(options.first()).toHaveAttribute("value", "APRIV");
    await expect(options.first()).toHaveText("Alice Private");
    // Bob's private space is never offered to alice, whatever she types.
    await f.spaceKey.fill("priv");
    await expect(options).toHaveCount(1);
    await expect(options.first()).toHaveAttribute("value", "APRIV");

    await f.spaceKey.fill("team 0");
    await expect(options).toHaveCount(9);
    await expect(options.first()).toHaveText("Team 01");

    await f.spaceKey.fill("ENG");
    await expect(choice).toHaveText("Chosen: Engineering (ENG).");
    await f.save.click();
    await expect(f.status).toContainText("Saved.");
    await expect(app.getByRole("link", { name: "Engineering (ENG)" })).toHaveAttribute("href", /\/sites\/acme\/wiki\/spaces\/ENG$/);
    const stored = await readPrefs("acme", "alice");
    expect(stored.preferences.default_space_key).toBe("ENG");
    expect(stored.preferences.default_space_name).toBe("Engineering");

    // Empty means none.
    await f.spaceKey.fill("");
    await expect(choice).toHaveText("None: the app asks each time.");
    await f.save.click();
    await expect(f.status).toContainText("Saved.");
    expect((await readPrefs("acme", "alice")).preferences.default_space_key).toBeNull();
    expect(errors.describe()).toBe("");
  });

  test("a space the user cannot see is refused when saving, with a message on the field", async ({ page }) => {
    const app = await openApp(page, "acme", "alice");
    const f = form(app);
    await f.spaceKey.fill("BPRIV");
    await f.save.click();
    await expect(app.locator("#default-space-key-error")).toHaveText("You can't see a space with this key in Confluence.");
    await expect(f.spaceKey).toHaveAttribute("aria-invalid", "true");
    expect((await readPrefs("acme", "alice")).preferences.default_space_key).toBe("DOCS");
  });

  test("a 429 storm from Confluence leaves the page usable: the stored space shows, other fields save", async ({ page }) => {
    await sim("/api/faults", "POST", { path_prefix: SPACES_API, kind: "status", status: 429, retry_after: "30" });
    const app = await openApp(page, "acme", "alice");
    const f = form(app);
    await f.spaceKey.focus();
    const hint = app.locator("#default-space-key-hint");
    await expect(hint).toContainText("Couldn't list your spaces: Confluence is busy");
    await expect(hint).toContainText("Chosen: Documentation (DOCS).");
    await f.itemsPerPage.fill("30");
    await f.save.click();
    await expect(f.status).toContainText("Saved.");
    const stored = await readPrefs("acme", "alice");
    expect(stored.preferences.items_per_page).toBe(30);
    expect(stored.preferences.default_space_key).toBe("DOCS");
    expect(stored.preferences.default_space_name).toBe("Documentation");
  });
});
