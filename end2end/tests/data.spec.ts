// Whose data is whose (users, sites, anonymous visitors), concurrent edits from two tabs, and
// validation in the browser and on the server.
import { test, expect, type Request } from "@playwright/test";
import {
  APP,
  KNOWN,
  addLabel,
  apiSaveWith,
  contextToken,
  ensureInstalled,
  form,
  openApp,
  readPrefs,
  resetPrefs,
  uniqueLabel,
  apiGetWith,
} from "./helpers";

test.describe("isolation", () => {
  test.beforeEach(async () => {
    await ensureInstalled("acme");
    await ensureInstalled("globex");
  });

  test("alice's values on acme are hers alone: not bob's on acme, not hers on globex", async ({ page }) => {
    const label = uniqueLabel("alice-only");
    await resetPrefs("acme", "alice", {
      theme: "dark",
      locale: "fr-FR",
      date_format: "day_month_year",
      email_digest: "off",
      default_space_key: "APRIV",
      favourite_labels: [label],
      items_per_page: 77,
    });

    // Alice on acme sees them.
    let app = await openApp(page, "acme", "alice");
    let f = form(app);
    await expect(f.chip(label)).toBeVisible();
    await expect(f.spaceKey).toHaveValue("APRIV");

    // Bob on acme sees his own values (whatever they are), never alice's.
    const bobs = await readPrefs("acme", "bob");
    app = await openApp(page, "acme", "bob");
    f = form(app);
    await expect(f.chip(label)).toHaveCount(0);
    await expect(f.spaceKey).toHaveValue(bobs.preferences.default_space_key ?? "");
    await expect(f.itemsPerPage).toHaveValue(String(bobs.preferences.items_per_page));
    await expect(f.main).toHaveAttribute("data-theme", bobs.preferences.theme);

    // Alice on globex (no test ever saves there) sees the defaults, in the host's language.
    const globex = await readPrefs("globex", "alice");
    expect(globex.revision).toBe(0);
    expect(globex.updated_at).toBeNull();
    app = await openApp(page, "globex", "alice");
    f = form(app);
    await expect(f.chip(label)).toHaveCount(0);
    await expect(f.theme("Match my system")).toBeChecked();
    await expect(f.main).toHaveAttribute("data-theme", "system");
    await expect(f.locale).toHaveValue("en-GB"); // the page URL's loc=en-GB
    await expect(f.dateFormat).toHaveValue("iso");
    await expect(f.digest).toHaveValue("weekly");
    await expect(f.spaceKey).toHaveValue("");
    await expect(f.itemsPerPage).toHaveValue("25");
    await expect(app.getByText("No favourite labels yet.")).toBeVisible();
    await expect(f.lastSaved).toContainText("Not saved yet.");
  });

  test("many labels are paged by 'items per page', and Next/Previous move through them", async ({ page }) => {
    const labels = Array.from({ length: 7 }, (_, i) => uniqueLabel(`paged-${i}`));
    await resetPrefs("globex", "bob", { ...KNOWN, favourite_labels: labels, items_per_page: 5 });
    const app = await openApp(page, "globex", "bob");
    const f = form(app);
    const pager = app.getByRole("navigation", { name: "Label pages" });
    const next = pager.getByRole("button", { name: "Next", exact: true });
    const previous = pager.getByRole("button", { name: "Previous", exact: true });

    await expect(pager).toContainText("Page 1 of 2");
    await expect(f.chip(labels[0])).toBeVisible();
    await expect(f.chip(labels[5])).toHaveCount(0);
    await expect(previous).toBeDisabled();
    await expect(next).toBeEnabled();

    await next.click();
    await expect(pager).toContainText("Page 2 of 2");
    await expect(f.chip(labels[5])).toBeVisible();
    await expect(f.chip(labels[6])).toBeVisible();
    await expect(f.chip(labels[0])).toHaveCount(0);
    await expect(next).toBeDisabled();

    await previous.click();
    await expect(pager).toContainText("Page 1 of 2");
    await expect(f.chip(labels[4])).toBeVisible();
  });

  test("anonymous visitors see the defaults read-only and cannot save", async ({ page }) => {
    const app = await openApp(page, "acme", "anonymous");
    const f = form(app);
    await expect(app.getByText("You're browsing anonymously")).toBeVisible();
    await expect(f.theme("Match my system")).toBeChecked();
    await expect(f.theme("Dark")).toBeDisabled();
    await expect(f.spaceKey).toBeDisabled();
    await expect(f.newLabel).toBeDisabled();
    await expect(f.save).toBeDisabled();

    const token = await contextToken("acme", "anonymous");
    const read = await apiGetWith(token);
    expect(read.status).toBe(200);
    expect(read.body.can_edit).toBe(false);
    expect(read.body.revision).toBe(0);
    const write = await apiSaveWith(token, 0, KNOWN);
    expect(write.status).toBe(403);
    expect(write.body.error).toBe("forbidden");
  });
});

test.describe("conflicts between two tabs", () => {
  test.beforeEach(async () => {
    await ensureInstalled("acme");
    await resetPrefs("acme", "alice", KNOWN);
  });

  /** Two tabs of alice opened at the same revision; tab 1 saves; tab 2's save conflicts. */
  async function conflict(context: import("@playwright/test").BrowserContext) {
    const base = (await readPrefs("acme", "alice")).revision;
    const tab1 = await context.newPage();
    const tab2 = await context.newPage();
    const app1 = await openApp(tab1, "acme", "alice");
    const app2 = await openApp(tab2, "acme", "alice");
    const f1 = form(app1);
    const f2 = form(app2);
    const mine = uniqueLabel("tab1");
    const theirs = uniqueLabel("tab2");

    // A background tab gets no animation frames, which slows Playwright's actionability checks.
    await tab1.bringToFront();
    await f1.theme("Dark").check();
    await addLabel(app1, mine);
    await f1.save.click();
    await expect(f1.status).toContainText("Saved.");
    expect((await readPrefs("acme", "alice")).revision).toBe(base + 1);

    await tab2.bringToFront();
    await f2.itemsPerPage.fill("50");
    await addLabel(app2, theirs);
    await f2.save.click();
    await expect(f2.status).toContainText("These preferences were saved from another tab or device");
    await expect(app2.getByRole("button", { name: "Load the saved version" })).toBeVisible();
    await expect(app2.getByRole("button", { name: "Keep mine and overwrite" })).toBeVisible();
    // Nothing of tab 2 was written.
    const stored = await readPrefs("acme", "alice");
    expect(stored.revision).toBe(base + 1);
    expect(stored.preferences.favourite_labels).toEqual(["baseline", mine]);
    return { base, app2, f2, mine, theirs };
  }

  test("'Load the saved version' puts the other tab's values into the form", async ({ context }) => {
    const { base, app2, f2, mine, theirs } = await conflict(context);
    await app2.getByRole("button", { name: "Load the saved version" }).click();
    await expect(f2.status).toContainText("Loaded the version saved elsewhere.");
    await expect(f2.theme("Dark")).toBeChecked();
    await expect(f2.main).toHaveAttribute("data-theme", "dark");
    await expect(f2.itemsPerPage).toHaveValue(String(KNOWN.items_per_page));
    await expect(f2.chip(mine)).toBeVisible();
    await expect(f2.chip(theirs)).toHaveCount(0);
    // The tab is now at the current revision: saving from it works without a new conflict.
    await f2.digest.selectOption("daily");
    await f2.save.click();
    await expect(f2.status).toContainText("Saved.");
    const stored = await readPrefs("acme", "alice");
    expect(stored.revision).toBe(base + 2);
    expect(stored.preferences).toMatchObject({ theme: "dark", email_digest: "daily", favourite_labels: ["baseline", mine] });
  });

  test("'Keep mine and overwrite' saves this tab's values over the other's", async ({ context }) => {
    const { base, app2, f2, mine, theirs } = await conflict(context);
    await app2.getByRole("button", { name: "Keep mine and overwrite" }).click();
    await expect(f2.status).toContainText("Saved.");
    const stored = await readPrefs("acme", "alice");
    expect(stored.revision).toBe(base + 2);
    expect(stored.preferences).toEqual({ ...KNOWN, items_per_page: 50, favourite_labels: ["baseline", theirs] });
    expect(stored.preferences.favourite_labels).not.toContain(mine);
    await expect(f2.theme("Light")).toBeChecked();
  });
});

// The server answers 503 `outcome_unknown` when a save was sent to the database but its result
// did not come back in time. The page then reads the stored copy: it decides what the form shows.
test.describe("a save whose outcome is unknown", () => {
  test.beforeEach(async () => {
    await ensureInstalled("acme");
    await resetPrefs("acme", "alice", KNOWN);
  });

  const UNKNOWN = {
    status: 503,
    contentType: "application/json",
    body: JSON.stringify({ error: "outcome_unknown", message: "The data store did not confirm in time." }),
  };

  test("is shown as saved when the stored copy holds it", async ({ page }) => {
    const before = await readPrefs("acme", "alice");
    // The save reaches the server and is written; only its answer is lost.
    await page.route(`${APP}/api/preferences`, async (route) => {
      if (route.request().method() !== "POST") return route.continue();
      await route.fetch();
      await route.fulfill(UNKNOWN);
    });
    const app = await openApp(page, "acme", "alice");
    const f = form(app);
    const label = uniqueLabel("landed");
    await addLabel(app, label);
    await f.save.click();
    await expect(f.status).toContainText("Saved.");
    await expect(f.chip(label)).toBeVisible();
    expect((await readPrefs("acme", "alice")).revision).toBe(before.revision + 1);
  });

  test("shows the stored copy, and says so, when the save is not there", async ({ page }) => {
    const before = await readPrefs("acme", "alice");
    await page.route(`${APP}/api/preferences`, (route) =>
      route.request().method() === "POST" ? route.fulfill(UNKNOWN) : route.continue(),
    );
    const app = await openApp(page, "acme", "alice");
    const f = form(app);
    const label = uniqueLabel("lost");
    await addLabel(app, label);
    await f.save.click();
    await expect(f.status).toContainText("could not confirm whether your change was saved");
    await expect(f.status).toContainText("The form now shows the stored copy");
    await expect(f.chip(label)).toHaveCount(0);
    for (const stored of before.preferences.favourite_labels) await expect(f.chip(stored)).toBeVisible();
    expect((await readPrefs("acme", "alice")).revision).toBe(before.revision);
  });
});

test.describe("validation", () => {
  test.beforeEach(async () => {
    await ensureInstalled("globex");
    await resetPrefs("globex", "bob", KNOWN);
  });

  test("invalid input shows errors next to the fields and nothing is sent or saved", async ({ page }) => {
    const before = await readPrefs("globex", "bob");
    const posts: Request[] = [];
    page.on("request", (r) => {
      if (r.url().startsWith(`${APP}/api/`) && r.method() === "POST") posts.push(r);
    });
    const app = await openApp(page, "globex", "bob");
    const f = form(app);

    await f.itemsPerPage.fill("3");
    await f.spaceKey.fill("DEV SPACE");
    await expect(f.itemsPerPage).toHaveAttribute("aria-invalid", "true");
    await expect(f.spaceKey).toHaveAttribute("aria-invalid", "true");
    await expect(app.locator("#items-per-page-error")).toHaveText("Choose a number from 5 to 100.");
    await expect(app.locator("#default-space-key-error")).toHaveText(/^Use letters and digits only/);
    // The errors are tied to their fields for assistive technology.
    await expect(f.itemsPerPage).toHaveAccessibleDescription(/Choose a number from 5 to 100\./);

    // A label the editor refuses never reaches the list.
    await f.newLabel.fill("bad label");
    await f.addLabel.click();
    await expect(f.newLabel).toHaveAttribute("aria-invalid", "true");
    await expect(app.locator("#new-label-error")).toHaveText(/^Labels can't contain spaces/);
    await expect(app.locator(".label-chip")).toHaveCount(1);

    await f.save.click();
    await expect(f.status).toContainText("Some values need fixing before they can be saved.");
    expect(posts).toEqual([]);
    expect(await readPrefs("globex", "bob")).toEqual(before);

    // Fixing the values clears the errors.
    await f.itemsPerPage.fill("30");
    await f.spaceKey.fill("DEVSPACE");
    await expect(f.itemsPerPage).toHaveAttribute("aria-invalid", "false");
    await expect(f.spaceKey).toHaveAttribute("aria-invalid", "false");
    await expect(app.locator("#items-per-page-error")).toHaveText("");
  });

  test("the API refuses invalid values with field codes and stores nothing", async () => {
    const token = await contextToken("globex", "bob");
    const before = await readPrefs("globex", "bob");

    const invalid = await apiSaveWith(token, before.revision, {
      ...KNOWN,
      items_per_page: 3,
      default_space_key: "DEV SPACE",
      favourite_labels: ["ok", "ok", "bad label"],
    });
    expect(invalid.status).toBe(422);
    expect(invalid.body.error).toBe("validation_failed");
    expect(invalid.body.fields).toEqual(
      expect.arrayContaining([
        { field: "items_per_page", code: "out_of_range" },
        { field: "default_space_key", code: "invalid_format" },
        { field: "favourite_labels[1]", code: "duplicate" },
        { field: "favourite_labels[2]", code: "invalid_characters" },
      ]),
    );

    const tooMany = await apiSaveWith(token, before.revision, {
      ...KNOWN,
      favourite_labels: Array.from({ length: 51 }, (_, i) => `l${i}`),
    });
    expect(tooMany.status).toBe(422);
    expect(tooMany.body.fields).toEqual([{ field: "favourite_labels", code: "too_many" }]);

    const negative = await apiSaveWith(token, -1, KNOWN);
    expect(negative.status).toBe(400);
    expect(negative.body.error).toBe("bad_request");

    // Too big to read at all.
    const huge = await apiSaveWith(token, before.revision, { ...KNOWN, default_space_key: "A".repeat(20_000) });
    expect(huge.status).toBe(413);
    expect(huge.body.error).toBe("payload_too_large");

    expect(await readPrefs("globex", "bob")).toEqual(before);
  });

  // Bodies that do not deserialise are the client's fault: 400, with no parser text.
  test("the API answers unreadable bodies with 400 bad_request", async () => {
    const token = await contextToken("globex", "bob");
    const before = await readPrefs("globex", "bob");
    const wrongType = await apiSaveWith(token, before.revision, { ...KNOWN, items_per_page: "ten" });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.error).toBe("bad_request");
    const unknownField = await apiSaveWith(token, before.revision, { ...KNOWN, admin: true });
    expect(unknownField.status).toBe(400);
    expect(unknownField.body.error).toBe("bad_request");
    expect(await readPrefs("globex", "bob")).toEqual(before);
  });
});
