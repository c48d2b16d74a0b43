#!/usr/bin/env node
"use strict";
// Cold start: wall time from spawn() of the app to its first 200 on GET /atlassian-connect.json,
// polled every 5 ms (a new connection per probe) from this already-running process. Each trial
// gets a fresh database: env[DB_VAR] = DB_TEMPLATE with %i replaced by the trial number.
// Prints one line: COLDJSON {"trials_ms": [...], "median_ms": ..., "min_ms": ..., "max_ms": ...}
//
// usage: coldstart.js --port P [--trials 5] [--cwd DIR] [--db-var NAME --db-template T] -- CMD ARGS...
// The app's other environment is inherited.

const { spawn } = require("child_process");
const http = require("http");

const sep = process.argv.indexOf("--");
if (sep < 0 || sep === process.argv.length - 1) {
  console.error("usage: coldstart.js --port P [--trials N] [--cwd D] [--db-var V --db-template T] -- CMD ARGS...");
  process.exit(2);
}
const opts = process.argv.slice(2, sep);
const cmd = process.argv.slice(sep + 1);
const arg = (name, dflt) => {
  const i = opts.indexOf(`--${name}`);
  return i >= 0 ? opts[i + 1] : dflt;
};
const TRIALS = Number(arg("trials", 5));
const PORT = Number(arg("port"));
const CWD = arg("cwd", process.cwd());
const DB_VAR = arg("db-var", null);
const DB_TEMPLATE = arg("db-template", null);
const TIMEOUT_MS = 30000;
const agent = new http.Agent({ keepAlive: false });
const sleep = ms => new Promise(r => setTimeout(r, ms));
let current = null; // the app of the running trial, stopped if we are
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    if (current) current.kill("SIGKILL");
    process.exit(1);
  });
}

function probe() {
  return new Promise(resolve => {
    const req = http.get({ host: "127.0.0.1", port: PORT, path: "/atlassian-connect.json", agent }, res => {
      res.resume();
      res.on("end", () => resolve(res.statusCode === 200));
    });
    req.on("error", () => resolve(false));
    req.setTimeout(1000, () => req.destroy());
  });
}

async function trial(i) {
  const env = { ...process.env };
  if (DB_VAR) env[DB_VAR] = DB_TEMPLATE.replace("%i", String(i));
  if (await probe()) throw new Error(`port ${PORT} already answers; stop that server first`);
  const t0 = process.hrtime.bigint();
  const child = spawn(cmd[0], cmd.slice(1), { env, cwd: CWD, stdio: "ignore" });
  current = child;
  let exited = false;
  const exit = new Promise(r => child.once("exit", () => { exited = true; r(); }));
  for (;;) {
    if (exited) throw new Error("the app exited before answering");
    if (Number(process.hrtime.bigint() - t0) / 1e6 > TIMEOUT_MS) {
      child.kill("SIGKILL");
      throw new Error("the app did not answer within 30 s");
    }
    if (await probe()) break;
    await sleep(5);
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  child.kill("SIGTERM");
  const t = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exit;
  clearTimeout(t);
  current = null;
  return ms;
}

(async () => {
  const times = [];
  for (let i = 0; i < TRIALS; i++) {
    times.push(await trial(i));
    await sleep(300);
  }
  const sorted = [...times].sort((a, b) => a - b);
  const r = x => Math.round(x * 10) / 10;
  console.log(
    "COLDJSON " +
      JSON.stringify({
        trials_ms: times.map(r),
        median_ms: r(sorted[Math.floor(sorted.length / 2)]),
        min_ms: r(sorted[0]),
        max_ms: r(sorted[sorted.length - 1])
      })
  );
})().catch(err => {
  console.error(`coldstart: ${err.message}`);
  process.exit(1);
});
