# shellcheck shell=bash
# The scenarios: the tokens and request files each one needs (minted afresh before every run), a
# bounded wrk run of one scenario, and the smoke checks that an app answers them correctly
# (valid, missing and forged tokens, a stale save, the page, a tampered query).

# Fresh tokens before each run (15-minute tokens; a long run outlives them).
mint() {
  node "$BENCH/tools/connect.js" tokens --tenant "$DIR/tenant.json" --users "$USERS" --out "$DIR/tokens.txt"
  [ "$LABEL" = bare ] && return 0
  node "$BENCH/tools/connect.js" pages --tenant "$DIR/tenant.json" --users "$PAGE_USERS" --out "$DIR/pages.txt"
  mint_fits
}

# Forge invocation tokens, one per user, like tokens.txt (FIT_LIFETIME s: mint just before use).
mint_fits() {
  [ "$LABEL" = rust ] && forge_on || return 0
  node "$BENCH/tools/forge.js" tokens --forge "$DIR/forge.json" --users "$USERS" --lifetime "$FIT_LIFETIME" \
    --out "$DIR/fits.txt"
}

# "token revision" per user for the write scenario: the Rust app's current revisions (every
# save must name the revision it edits); ACE has none. Run before (never inside) a timed run.
write_state() {
  if [ "$LABEL" = rust ]; then
    node "$BENCH/tools/connect.js" sync --app "$BASE" --tokens "$DIR/tokens.txt" --out "$DIR/state.txt"
  else
    awk '{print $1, 0}' "$DIR/tokens.txt" >"$DIR/state.txt"
  fi
}

# What scenario $1 needs before a run: fresh tokens, and for the write the current revisions.
prepare_scenario() {
  mint
  [ "$1" = write ] && write_state
  return 0
}

run_wrk() { # scenario conns seconds outfile
  local s=$1 c=$2 secs=$3 out=$4 url file
  case $s in
    read) url=$BASE/api/preferences file=$DIR/tokens.txt ;;
    fit-read) url=$BASE/api/preferences file=$DIR/fits.txt ;;
    write) url=$BASE/api/preferences file=$DIR/state.txt ;;
    page) url=$BASE/preferences file=$DIR/pages.txt ;;
    *) die "unknown scenario $s" ;;
  esac
  timeout $((secs + 30)) wrk -t"$WRK_THREADS" -c"$c" -d"${secs}s" --latency -s "$BENCH/wrk/bench.lua" \
    "$url" -- "$s" "$file" "$LABEL" "$WRK_THREADS" >"$out"
}

code() { curl -s -o "$DIR/last-body" -w '%{http_code}' "$@"; }
expect() { # CODE DESC curl-args...
  local want=$1 desc=$2 got
  shift 2
  got=$(code "$@")
  [ "$got" = "$want" ] || die "$LABEL: $desc: expected $want, got $got ($(head -c 300 "$DIR/last-body"))"
  log "$LABEL ok  $desc -> $got"
}

smoke() {
  local token path
  token=$(head -1 "$DIR/tokens.txt")
  path=$(head -1 "$DIR/pages.txt")
  expect 200 "GET /api/preferences (context token)" -H "Authorization: JWT $token" "$BASE/api/preferences"
  grep -q '"default_space_key":"BU0"' "$DIR/last-body" || die "$LABEL: user 0 does not read back its seeded row: $(head -c 300 "$DIR/last-body")"
  expect 401 "GET /api/preferences (no token)" "$BASE/api/preferences"
  local bad
  bad=$(code -H "Authorization: JWT ${token%?}A" "$BASE/api/preferences")
  [ "$bad" = 200 ] && bad=$(code -H "Authorization: JWT ${token%?}B" "$BASE/api/preferences")
  case "$bad" in 4??) log "$LABEL ok  GET /api/preferences (bad signature) -> $bad" ;; *) die "$LABEL: bad signature -> $bad" ;; esac
  if [ "$LABEL" = rust ]; then
    expect 409 "POST /api/preferences (stale base_revision)" -X POST -H "Authorization: JWT $token" \
      -H 'Content-Type: application/json' \
      -d '{"base_revision":0,"preferences":{"theme":"dark","locale":"en-GB","date_format":"long","email_digest":"weekly","default_space_key":"BU0","favourite_labels":[],"items_per_page":25}}' \
      "$BASE/api/preferences"
  fi
  expect 200 "GET /preferences?jwt= (page, computed qsh)" "$BASE$path"
  grep -Eq 'name="token" content="ey' "$DIR/last-body" || die "$LABEL: the page has no <meta name=token>"
  cp "$DIR/last-body" "$DIR/page.html"
  expect 401 "GET /preferences (tampered query: qsh mismatch)" "$BASE${path/lic=none/lic=active}"
  [ "$LABEL" = rust ] && forge_on || return 0
  local fit
  fit=$(head -1 "$DIR/fits.txt")
  expect 200 "GET /api/preferences (Forge invocation token)" -H "Authorization: Bearer $fit" "$BASE/api/preferences"
  grep -q '"default_space_key":"BU0"' "$DIR/last-body" || die "$LABEL: Forge user 0 does not read back its seeded row: $(head -c 300 "$DIR/last-body")"
  bad=$(code -H "Authorization: Bearer ${fit%?}A" "$BASE/api/preferences")
  [ "$bad" = 200 ] && bad=$(code -H "Authorization: Bearer ${fit%?}B" "$BASE/api/preferences")
  case "$bad" in 401) log "$LABEL ok  GET /api/preferences (FIT, bad signature) -> $bad" ;; *) die "$LABEL: FIT with a bad signature -> $bad" ;; esac
}
