#!/usr/bin/env node
"use strict";
// Prints the markdown summary of one bench/run.sh run directory: one table with the Rust app,
// ACE and the bare axum baseline side by side and their ratios, the issue's targets (met or
// missed, at 16 connections), cold start, memory, client weight (Connect page and Forge Custom
// UI) and time to hydrated.
// usage: summarize.js RUN_DIR
const fs = require("fs");
const path = require("path");

const dir = process.argv[2];
if (!dir) {
  console.error("usage: summarize.js RUN_DIR");
  process.exit(2);
}
const read = (f, dflt = null) => {
  const p = path.join(dir, f);
  if (!fs.existsSync(p) || fs.statSync(p).size === 0) return dflt;
  return JSON.parse(fs.readFileSync(p, "utf8"));
};
const lines = f => {
  const p = path.join(dir, f);
  return fs.existsSync(p) ? fs.readFileSync(p, "utf8").split("\n").filter(Boolean).map(l => JSON.parse(l)) : [];
};

const meta = read("meta.json", {});
const apps = ["rust", "ace", "bare"];
const results = {};
const cold = {};
const mem = {};
for (const a of apps) {
  results[a] = lines(`${a}/results.jsonl`);
  cold[a] = read(`${a}/coldstart.json`);
  mem[a] = read(`${a}/memory.json`);
}
const weight = read("client-weight.json");
const hyd = read("hydration.json");
const forgeWeight = read("forge-weight.json");

const row = (a, s, c) => results[a].find(r => r.scenario === s && r.conns === c);
const rps = r => (r ? r.wrk.rps : null);
const p50 = r => (r ? r.wrk.p50_us / 1000 : null);
const p99 = r => (r ? r.wrk.p99_us / 1000 : null);
const cpu = r => (r && r.wrk.requests ? (r.cpu_s * 1000) / r.wrk.requests : null);
const rss = r => (r ? r.rss_peak_kb / 1024 : null);
const bg = r => (r ? r.other_cpu_s / (r.wrk.duration_us / 1e6) : null);
const errs = r => (r ? r.wrk.err_status + r.wrk.err_connect + r.wrk.err_read + r.wrk.err_write + r.wrk.err_timeout : null);

const f = (x, d = 0) => (x == null || !isFinite(x) ? "–" : x.toFixed(d));
const ratio = (a, b, d = 1) => (a == null || b == null || !b ? "–" : `${(a / b).toFixed(d)}×`);
const kib = b => (b == null ? "–" : (b / 1024).toFixed(1));

const what = {
  read: "read: GET /api/preferences",
  "fit-read": "fit-read: GET /api/preferences, Forge FIT (Rust only)",
  write: "write: save (Rust POST CAS / ACE PUT)",
  // The Rust app reuses a user's rendered page while their preferences are unchanged (the
  // page cache); PAGE_CACHE_MIB=0 makes it render every load.
  page: process.env.PAGE_CACHE_MIB === "0"
    ? "page: GET /preferences?jwt= (SSR; Rust page cache off)"
    : "page: GET /preferences?jwt= (SSR; Rust page cache on)"
};
const scenarios = ["read", "fit-read", "write", "page"].filter(s => apps.some(a => results[a].some(r => r.scenario === s)));
const conns = [...new Set(apps.flatMap(a => results[a].map(r => r.conns)))].sort((x, y) => x - y);

const out = [];
out.push(`## Load: Rust vs ACE vs bare axum (${meta.date || "?"})`);
out.push("");
out.push(
  `${meta.nproc} cores (${meta.cpu}), kernel ${meta.kernel}; ${meta.rustc}; node ${meta.node}, ACE ${meta.ace} ` +
    `(express ${meta.express}, sequelize ${meta.sequelize}, sqlite3 ${meta.sqlite3_npm}); wrk ${meta.wrk} -t${meta.wrk_threads}, ` +
    `${meta.duration_s} s per run after ${meta.warmup_s} s warm-up; ${meta.users} users (${meta.page_users} for page loads); ` +
    `loadavg ${meta.loadavg_start} at start, ${meta.loadavg_end || "?"} at end; commit ${meta.git_commit}.`
);
out.push("");
out.push(
  "| scenario | conns | Rust req/s | ACE req/s | Rust÷ACE | bare req/s | Rust÷bare | Rust p50 / p99 ms | ACE p50 / p99 ms | ACE p99 ÷ Rust p99 | Rust CPU ms/req | ACE CPU ms/req | ACE÷Rust CPU | Rust / ACE peak RSS MiB | errors R / A | bg load R / A |"
);
out.push("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
for (const s of scenarios) {
  for (const c of conns) {
    const R = row("rust", s, c);
    const A = row("ace", s, c);
    const B = row("bare", "read", c);
    if (!R && !A) continue;
    out.push(
      `| ${what[s]} | ${c} | ${f(rps(R))} | ${f(rps(A))} | ${ratio(rps(R), rps(A))} | ${f(rps(B))} | ${ratio(rps(R), rps(B), 2)} | ` +
        `${f(p50(R), 2)} / ${f(p99(R), 2)} | ${f(p50(A), 2)} / ${f(p99(A), 2)} | ${ratio(p99(A), p99(R))} | ` +
        `${f(cpu(R), 3)} | ${f(cpu(A), 3)} | ${ratio(cpu(A), cpu(R))} | ${f(rss(R), 1)} / ${f(rss(A), 1)} | ` +
        `${R ? errs(R) : "–"} / ${A ? errs(A) : "–"} | ${f(bg(R), 2)} / ${f(bg(A), 2)} |`
    );
  }
}
for (const c of conns) {
  const B = row("bare", "read", c);
  if (!B) continue;
  out.push(
    `| bare axum: GET fixed JSON | ${c} | – | – | – | ${f(rps(B))} | 1.00× | – | – | – | – | – | – | ` +
      `bare: p50 ${f(p50(B), 2)} / p99 ${f(p99(B), 2)} ms, ${f(cpu(B), 3)} CPU ms/req, ${f(rss(B), 1)} MiB | ${errs(B)} | ${f(bg(B), 2)} |`
  );
}
out.push("");
out.push(
  "CPU ms/req = the server process's utime+stime (all threads) during the run ÷ requests. Peak RSS = " +
    "highest VmRSS sampled every 200 ms during the run. errors = non-2xx answers + socket errors. bg load = CPU " +
    "that other processes used during the run (machine busy − app − wrk), in cores: well above 0 means the run " +
    "was disturbed. wrk and the app share the same cores; latency is closed-loop (coordinated omission)."
);
const writeRows = results.rust.filter(r => r.scenario === "write");
if (writeRows.length) {
  out.push(
    `Rust write: ${writeRows.map(r => `c=${r.conns}: ${r.wrk.conflicts} conflicts (409), ${r.wrk.unattributed} unattributed answers`).join("; ")}.`
  );
}
out.push("");

// ---------------------------------------------------------------- cold start and memory
out.push("| | Rust | ACE | bare | ACE ÷ Rust |");
out.push("|---|---:|---:|---:|---:|");
const cs = a => (cold[a] ? cold[a].median_ms : null);
out.push(`| cold start, median ms (spawn → first 200 /atlassian-connect.json, fresh DB) | ${f(cs("rust"), 1)} | ${f(cs("ace"), 1)} | ${f(cs("bare"), 1)} | ${ratio(cs("ace"), cs("rust"))} |`);
const cr = a => (cold[a] ? `${cold[a].min_ms}–${cold[a].max_ms}` : "–");
out.push(`| cold start, min–max ms | ${cr("rust")} | ${cr("ace")} | ${cr("bare")} | |`);
const m = (a, k) => (mem[a] ? mem[a][k] / 1024 : null);
for (const [k, label] of [
  ["ready_kb", "RSS just after ready, MiB"],
  ["idle_kb", "RSS idle after install + seeding, MiB"],
  ["after_load_kb", "RSS idle after the load runs, MiB"],
  ["hwm_kb", "peak RSS (VmHWM), MiB"]
]) {
  out.push(`| ${label} | ${f(m("rust", k), 1)} | ${f(m("ace", k), 1)} | ${f(m("bare", k), 1)} | ${ratio(m("ace", k), m("rust", k))} |`);
}
const th = (a, k) => (mem[a] ? mem[a][k] : "–");
out.push(`| threads idle / after load | ${th("rust", "threads_idle")} / ${th("rust", "threads_after")} | ${th("ace", "threads_idle")} / ${th("ace", "threads_after")} | ${th("bare", "threads_idle")} / ${th("bare", "threads_after")} | |`);
out.push("");

// ---------------------------------------------------------------- targets
const at16 = (a, s) => row(a, s, 16);
const tgt = [];
const check = (name, value, ok, shown) => tgt.push(`| ${name} | ${shown} | ${value == null ? "not measured" : ok ? "met" : "**missed**"} |`);
{
  const R = at16("rust", "read"), A = at16("ace", "read"), B = at16("bare", "read");
  const x = R && A ? rps(R) / rps(A) : null;
  check("read req/s ≥ 20× ACE", x, x >= 20, x == null ? "–" : `${x.toFixed(1)}×`);
  const y = R && A ? p99(A) / p99(R) : null;
  check("read p99 ≤ 1/10 of ACE", y, y >= 10, y == null ? "–" : `ACE p99 = ${y.toFixed(1)}× Rust p99`);
  const z = R && B ? rps(R) / rps(B) : null;
  check("read req/s ≥ 0.5× bare axum", z, z >= 0.5, z == null ? "–" : `${z.toFixed(2)}×`);
}
for (const [s, n] of [["write", 10], ["page", 10]]) {
  const R = at16("rust", s), A = at16("ace", s);
  const x = R && A ? rps(R) / rps(A) : null;
  check(`${s} req/s ≥ ${n}× ACE`, x, x >= n, x == null ? "–" : `${x.toFixed(1)}×`);
}
for (const s of ["read", "write", "page"]) {
  const R = at16("rust", s), A = at16("ace", s);
  const x = R && A ? cpu(A) / cpu(R) : null;
  check(`${s}: CPU/request ≤ 1/20 of ACE`, x, x >= 20, x == null ? "–" : `ACE uses ${x.toFixed(1)}× Rust's CPU per request`);
}
{
  const peak = a => {
    const xs = results[a].filter(r => r.conns === 16).map(r => r.rss_peak_kb);
    return xs.length ? Math.max(...xs) : null;
  };
  const x = peak("rust") && peak("ace") ? peak("ace") / peak("rust") : null;
  check("peak RSS during the 16-connection runs ≤ 1/5 of ACE", x, x >= 5, x == null ? "–" : `${(peak("rust") / 1024).toFixed(1)} vs ${(peak("ace") / 1024).toFixed(1)} MiB (ACE ${x.toFixed(1)}×)`);
  const hwm = a => (mem[a] ? mem[a].hwm_kb : null);
  const h = hwm("rust") && hwm("ace") ? hwm("ace") / hwm("rust") : null;
  check("peak RSS over the whole run (VmHWM, includes serving /pkg) ≤ 1/5 of ACE", h, h >= 5, h == null ? "–" : `${(hwm("rust") / 1024).toFixed(1)} vs ${(hwm("ace") / 1024).toFixed(1)} MiB (ACE ${h.toFixed(1)}×)`);
  const y = cs("rust") && cs("ace") ? cs("ace") / cs("rust") : null;
  check("cold start ≤ 1/10 of ACE", y, y >= 10, y == null ? "–" : `${cs("rust")} vs ${cs("ace")} ms (ACE ${y.toFixed(1)}×)`);
}
if (weight) {
  const first = weight.files.filter(w => !w.file.endsWith(".d.ts"));
  const br = first.reduce((n, w) => n + w.brotli, 0);
  check("first-load weight (wasm+JS+CSS) ≤ 150 KB brotli", br, br <= 150 * 1000, `${(br / 1000).toFixed(1)} kB (${kib(br)} KiB) brotli q11`);
}
if (forgeWeight) {
  const br = forgeWeight.total.brotli;
  check("Forge Custom UI first load (wasm+JS+CSS) ≤ 150 KB brotli", br, br <= 150 * 1000, `${(br / 1000).toFixed(1)} kB (${kib(br)} KiB) brotli q11`);
}
{
  // Forge Remote (issue 14): a remembered FIT skips RSA as a remembered context token skips HMAC,
  // so the FIT read should cost about what the Connect read costs (same process, same run).
  const fitRows = conns.filter(c => row("rust", "fit-read", c) && row("rust", "read", c));
  for (const c of fitRows) {
    const F = row("rust", "fit-read", c), C = row("rust", "read", c);
    const x = cpu(F) / cpu(C);
    check(`fit-read (c=${c}): CPU/request ≤ 2× the Connect read`, x, x <= 2, `${x.toFixed(2)}× (${f(cpu(F), 3)} vs ${f(cpu(C), 3)} ms/req)`);
  }
}
out.push("### Targets (16 connections)");
out.push("");
out.push("| target | measured | |");
out.push("|---|---|---|");
out.push(...tgt);
out.push("");
{
  const fitRows = conns.filter(c => row("rust", "fit-read", c) && row("rust", "read", c));
  if (fitRows.length) {
    out.push("### Forge FIT read vs Connect read (Rust, same process, same run)");
    out.push("");
    out.push("| conns | FIT req/s | Connect req/s | FIT ÷ Connect req/s | FIT CPU ms/req | Connect CPU ms/req | FIT ÷ Connect CPU/req | FIT p50 / p99 ms | Connect p50 / p99 ms | errors F / C | bg load F / C |");
    out.push("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (const c of fitRows) {
      const F = row("rust", "fit-read", c), C = row("rust", "read", c);
      out.push(
        `| ${c} | ${f(rps(F))} | ${f(rps(C))} | ${ratio(rps(F), rps(C), 2)} | ${f(cpu(F), 3)} | ${f(cpu(C), 3)} | ${ratio(cpu(F), cpu(C), 2)} | ` +
          `${f(p50(F), 2)} / ${f(p99(F), 2)} | ${f(p50(C), 2)} / ${f(p99(C), 2)} | ${errs(F)} / ${errs(C)} | ${f(bg(F), 2)} / ${f(bg(C), 2)} |`
      );
    }
    out.push("");
    out.push(
      `Both reads: ${meta.users} users, one token per user rotated by wrk, tokens minted just before each run ` +
        "(each token verified once — HMAC or RSA — then remembered); target: FIT CPU/request ≤ 2× the Connect read."
    );
    out.push("");
  }
}

// ---------------------------------------------------------------- client
if (weight) {
  out.push("### Client weight (target/site/pkg, first load)");
  out.push("");
  const served = weight.files.some(w => w.served_br !== undefined);
  out.push(`| file | raw KiB | gzip -9 KiB | brotli q11 KiB |${served ? " served with Accept-Encoding: br, KiB | served with gzip, KiB |" : ""}`);
  out.push(`|---|---:|---:|---:|${served ? "---:|---:|" : ""}`);
  for (const w of weight.files) {
    out.push(
      `| ${w.file} | ${kib(w.raw)} | ${kib(w.gzip)} | ${kib(w.brotli)} |` +
        (served ? ` ${kib(w.served_br)} (${w.served_br_encoding}) | ${kib(w.served_gzip)} (${w.served_gzip_encoding}) |` : "")
    );
  }
  const t = weight.total;
  out.push(`| **total** | ${kib(t.raw)} | ${kib(t.gzip)} | ${kib(t.brotli)} |${served ? ` ${kib(t.served_br)} | ${kib(t.served_gzip)} |` : ""}`);
  out.push("");
}
if (forgeWeight) {
  out.push("### Forge Custom UI weight (scripts/forge-ui.sh, first load; plus index.html, under 0.3 KiB)");
  out.push("");
  out.push("| file | raw KiB | gzip -9 KiB | brotli q11 KiB |");
  out.push("|---|---:|---:|---:|");
  for (const w of forgeWeight.files) out.push(`| ${w.file} | ${kib(w.raw)} | ${kib(w.gzip)} | ${kib(w.brotli)} |`);
  const t = forgeWeight.total;
  out.push(`| **total** | ${kib(t.raw)} | ${kib(t.gzip)} | ${kib(t.brotli)} |`);
  out.push("");
}
if (hyd) {
  out.push(`### Time to hydrated (headless Chromium ${hyd.chromium}, ${hyd.trials} cold loads, fresh context each)`);
  out.push("");
  out.push("| ms from navigation start | median | min | max | first load |");
  out.push("|---|---:|---:|---:|---:|");
  const names = {
    ttfb: "first byte of the page",
    html_done: "page HTML received",
    fcp: "first contentful paint",
    dom_content_loaded: "DOMContentLoaded done",
    load: "load event done",
    hydrated: "hydrated (`html[data-hydrated]`)",
    interactive: "interactive (a form control enabled)"
  };
  for (const [k, label] of Object.entries(names)) {
    const v = hyd.summary[k];
    if (v) out.push(`| ${label} | ${v.median} | ${v.min} | ${v.max} | ${v.first} |`);
  }
  out.push("");
  const res = (hyd.resources || []).map(r => `${r.name} ${kib(r.transfer)} KiB on the wire (${kib(r.decoded)} KiB decoded)`);
  out.push(`Page HTML ${kib(hyd.html_bytes)} KiB. Resources of the last load: ${res.join("; ") || "–"}.` +
    (hyd.page_errors && hyd.page_errors.length ? ` Page errors: ${hyd.page_errors.join("; ")}` : " No page errors."));
  out.push("");
}
console.log(out.join("\n"));
