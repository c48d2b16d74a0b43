// Playwright drives Debian's Chromium (no browser download is possible here) through the local
// Confluence simulator. It starts its own simulator and app on ports 3110/3010 with a fresh
// database, so it never touches a development instance (or the one `cargo leptos end-to-end`
// starts on 3000). E2E_SERVER_BIN picks the server binary (scripts/test.sh passes the release one);
// without it the newer of target/release/server and target/debug/server runs. The simulator is
// always the debug build (target/debug/simulator).
import { defineConfig } from "@playwright/test";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as crypto from "node:crypto";

const root = path.resolve(__dirname, "..");
export const APP_PORT = 3010;
export const SIM_PORT = 3110;

function serverBinary(): string {
  if (process.env.E2E_SERVER_BIN) return path.resolve(__dirname, process.env.E2E_SERVER_BIN);
  const candidates = ["target/release/server", "target/debug/server"]
    .map((p) => path.join(root, p))
    .filter((p) => fs.existsSync(p));
  candidates.sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
  if (!candidates.length) throw new Error("build the server first (cargo leptos build --release)");
  return candidates[0];
}

// The simulator's default Forge app (simulator/src/config.rs).
const FORGE_APP_UUID = "8db517b3-b937-4884-aa7b-79acfdcaffda";
const FORGE_APP_ID = `ari:cloud:ecosystem::app/${FORGE_APP_UUID}`;

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "prefs-e2e-"));
const secretKey = `e2e:${crypto.randomBytes(32).toString("base64")}`;

export default defineConfig({
  testDir: "./tests",
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  forbidOnly: !!process.env.CI,
  retries: 0,
  reporter: [["list"]],
  outputDir: "./test-results",
  use: {
    baseURL: `http://127.0.0.1:${SIM_PORT}`,
    colorScheme: "light",
    viewport: { width: 1100, height: 900 },
    launchOptions: {
      executablePath: "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
      ],
    },
  },
  projects: [{ name: "chromium" }],
  webServer: [
    {
      command: serverBinary(),
      cwd: root,
      url: `http://127.0.0.1:${APP_PORT}/healthz`,
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: "pipe",
      stderr: "pipe",
      env: {
        // Production mode, as deployed: there the server accepts plain http only for loopback
        // hosts, which is all this setup uses (the simulator speaks http). E2E_APP_ENV=development
        // runs the same suite in development mode.
        APP_ENV: process.env.E2E_APP_ENV ?? "production",
        LEPTOS_SITE_ADDR: `127.0.0.1:${APP_PORT}`,
        APP_BASE_URL: `http://127.0.0.1:${APP_PORT}`,
        DATABASE_URL: `sqlite://${dataDir}/e2e.db`,
        TENANT_SECRET_KEYS: secretKey,
        CONNECT_INSTALL_KEYS_URL: `http://127.0.0.1:${SIM_PORT}/keys`,
        CONNECT_ALL_JS_URL: `http://127.0.0.1:${SIM_PORT}/all.js`,
        // The simulator plays Atlassian's authorization server (user impersonation) too.
        ATLASSIAN_OAUTH_URL: `http://127.0.0.1:${SIM_PORT}`,
        FRAME_ANCESTORS: `http://127.0.0.1:${SIM_PORT}`,
        // Kept at the real 900 s so the page's own session token is what most calls use (the
        // path real users take). tests/tokens.spec.ts works with any value: with a TTL under
        // 60 s every call refreshes through AP first, and it waits past short TTLs for real.
        SESSION_TOKEN_TTL_SECS: process.env.E2E_SESSION_TTL ?? "900",
        // Forge Remote on, trusting the simulator's Forge (its default app and environment): the
        // Custom UI specs (tests/forge.spec.ts) call /api with the FITs it mints.
        FORGE_APP_ID: FORGE_APP_ID,
        FORGE_ENVIRONMENT_IDS: `ari:cloud:ecosystem::environment/${FORGE_APP_UUID}/c97c7994-1847-4fcc-89fc-95a62602ea67`,
        FORGE_JWKS_URL: `http://127.0.0.1:${SIM_PORT}/forge/jwks.json`,
        // FITs name the simulator's API gateway as apiBaseUrl: Forge users' calls to Confluence.
        FORGE_API_BASE_URL_PREFIX: `http://127.0.0.1:${SIM_PORT}/ex/`,
        // Browsers on the simulator's Forge host page (its bridge's "host" mode makes the calls
        // there, as a product page would) and on its Custom UI origin may call /api.
        FORGE_UI_ORIGINS: `http://127.0.0.1:${SIM_PORT},http://localhost:${SIM_PORT}`,
        RUST_LOG: "warn",
      },
    },
    {
      command: path.join(root, "target/debug/simulator"),
      cwd: root,
      url: `http://127.0.0.1:${SIM_PORT}/healthz`,
      reuseExistingServer: false,
      timeout: 60_000,
      env: {
        SIM_ADDR: `127.0.0.1:${SIM_PORT}`,
        SIM_APP_URL: `http://127.0.0.1:${APP_PORT}`,
        SIM_AUTO_INSTALL: "false",
        SIM_FORGE_API_BASE_URL: `http://127.0.0.1:${SIM_PORT}/ex/confluence`,
        RUST_LOG: "warn",
      },
    },
  ],
});
