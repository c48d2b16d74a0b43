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

const cmd = process.argv[2];
function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  if (i > 0) return process.argv[i + 1];
  if (dflt === undefined) throw new Error(`--${name} is required`);
  return dflt;
}

const b64url = buf => Buffer.from(buf).toString("base64url");
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
  const input = `${b64url(JSON.stringify({ alg: "RS256", typ: "JWT", kid: forge.kid }))}.${b64url(JSON.stringify(claims))}`;
  const key = forge.key || (forge.key = crypto.createPrivateKey(forge.privateKey));
  return `${input}.${b64url(crypto.sign("sha256", Buffer.from(input), key))}`;
}

function get(url, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { headers }, res => {
      const chunks = [];
      res.on("data", c => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
    req.setTimeout(10000, () => req.destroy(new Error(`timeout: GET ${url}`)));
    req.end();
  });
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
    const r = await get(`${app}/api/preferences`, { authorization: `Bearer ${token}` });
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

const commands = { setup, tokens };
if (!commands[cmd]) {
  console.error("usage: forge.js setup|tokens [options] (see the file header)");
  process.exit(2);
}
Promise.resolve(commands[cmd]()).catch(err => {
  console.error(`forge.js ${cmd}: ${err.message || err}`);
  process.exit(1);
});
