#!/usr/bin/env node
"use strict";
// The host side of the benchmark, in plain Node (crypto only, no npm packages): what Confluence
// does to an app, on loopback.
//
//   connect.js install --app URL --keys-port P --out tenant.json
//       A real signed install: makes an RSA-2048 key pair, serves the public key (PEM SPKI) at
//       http://127.0.0.1:P/<kid> for the duration of the call, and POSTs /installed with an RS256
//       JWT (kid, aud = the descriptor's baseUrl, iss = clientKey, computed qsh). The body's
//       `key` is the app key from the app's own descriptor. Expects 204.
//   connect.js tenant --out tenant.json
//       A tenant that is not installed anywhere (for the bare baseline: same token sizes).
//   connect.js tokens --tenant F --users N --out F
//       N context tokens (what AP.context.getToken() gives): HS256 with the tenant's shared secret,
//       iss = clientKey, sub = bench-user-<i>, qsh = "context-qsh", exp = now + 15 min.
//   connect.js pages --tenant F --users N --out F
//       N page-load paths `/preferences?<Confluence's context params>&jwt=...` (one per user),
//       each token with the qsh computed over GET /preferences and the query.
//   connect.js seed --app URL --tokens F --flavour rust|ace --out F [--scheme JWT|Bearer]
//       Saves preferences once for every user (distinct rows), writes "token revision" lines.
//       --scheme Bearer: the tokens are Forge invocation tokens (bench/tools/forge.js).
//   connect.js sync --app URL --tokens F --out F [--scheme JWT|Bearer]
//       Reads every user's current revision (Rust app), writes "token revision" lines.
//
// Nothing here talks to anything but 127.0.0.1.

const http = require("http");
const crypto = require("crypto");
const fs = require("fs");
const { arg, jwt, request, run } = require("./cli");

const KID = "bench-install-key";
const TTL = 15 * 60;

function hs256(claims, secret) {
  return jwt({ alg: "HS256", typ: "JWT" }, claims, input =>
    crypto.createHmac("sha256", Buffer.from(secret, "utf8")).update(input).digest()
  );
}

// RFC 3986 percent-encoding (unreserved kept), as the Connect canonical request wants.
const rfc3986 = s =>
  encodeURIComponent(s).replace(/[!'()*]/g, c => "%" + c.charCodeAt(0).toString(16).toUpperCase());

// qsh = sha256(METHOD&path&sorted-query-without-jwt), Connect's canonical request.
function qsh(method, path, params) {
  const grouped = new Map();
  for (const [k, v] of params) {
    if (k === "jwt") continue;
    const name = rfc3986(k);
    if (!grouped.has(name)) grouped.set(name, []);
    grouped.get(name).push(v);
  }
  const query = [...grouped.keys()]
    .sort()
    .map(name => `${name}=${grouped.get(name).sort().map(rfc3986).join(",")}`)
    .join("&");
  const canonical = `${method.toUpperCase()}&${path}&${query}`;
  return crypto.createHash("sha256").update(canonical).digest("hex");
}

async function install() {
  const app = arg("app").replace(/\/$/, "");
  const keysPort = Number(arg("keys-port"));
  const out = arg("out");
  const descriptor = JSON.parse((await request(`${app}/atlassian-connect.json`)).text);
  const { publicKey, privateKey } = crypto.generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" }
  });
  let fetches = 0;
  const keyServer = http.createServer((req, res) => {
    if (req.url === `/${KID}`) {
      fetches++;
      res.writeHead(200, { "content-type": "text/plain" });
      res.end(publicKey);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise((resolve, reject) => {
    keyServer.once("error", reject);
    keyServer.listen(keysPort, "127.0.0.1", resolve);
  });
  try {
    const tenant = newTenant(descriptor.key);
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: tenant.clientKey,
      sub: "connect:bench-installer",
      aud: [descriptor.baseUrl],
      iat: now,
      exp: now + 180,
      qsh: qsh("POST", "/installed", [])
    };
    const token = jwt({ alg: "RS256", typ: "JWT", kid: KID }, claims, input =>
      crypto.sign("sha256", input, privateKey)
    );
    const r = await request(`${app}/installed`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `JWT ${token}` },
      body: JSON.stringify(tenant)
    });
    if (r.status !== 204) throw new Error(`/installed answered ${r.status}: ${r.text}`);
    fs.writeFileSync(out, JSON.stringify({ ...tenant, app }, null, 2) + "\n");
    console.log(`installed: ${r.status} (key ${tenant.key}, key fetches from the local key server: ${fetches})`);
  } finally {
    keyServer.close();
  }
}

function newTenant(key) {
  return {
    key,
    clientKey: `bench-client-${crypto.randomUUID()}`,
    sharedSecret: crypto.randomBytes(32).toString("base64url"),
    baseUrl: "https://bench-tenant.invalid/wiki",
    displayUrl: "https://bench-tenant.invalid/wiki",
    productType: "confluence",
    description: "benchmark tenant",
    serverVersion: "6452",
    pluginsVersion: "1001.0.0-SNAPSHOT",
    eventType: "installed"
  };
}

function tenant() {
  fs.writeFileSync(arg("out"), JSON.stringify(newTenant("bench-bare"), null, 2) + "\n");
}

function tokens() {
  const tenant = JSON.parse(fs.readFileSync(arg("tenant"), "utf8"));
  const users = Number(arg("users"));
  const now = Math.floor(Date.now() / 1000);
  const lines = [];
  for (let i = 0; i < users; i++) {
    lines.push(
      hs256({ iss: tenant.clientKey, sub: `bench-user-${i}`, qsh: "context-qsh", iat: now, exp: now + TTL }, tenant.sharedSecret)
    );
  }
  fs.writeFileSync(arg("out"), lines.join("\n") + "\n");
}

function pages() {
  const tenant = JSON.parse(fs.readFileSync(arg("tenant"), "utf8"));
  const users = Number(arg("users"));
  const now = Math.floor(Date.now() / 1000);
  // The context parameters Confluence appends to a generalPages iframe URL.
  const params = [
    ["xdm_e", "https://bench-tenant.invalid"],
    ["xdm_c", "channel-bench__preferences"],
    ["cp", "/wiki"],
    ["xdm_deprecated_addon_key_do_not_use", tenant.key],
    ["lic", "none"],
    ["cv", "1001.0.0-SNAPSHOT"]
  ];
  const hash = qsh("GET", "/preferences", params);
  const lines = [];
  for (let i = 0; i < users; i++) {
    const token = hs256({ iss: tenant.clientKey, sub: `bench-user-${i}`, qsh: hash, iat: now, exp: now + TTL }, tenant.sharedSecret);
    lines.push(`/preferences?${new URLSearchParams([...params, ["jwt", token]]).toString()}`);
  }
  fs.writeFileSync(arg("out"), lines.join("\n") + "\n");
}

// The preferences a benchmark user saves. default_space_key carries the user's index so the wrk
// script can tell which user an answer belongs to (the Rust answer has no account id).
function prefs(i, n) {
  return {
    theme: n % 2 ? "dark" : "light",
    locale: "en-GB",
    date_format: "long",
    email_digest: "weekly",
    default_space_key: `BU${i}`,
    favourite_labels: ["howto", "release-notes"],
    items_per_page: 5 + (n % 96)
  };
}

async function pool(items, concurrency, fn) {
  const results = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i], i);
      }
    })
  );
  return results;
}

const readTokens = f => fs.readFileSync(f, "utf8").split("\n").map(l => l.trim().split(" ")[0]).filter(Boolean);

async function seed() {
  const app = arg("app").replace(/\/$/, "");
  const flavour = arg("flavour");
  const scheme = arg("scheme", "JWT");
  const toks = readTokens(arg("tokens"));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const revs = await pool(toks, 8, async (t, i) => {
    const headers = { authorization: `${scheme} ${t}`, "content-type": "application/json" };
    const r =
      flavour === "rust"
        ? await request(`${app}/api/preferences`, { method: "POST", headers, agent, body: JSON.stringify({ base_revision: 0, preferences: prefs(i, 0) }) })
        : await request(`${app}/api/preferences`, { method: "PUT", headers, agent, body: JSON.stringify(prefs(i, 0)) });
    if (r.status !== 200) throw new Error(`seeding user ${i}: ${r.status} ${r.text.slice(0, 300)}`);
    return flavour === "rust" ? JSON.parse(r.text).revision : 0;
  });
  agent.destroy();
  fs.writeFileSync(arg("out"), toks.map((t, i) => `${t} ${revs[i]}`).join("\n") + "\n");
  console.log(`seeded ${toks.length} users`);
}

async function sync() {
  const app = arg("app").replace(/\/$/, "");
  const scheme = arg("scheme", "JWT");
  const toks = readTokens(arg("tokens"));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const revs = await pool(toks, 8, async (t, i) => {
    const r = await request(`${app}/api/preferences`, { headers: { authorization: `${scheme} ${t}` }, agent });
    if (r.status !== 200) throw new Error(`reading user ${i}: ${r.status} ${r.text.slice(0, 300)}`);
    return JSON.parse(r.text).revision;
  });
  agent.destroy();
  fs.writeFileSync(arg("out"), toks.map((t, i) => `${t} ${revs[i]}`).join("\n") + "\n");
}

run("connect.js", { install, tenant, tokens, pages, seed, sync }, "install|tenant|tokens|pages|seed|sync [options] (see the file header)");
