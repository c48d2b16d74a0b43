// Accessibility: axe-core on the app inside the host iframe (light and dark), and keyboard use.
import { test, expect, type Page } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
import { APP, KNOWN, ensureInstalled, form, openApp, readPrefs, resetPrefs } from "./helpers";

/** Serious and critical axe violations inside the app's iframe, as readable strings. */
async function seriousViolations(page: Page): Promise<string[]> {
  // AxeBuilder injects axe into every frame; include() limits the report to the app's iframe
  // (the simulator's own page is not under test).
  const results = await new AxeBuilder({ page }).include("#ap-iframe").analyze();
  return results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

test.describe("accessibility", () => {
  test.beforeEach(async () => {
    await ensureInstalled("acme");
    await resetPrefs("acme", "bob", { ...KNOWN, favourite_labels: ["release-notes", "how-to"] });
  });

  test("axe finds no serious or critical problems, in light and dark themes", async ({ page }) => {
    const app = await openApp(page, "acme", "bob");
    const f = form(app);
    await expect(f.main).toHaveAttribute("data-theme", "light");
    // Show the states that have their own colours too: a field error and a status banner.
    await f.itemsPerPage.fill("3");
    await f.save.click();
    await expect(f.status).toContainText("Some values need fixing");
    // Make sure the frame's content was really analysed (not skipped as an untestable frame).
    const results = await new AxeBuilder({ page }).include("#ap-iframe").withRules(["label"]).analyze();
    expect(results.passes.length + results.violations.length).toBeGreaterThan(0);
    expect(await seriousViolations(page)).toEqual([]);

    await f.theme("Dark").check();
    await expect(f.main).toHaveAttribute("data-theme", "dark");
    expect(await seriousViolations(page)).toEqual([]);

    await f.itemsPerPage.fill("25");
    await f.save.click();
    await expect(f.status).toContainText("Saved.");
    expect(await seriousViolations(page)).toEqual([]);
  });

  test("keyboard only: Tab reaches every control with a visible focus ring, Enter adds a label, Enter saves", async ({ page }) => {
    await openApp(page, "acme", "bob");
    const frame = page.frames().find((fr) => fr.url().startsWith(`${APP}/preferences`));
    expect(frame, "the app's frame").toBeTruthy();
    const focused = () =>
      frame!.evaluate(() => {
        const el = document.activeElement as HTMLElement | null;
        if (!el || el === document.body) return null;
        const style = getComputedStyle(el);
        return {
          id: el.id,
          tag: el.tagName.toLowerCase(),
          name: el.getAttribute("aria-label") ?? el.textContent?.trim() ?? "",
          focusVisible: el.matches(":focus-visible"),
          outline: `${style.outlineStyle} ${style.outlineWidth}`,
        };
      });

    // From the top of the host page, Tab until focus enters the app (the host's own links come first).
    await page.locator("body").focus();
    let current = await focused();
    for (let i = 0; i < 30 && !current; i++) {
      await page.keyboard.press("Tab");
      current = await focused();
    }
    expect(current?.id, "first control in the app").toBe("theme-light"); // the checked radio

    const order: string[] = [];
    for (let i = 0; i < 7; i++) {
      expect(current!.focusVisible, `${current!.id} shows focus`).toBe(true);
      expect(current!.outline).toBe("solid 2px");
      order.push(current!.id);
      if (current!.id === "new-label") break;
      await page.keyboard.press("Tab");
      current = await focused();
    }
    expect(order).toEqual(["theme-light", "locale", "date-format", "email-digest", "default-space-key", "items-per-page", "new-label"]);

    // Arrow keys move within the theme radio group (standard radio behaviour).
    const app = page.frameLocator("#ap-iframe");
    const f = form(app);
    await f.theme("Light").focus();
    await page.keyboard.press("ArrowRight");
    await expect(f.theme("Dark")).toBeChecked();
    await expect(f.main).toHaveAttribute("data-theme", "dark");

    await f.newLabel.focus();
    await page.keyboard.type("keyboard-made");
    await page.keyboard.press("Enter");
    await expect(f.chip("keyboard-made")).toBeVisible();
    await expect(f.newLabel).toHaveValue("");
    await expect(f.newLabel).toBeFocused();
    await expect(f.status).not.toContainText("Sav"); // Enter added a label; it did not submit

    // Onwards to the Add button, the chips' remove buttons, then Save; Enter saves.
    const seen: string[] = [];
    for (let i = 0; i < 10; i++) {
      await page.keyboard.press("Tab");
      current = await focused();
      expect(current?.focusVisible, `${current?.name} shows focus`).toBe(true);
      seen.push(current!.name);
      if (current!.name === "Save preferences") break;
    }
    expect(seen).toEqual([
      "Add",
      "Remove label release-notes",
      "Remove label how-to",
      "Remove label keyboard-made",
      "Documentation (DOCS)", // the summary's link to the default space
      "Save preferences",
    ]);
    await page.keyboard.press("Enter");
    await expect(f.status).toContainText("Saved.");
    const stored = await readPrefs("acme", "bob");
    expect(stored.preferences.theme).toBe("dark");
    expect(stored.preferences.favourite_labels).toEqual(["release-notes", "how-to", "keyboard-made"]);
  });
});
