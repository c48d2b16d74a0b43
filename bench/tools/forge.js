#!/usr/bin/env node
"use strict";
// The Forge side of the benchmark, in plain Node (crypto only, no npm packages): what Forge does
// to a Forge Remote, on loopback. The app id and environment are the harness's (run.sh passes the
// same values to the server as FORGE_APP_ID / FORGE_ENVIRONMENT_IDS).
//
//   forge.js setup --app URL --keys-port P --app-id ARI --env-id ARI --out forge.json
//       Makes an RSA-2048 key pair, a kid `forge/invocation-token/wf-<uuid>`, an installation id
//       and a cloud id; serves the JWKS at http://127.0.0.1:P/forge/jwks.json for the duration of
//       the call (the server fetches it once, at the first unknown kid, and keeps the key) and
//       sends one FIT-authenticated GET /api/preferences (which fetches the key and establishes
//       the installation). Expects 200 and exactly one JWKS fetch.
//   forge.js tokens --forge forge.json --users N --lifetime S --out F
//       N Forge invocation tokens (RS256, one per user: principal = bench-user-<i>), as the
//       Custom UI bridge sends them: iss, aud = app.id, app.installationId, app.apiBaseUrl,
//       app.environment, app.module, app.installation.contexts[].cloudId, context.cloudId, jti,
//       iat = nbf = now, exp = now + S (the server accepts S <= 300; real FITs live ~25 s).
//
// Nothing here talks to anything but 127.0.0.1.

const http = require("http");
const crypto = require("crypto");
const fs = require("fs");
const { arg, jwt, request, run } = require("./cli");

const JWKS_PATH = "/forge/jwks.json";

function fit(forge, principal, lifetime, now) {
  const installation = forge.installationId;
  const claims = {
    iss: "forge/invocation-token",
    aud: forge.appId,
    iat: now,
    nbf: now,
    exp: now + lifetime,
    jti: crypto.randomUUID(),
    app: {
      id: forge.appId,
      installationId: installation,
      apiBaseUrl: `https://api.atlassian.com/ex/confluence/${forge.cloudId}`,
      environment: { type: "DEVELOPMENT", id: forge.envId },
      module: { type: "confluence:globalPage", key: "preferences" },
      installation: { id: installation, contexts: [{ cloudId: forge.cloudId }] }
    },
    context: { cloudId: forge.cloudId }
  };
  if (principal) claims.principal = principal;
  const key = forge.key || (forge.key = crypto.createPrivateKey(forge.privateKey));
  return jwt({ alg: "RS256", typ: "JWT", kid: forge.kid }, claims, input => crypto.sign("sha256", input, key));
}

async function setup() {
  const app = arg("app").replace(/\/$/, "");
  const keysPort = Number(arg("keys-port"));
  const { publicKey, privateKey } = crypto.generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" }
  });
  const forge = {
    appId: arg("app-id"),
    envId: arg("env-id"),
    kid: `forge/invocation-token/wf-${crypto.randomUUID()}`,
    installationId: `ari:cloud:ecosystem::installation/${crypto.randomUUID()}`,
    cloudId: crypto.randomUUID(),
    privateKey
  };
  const jwk = { ...crypto.createPublicKey(publicKey).export({ format: "jwk" }), kid: forge.kid, alg: "RS256", use: "sig" };
  let fetches = 0;
  const jwks = http.createServer((req, res) => {
    if (req.url === JWKS_PATH) {
      fetches++;
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ keys: [jwk] }));
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise((resolve, reject) => {
    jwks.once("error", reject);
    jwks.listen(keysPort, "127.0.0.1", resolve);
  });
  try {
    const token = fit(forge, "bench-forge-setup", 60, Math.floor(Date.now() / 1000));
    const r = await request(`${app}/api/preferences`, { headers: { authorization: `Bearer ${token}` } });
    if (r.status !== 200) throw new Error(`GET /api/preferences with a FIT answered ${r.status}: ${r.text.slice(0, 300)}`);
    if (fetches !== 1) throw new Error(`expected one JWKS fetch, saw ${fetches}`);
    fs.writeFileSync(arg("out"), JSON.stringify({ ...forge, key: undefined }, null, 2) + "\n");
    console.log(`forge: installation established, JWKS fetched ${fetches}x from the local key server`);
  } finally {
    jwks.close();
  }
}

function tokens() {
  const forge = JSON.parse(fs.readFileSync(arg("forge"), "utf8"));
  const users = Number(arg("users"));
  const lifetime = Number(arg("lifetime", "280"));
  const now = Math.floor(Date.now() / 1000);
  const lines = [];
  for (let i = 0; i < users; i++) lines.push(fit(forge, `bench-user-${i}`, lifetime, now));
  fs.writeFileSync(arg("out"), lines.join("\n") + "\n");
}

run("forge.js", { setup, tokens }, "setup|tokens [options] (see the file header)");
