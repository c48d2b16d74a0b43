#!/usr/bin/env node
"use strict";
// Client weight of the page: every wasm, JS and CSS file under the site's pkg folder, raw,
// gzip -9 and brotli q11 (what a static pre-compression would ship), and, with --app, the
// bytes the running server actually sends for each with `Accept-Encoding: br` and `gzip`.
// Prints one line: WEIGHTJSON {...} (bytes).
//
// usage: client-weight.js --pkg target/site/pkg [--app http://127.0.0.1:PORT]

const fs = require("fs");
const path = require("path");
const zlib = require("zlib");
const http = require("http");

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const PKG = arg("pkg", "target/site/pkg");
const APP = arg("app", null);

function walk(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap(e => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? walk(p) : [p];
  });
}

function served(rel, encoding) {
  return new Promise((resolve, reject) => {
    const req = http.get(`${APP}/pkg/${rel}`, { headers: { "accept-encoding": encoding } }, res => {
      let n = 0;
      res.on("data", c => (n += c.length));
      res.on("end", () =>
        res.statusCode === 200
          ? resolve({ bytes: n, encoding: res.headers["content-encoding"] || "identity" })
          : reject(new Error(`/pkg/${rel}: ${res.statusCode}`))
      );
    });
    req.on("error", reject);
  });
}

(async () => {
  const files = walk(PKG)
    .filter(f => /\.(wasm|js|css)$/.test(f))
    .sort();
  const out = { files: [], total: { raw: 0, gzip: 0, brotli: 0 } };
  for (const f of files) {
    const buf = fs.readFileSync(f);
    const rel = path.relative(PKG, f).split(path.sep).join("/");
    const row = {
      file: rel,
      kind: path.extname(f).slice(1),
      raw: buf.length,
      gzip: zlib.gzipSync(buf, { level: 9 }).length,
      brotli: zlib.brotliCompressSync(buf, {
        params: {
          [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
          [zlib.constants.BROTLI_PARAM_SIZE_HINT]: buf.length
        }
      }).length
    };
    if (APP) {
      const br = await served(rel, "br");
      const gz = await served(rel, "gzip");
      row.served_br = br.bytes;
      row.served_br_encoding = br.encoding;
      row.served_gzip = gz.bytes;
      row.served_gzip_encoding = gz.encoding;
    }
    out.files.push(row);
    for (const k of ["raw", "gzip", "brotli", "served_br", "served_gzip"]) {
      if (row[k] !== undefined) out.total[k] = (out.total[k] || 0) + row[k];
    }
  }
  console.log("WEIGHTJSON " + JSON.stringify(out));
})().catch(err => {
  console.error(`client-weight: ${err.message}`);
  process.exit(1);
});
