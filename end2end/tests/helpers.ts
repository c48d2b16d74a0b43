// Shared helpers: the simulator's admin API, the app's API called with real context tokens,
// opening the host page as a user, and a few assertions every spec needs.
//
// The database lives for the whole run and tests may run in any order, so a test never relies
// on what another one stored: it installs what it needs (`ensureInstalled`) and, where it reads
// values back, first saves known ones (`resetPrefs`) or uses a user/site nobody else writes.
import { expect, type FrameLocator, type Page, type ConsoleMessage } from "@playwright/test";

export const APP = "http://127.0.0.1:3010";
export const SIM = "http://127.0.0.1:3110";
export const APP_KEY = "com.example.confluence-preferences";

export type Site = "acme" | "globex";
export type User = "alice" | "bob" | "anonymous";

export const ACCOUNT: Record<Exclude<User, "anonymous">, string> = {
  alice: "557058:aaaa-alice",
  bob: "557058:bbbb-bob",
};

export interface Preferences {
  theme: "system" | "light" | "dark";
  locale: "en-US" | "en-GB" | "de-DE" | "fr-FR" | "es-ES" | "ja-JP";
  date_format: "iso" | "day_month_year" | "month_day_year" | "long";
  email_digest: "off" | "daily" | "weekly";
  default_space_key: string | null;
  /** Set by the server from Confluence when the key is saved; absent when it could not check. */
  default_space_name?: string;
  favourite_labels: string[];
  items_per_page: number;
}

export interface PreferencesView {
  preferences: Preferences;
  revision: number;
  updated_at: number | null;
  can_edit: boolean;
  site_url: string;
}

/** The app's defaults as the API reports them (the page shows the host's `loc` language). */
export const DEFAULTS: Preferences = {
  theme: "system",
  locale: "en-US",
  date_format: "iso",
  email_digest: "weekly",
  default_space_key: null,
  favourite_labels: [],
  items_per_page: 25,
};

/** Known, valid, non-default values to reset a user to. */
export const KNOWN: Preferences = {
  theme: "light",
  locale: "en-US",
  date_format: "iso",
  email_digest: "weekly",
  // A space the simulator has on every site, visible to everyone; the server stores its name.
  default_space_key: "DOCS",
  default_space_name: "Documentation",
  favourite_labels: ["baseline"],
  items_per_page: 20,
};

let counter = 0;
/** A label no other test (or earlier run of this test) uses. Labels are lower-case. */
export function uniqueLabel(prefix: string): string {
  counter += 1;
  return `${prefix}-${Date.now().toString(36)}-${counter}`.toLowerCase();
}

// ---------------------------------------------------------------------------------------------
// Simulator admin API

export interface HttpResult<T = any> {
  status: number;
  body: T;
}

async function call<T = any>(url: string, method = "GET", body?: unknown, headers: Record<string, string> = {}): Promise<HttpResult<T>> {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: any = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON: keep the text */
  }
  return { status: res.status, body: parsed as T };
}

export function sim<T = any>(path: string, method = "GET", body?: unknown) {
  return call<T>(`${SIM}${path}`, method, body);
}

/** Installs (or re-installs with a NEW shared secret) the app on `site`; asserts it worked. */
export async function install(site: Site) {
  const r = await sim(`/api/sites/${site}/install`, "POST");
  expect(r.status, `install ${site}: ${JSON.stringify(r.body)}`).toBe(200);
  return r.body as { installed: boolean; status: number; enabled_status: number; installs: number; client_key: string };
}

export async function uninstall(site: Site) {
  const r = await sim(`/api/sites/${site}/uninstall`, "POST");
  expect(r.status, `uninstall ${site}: ${JSON.stringify(r.body)}`).toBe(200);
  return r.body as { installed: boolean; status: number; disabled_status: number };
}

export async function siteState(site: Site) {
  const r = await sim(`/api/sites/${site}`);
  expect(r.status).toBe(200);
  return r.body;
}

/** Installs `site` unless it already is (an earlier test may have uninstalled it). */
export async function ensureInstalled(site: Site) {
  if (!(await siteState(site)).installed) await install(site);
}

export async function stats(): Promise<{ context_tokens_issued: { total: number; per_site: Record<string, number> } }> {
  const r = await sim("/api/stats");
  expect(r.status).toBe(200);
  return r.body;
}

export async function setTokenLifetime(secs: number) {
  const r = await sim("/api/config", "POST", { token_lifetime_secs: secs });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
}

/** A context token as Confluence's AP.context.getToken() would hand it to the app. */
export async function contextToken(site: Site, user: User): Promise<string> {
  const r = await sim(`/api/sites/${site}/context-token`, "POST", { user });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.token;
}

/** A freshly signed page URL (with `?jwt=`) for the app's preferences page. */
export async function iframeUrl(site: Site, user: User): Promise<string> {
  const r = await sim(`/api/sites/${site}/iframe-url?user=${user}&module=preferences`);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.url;
}

// ---------------------------------------------------------------------------------------------
// The app's API, called directly with a context token

export function apiGetWith(token: string) {
  return call<PreferencesView & { error?: string }>(`${APP}/api/preferences`, "GET", undefined, {
    authorization: `JWT ${token}`,
  });
}

export function apiSaveWith(token: string, base_revision: number, preferences: unknown) {
  return call(`${APP}/api/preferences`, "POST", { base_revision, preferences }, { authorization: `JWT ${token}` });
}

/** The stored preferences of `user` on `site`, read through the API. */
export async function readPrefs(site: Site, user: User): Promise<PreferencesView> {
  const r = await apiGetWith(await contextToken(site, user));
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body;
}

/** Saves `prefs` for `user` on top of whatever revision is stored now; returns the new view. */
export async function resetPrefs(site: Site, user: User, prefs: Preferences = KNOWN): Promise<PreferencesView> {
  const token = await contextToken(site, user);
  const current = await apiGetWith(token);
  expect(current.status, JSON.stringify(current.body)).toBe(200);
  const r = await apiSaveWith(token, current.body.revision, prefs);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body;
}

// ---------------------------------------------------------------------------------------------
// The host page

export function hostUrl(site: Site, user: User): string {
  return `${SIM}/sites/${site}/wiki/plugins/servlet/ac/${APP_KEY}/preferences?user=${user}`;
}

export function appFrame(page: Page): FrameLocator {
  return page.frameLocator("#ap-iframe");
}

/** Opens the host page as `user` and waits until the app has hydrated and AP is connected. */
export async function openApp(page: Page, site: Site, user: User): Promise<FrameLocator> {
  const res = await page.goto(hostUrl(site, user));
  expect(res?.status(), "host page status").toBe(200);
  const app = appFrame(page);
  await app.locator("html[data-hydrated]").waitFor({ state: "attached" });
  await expect(page.locator("#ap-iframe")).toHaveAttribute("data-ap-connected", "true");
  return app;
}

/** The controls of the preferences form inside the app frame. */
export function form(app: FrameLocator) {
  return {
    theme: (name: "Match my system" | "Light" | "Dark") => app.getByRole("radio", { name, exact: true }),
    locale: app.getByLabel("Language for dates"),
    dateFormat: app.getByLabel("Date format"),
    digest: app.getByLabel("Email digest"),
    spaceKey: app.getByLabel("Default space", { exact: true }),
    itemsPerPage: app.getByLabel("Items per page"),
    newLabel: app.getByLabel("Add a label"),
    addLabel: app.getByRole("button", { name: "Add", exact: true }),
    chip: (label: string) => app.locator(".label-chip", { hasText: label }),
    removeLabel: (label: string) => app.getByRole("button", { name: `Remove label ${label}` }),
    save: app.getByRole("button", { name: "Save preferences" }),
    status: app.getByRole("status"),
    main: app.locator("main.app"),
    lastSaved: app.locator("#last-saved"),
  };
}

export async function addLabel(app: FrameLocator, label: string) {
  const f = form(app);
  await f.newLabel.fill(label);
  await f.addLabel.click();
  await expect(f.chip(label)).toBeVisible();
}

/** Clicks Save and waits for "Saved.". */
export async function saveAndConfirm(app: FrameLocator) {
  const f = form(app);
  await f.save.click();
  await expect(f.status).toContainText("Saved.");
}

// ---------------------------------------------------------------------------------------------
// Tokens and diagnostics

/** The payload of a JWT, decoded without verifying it. */
export function jwtPayload(token: string): Record<string, any> {
  const part = token.split(".")[1] ?? "";
  return JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
}

/** Console errors and uncaught page errors of the page and its frames (iframes included). */
export function watchErrors(page: Page) {
  const consoleErrors: ConsoleMessage[] = [];
  const pageErrors: Error[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(m);
  });
  page.on("pageerror", (e) => pageErrors.push(e));
  const lines = () => [
    ...pageErrors.map((e) => `pageerror: ${e.message}`),
    ...consoleErrors.map((m) => `console: ${m.text()} @ ${m.location().url}`),
  ];
  return {
    consoleErrors,
    pageErrors,
    describe: () => lines().join("\n"),
    /**
     * Errors other than the `allowed` ones. Chromium logs a console error for every non-2xx
     * fetch, so a test that provokes a 401 allows exactly that (by status and URL).
     */
    unexpected: (allowed: RegExp[]) => lines().filter((l) => !allowed.some((a) => a.test(l))),
  };
}

/** The console error Chromium logs for a fetch answered with `status`, for a URL matching `url`. */
export function httpError(status: number, url: string): RegExp {
  const escaped = url.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`^console: Failed to load resource: the server responded with a status of ${status} .* @ ${escaped}`);
}
