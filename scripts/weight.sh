#!/usr/bin/env bash
# The page's first-load weight guard (run by scripts/test.sh after the release build). The
# browser loads the wasm, the JS glue, its snippets and the CSS from target/site/pkg, brotli-
# compressed as `cargo leptos build --release --precompress` wrote them (the server sends those
# .br files as they are). Each must fit its budget below, and all of them the total: bytes, not
# time, so the check is deterministic. A failure names the file that grew. The size tricks
# behind these numbers are listed in docs/BENCHMARKS.md ("What the weight guard protects"); raise
# a budget only on purpose.
# The Forge Custom UI bundle (scripts/forge-ui.sh) is checked the same way, below.
set -euo pipefail
cd "$(dirname "$0")/.."

TOTAL_BUDGET=150000 # bytes, brotli: the first-load target (docs/BENCHMARKS.md)
declare -A BUDGET=( # bytes, brotli, per file (snippets as one group), each just above its last measure
  [connect-prefs.wasm]=132300 # measured 132033 after the page split (docs/BENCHMARKS.md, first-load weight)
  [connect-prefs.js]=5450 # 5359
  [connect-prefs.css]=1400 # 1365
  [snippets]=400 # 365
)
PKG=${PKG:-target/site/pkg}

size() { stat -c %s "$1"; }
fail=0
total=0
check() { # name bytes
  local name=$1 bytes=$2
  total=$((total + bytes))
  if [ "$bytes" -gt "${BUDGET[$name]}" ]; then
    echo "weight: $name is $bytes bytes brotli, over its budget of ${BUDGET[$name]} (+$((bytes - BUDGET[$name])))" >&2
    fail=1
  fi
}

for file in connect-prefs.wasm connect-prefs.js connect-prefs.css; do
  [ -f "$PKG/$file.br" ] || { echo "weight: $PKG/$file.br is missing (run cargo leptos build --release --precompress)" >&2; exit 1; }
  check "$file" "$(size "$PKG/$file.br")"
done
snippets=0
while IFS= read -r -d '' f; do
  snippets=$((snippets + $(size "$f")))
done < <(find "$PKG/snippets" -name '*.js.br' -print0 2>/dev/null)
check snippets "$snippets"

if [ "$total" -gt "$TOTAL_BUDGET" ]; then
  echo "weight: the first load is $total bytes brotli, over the budget of $TOTAL_BUDGET" >&2
  fail=1
fi
echo "weight: first load $total bytes brotli (budget $TOTAL_BUDGET)"

# The Forge Custom UI (scripts/forge-ui.sh): every file of the resource folder is first-load
# (index.html, bridge shim, glue, snippets, wasm, CSS). Forge's CDN compresses as it likes, so
# this measures each file at brotli quality 11 (node's zlib, no brotli CLI needed).
FORGE_UI=${FORGE_UI:-forge/static/preferences}
FORGE_BUDGET=150000 # bytes, brotli: the same first-load target as the Connect page
declare -A FORGE_FILE_BUDGET=( # the big ones; everything else counts towards the total only
  [preferences_bg.wasm]=136000
  [preferences.js]=5600
  [bridge.js]=2000
  [preferences.css]=1400
)
if [ -f "$FORGE_UI/index.html" ]; then
  forge_total=0
  while read -r bytes file; do
    forge_total=$((forge_total + bytes))
    name=${file##*/}
    if [ -n "${FORGE_FILE_BUDGET[$name]:-}" ] && [ "$bytes" -gt "${FORGE_FILE_BUDGET[$name]}" ]; then
      echo "weight: Forge UI $name is $bytes bytes brotli, over its budget of ${FORGE_FILE_BUDGET[$name]} (+$((bytes - FORGE_FILE_BUDGET[$name])))" >&2
      fail=1
    fi
  done < <(node -e '
    const fs = require("fs"), path = require("path"), zlib = require("zlib");
    const q = { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } };
    const walk = (d) => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]);
    for (const f of walk(process.argv[1])) console.log(zlib.brotliCompressSync(fs.readFileSync(f), q).length, f);
  ' "$FORGE_UI")
  if [ "$forge_total" -gt "$FORGE_BUDGET" ]; then
    echo "weight: the Forge UI first load is $forge_total bytes brotli, over the budget of $FORGE_BUDGET" >&2
    fail=1
  fi
  echo "weight: Forge UI first load $forge_total bytes brotli (budget $FORGE_BUDGET)"
else
  echo "weight: $FORGE_UI/index.html is missing (run scripts/forge-ui.sh)" >&2
  fail=1
fi
exit "$fail"
