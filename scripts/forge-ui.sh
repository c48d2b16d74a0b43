#!/usr/bin/env bash
# Builds the Forge Custom UI: the preferences page rendered in the browser (crate forge-ui, app
# with csr), as the static resource folder forge/manifest.yml names (forge/static/preferences):
#   index.html      the document (relative URLs only: Forge serves it under a path of its own)
#   bridge.js       the bridge shim with @forge/bridge, bundled by esbuild
#   boot.js, preferences.js, preferences_bg.wasm, snippets/   wasm-bindgen's web target
#   preferences.css style/main.css, minified
# Then `forge deploy` uploads the folder (README, Forge Custom UI). OUT= changes the folder.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"

OUT=${OUT:-forge/static/preferences}
WASM=target/wasm32-unknown-unknown/wasm-release/forge_ui.wasm
[ -x tools/node_modules/.bin/esbuild ] || (cd tools && npm ci --no-audit --no-fund)

cargo build -p forge-ui --lib --target wasm32-unknown-unknown --profile wasm-release --locked
rm -rf "$OUT"
mkdir -p "$OUT"
wasm-bindgen --target web --no-typescript --out-dir "$OUT" --out-name preferences "$WASM"
# The same wasm-opt passes as the Connect bundle (Cargo.toml, workspace.metadata.leptos).
wasm-opt -Oz --converge --low-memory-unused --enable-bulk-memory --enable-nontrapping-float-to-int \
  "$OUT/preferences_bg.wasm" -o "$OUT/preferences_bg.wasm"
# wasm-bindgen's glue is an ES module; minify it in place as cargo-leptos does for Connect's
# (its imports object names one snippet twice, identically: not worth a warning).
esbuild "$OUT/preferences.js" --minify --format=esm --target=es2020 --log-level=warning \
  --outfile="$OUT/preferences.js" --allow-overwrite \
  --log-override:duplicate-object-key=silent
esbuild forge-ui/js/bridge.js --bundle --minify --format=iife --target=es2020 \
  --log-level=warning --outfile="$OUT/bridge.js"
cp forge-ui/js/boot.js "$OUT/boot.js"
cp forge-ui/index.html "$OUT/index.html"
esbuild style/main.css --minify --log-level=warning --outfile="$OUT/preferences.css"
echo "forge-ui: built $OUT"
