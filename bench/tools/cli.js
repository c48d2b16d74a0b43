"use strict";
// What the benchmark's Node tools share (plain Node, no npm packages): command-line options, JWT
// assembly, one HTTP request on loopback, and running a named subcommand.

const http = require("http");

/** `--name value` from the command line; `dflt` when absent (required when no default). */
function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  if (i > 0) return process.argv[i + 1];
  if (dflt === undefined) throw new Error(`--${name} is required`);
  return dflt;
}

const b64url = buf => Buffer.from(buf).toString("base64url");

/** A compact JWS: `sign(signingInput: Buffer) -> Buffer` makes the signature. */
function jwt(header, claims, sign) {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${b64url(sign(Buffer.from(input)))}`;
}

/** One request, read whole: `{status, text}`; fails after 10 s. */
function request(url, { method = "GET", headers = {}, body = null, agent } = {}) {
  const data = body == null ? null : Buffer.from(body);
  if (data) headers = { ...headers, "content-length": data.length };
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent }, res => {
      const chunks = [];
      res.on("data", c => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
    req.setTimeout(10000, () => req.destroy(new Error(`timeout: ${method} ${url}`)));
    req.end(data);
  });
}

/** Runs `commands[process.argv[2]]`: exit 2 with `usage` if unknown, 1 if it fails. */
function run(tool, commands, usage) {
  const cmd = process.argv[2];
  if (!commands[cmd]) {
    console.error(`usage: ${tool} ${usage}`);
    process.exit(2);
  }
  Promise.resolve(commands[cmd]()).catch(err => {
    console.error(`${tool} ${cmd}: ${err.message || err}`);
    process.exit(1);
  });
}

module.exports = { arg, b64url, jwt, request, run };
