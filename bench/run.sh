#!/usr/bin/env bash
# The benchmark, one command (docs/BENCHMARKS.md): builds the release server and the bare axum
# baseline, then, for the Rust app, the ACE reference app and the bare baseline in turn, on
# loopback only: cold start (spawn -> first 200 on /atlassian-connect.json, fresh database),
# start with a fresh database, a real signed install (RS256, key served by a throwaway key
# server on 127.0.0.1), seeding one row per user, and bounded wrk runs (every run is DURATION
# seconds) of: read (GET /api/preferences, context token, distinct users), write (the save,
# valid bodies, one user per request in flight) and page (GET /preferences?...&jwt=..., SSR),
# and, when SCENARIOS names it, fit-read (the read with `Authorization: Bearer <Forge invocation
# token>`, Rust only: Forge on, its JWKS served once by a throwaway server on 127.0.0.1),
# at each of CONNS connections, recording req/s, latency, the server's CPU per request
# (/proc/PID/stat) and peak RSS (/proc/PID/status). Then the page's client weight and, in
# headless Chromium, its time to hydrated. Prints one markdown table with ratios.
#
#   bench/run.sh
#   DURATION=5 CONNS="1 16" bench/run.sh        # shorter
#   APPS="rust bare" SKIP_BUILD=1 bench/run.sh  # without ACE, without building
#   PAGE_CACHE_MIB=0 APPS=rust SCENARIOS=page bench/run.sh  # every page load rendered (no page cache)
#   APPS=rust SCENARIOS="read fit-read" bench/run.sh  # Forge (FIT) read beside the Connect read
#   METRICS_ADDR=127.0.0.1:3799 APPS=rust SCENARIOS=read bench/run.sh  # metrics on (the server inherits the environment)
#
# Knobs (environment): DURATION=10 CONNS="1 16 64" WARMUP=3 USERS=256 PAGE_USERS=64
#   COLD_TRIALS=5 HYDRATION_TRIALS=10 WRK_THREADS=1 APPS="rust ace bare"
#   SCENARIOS="read write page" (also: fit-read) FIT_LIFETIME=280 SKIP_BUILD=0 QUIET_WAIT=0 (wait up to this many seconds before
#   each run until other processes use < QUIET_CORES=0.25 cores) RUST_PORT=3710 ACE_PORT=3711
#   BARE_PORT=3712 KEYS_PORT=3713 PROFILE="" (e.g. "read page": after the Rust runs, one more
#   run per scenario at 16 connections under `perf record`, summarised in rust/profile-*.txt;
#   PERF_CALLGRAPH=dwarf PERF_FREQ=499 for call stacks through the release binary) ACE_SRC=../shared/bench/ace (read-only; copied to
#   ACE_DIR=/tmp/ace-bench-src, where `npm ci` runs once) BENCH_OUT=target/bench
# Raw results: $BENCH_OUT/run-<date>/ (summary.md, <app>/results.jsonl, wrk outputs, app logs).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BENCH=$ROOT/bench

DURATION=${DURATION:-10}
CONNS=${CONNS:-"1 16 64"}
WARMUP=${WARMUP:-3}
USERS=${USERS:-256}
PAGE_USERS=${PAGE_USERS:-64}
COLD_TRIALS=${COLD_TRIALS:-5}
HYDRATION_TRIALS=${HYDRATION_TRIALS:-10}
WRK_THREADS=${WRK_THREADS:-1}
APPS=${APPS:-"rust ace bare"}
SCENARIOS=${SCENARIOS:-"read write page"}
FIT_LIFETIME=${FIT_LIFETIME:-280}
SKIP_BUILD=${SKIP_BUILD:-0}
PROFILE=${PROFILE:-}
QUIET_WAIT=${QUIET_WAIT:-0}
QUIET_CORES=${QUIET_CORES:-0.25}
RUST_PORT=${RUST_PORT:-3710}
ACE_PORT=${ACE_PORT:-3711}
BARE_PORT=${BARE_PORT:-3712}
KEYS_PORT=${KEYS_PORT:-3713}
ACE_SRC=${ACE_SRC:-$ROOT/../shared/bench/ace}
ACE_DIR=${ACE_DIR:-/tmp/ace-bench-src}
BARE_TARGET_DIR=${BARE_TARGET_DIR:-$ROOT/target/bench-bare}
BENCH_OUT=${BENCH_OUT:-$ROOT/target/bench}
RUST_BIN=$ROOT/target/release/server
BARE_BIN=$BARE_TARGET_DIR/release/bench-bare
CLK_TCK=$(getconf CLK_TCK)

RUN="$BENCH_OUT/run-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$RUN"

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }
has_app() { case " $APPS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
has_scenario() { case " $SCENARIOS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# ---------------------------------------------------------------- cleanup: everything we started
APP_PID=""
SAMPLER_PID=""
stop_pid() { # pid: SIGTERM, up to 5 s, then SIGKILL
  local pid=$1
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  [ -n "$SAMPLER_PID" ] && stop_pid "$SAMPLER_PID"
  [ -n "$APP_PID" ] && stop_pid "$APP_PID"
  SAMPLER_PID=""
  APP_PID=""
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- preflight
for tool in wrk node curl cargo; do
  command -v "$tool" >/dev/null || die "$tool not found (apt-get install -y wrk; see docs/BENCHMARKS.md)"
done
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$RUST_PORT" "$ACE_PORT" "$BARE_PORT" "$KEYS_PORT"; do
  port_busy "$p" && die "something already listens on 127.0.0.1:$p (set RUST_PORT/ACE_PORT/BARE_PORT/KEYS_PORT)"
done
for s in $SCENARIOS; do
  case $s in read | write | page | fit-read) ;; *) die "unknown scenario $s (SCENARIOS: read write page fit-read)" ;; esac
done
# Forge (fit-read): the server runs with Forge on for the whole Rust run (Connect scenarios too,
# so the two reads are measured against the same process). FITs are minted just before each run
# and must outlive it: the server refuses a lifetime (exp - iat) above 300 s.
FORGE_ON=0
if has_scenario fit-read && has_app rust; then
  FORGE_ON=1
  [ "$FIT_LIFETIME" -le 300 ] || die "FIT_LIFETIME=$FIT_LIFETIME: the server accepts at most 300 s"
  [ $((DURATION + WARMUP + 30)) -lt "$FIT_LIFETIME" ] \
    || die "DURATION=$DURATION is too long for FITs of FIT_LIFETIME=$FIT_LIFETIME s (minted before each run)"
fi
FORGE_APP_UUID=b3c1e0de-0000-4000-8000-00000000be0c
FORGE_APP_ID=ari:cloud:ecosystem::app/$FORGE_APP_UUID
FORGE_ENV_ID=ari:cloud:ecosystem::environment/$FORGE_APP_UUID/b3c1e0de-0000-4000-8000-0000000000e1
[ -f "$ROOT/.env" ] && log "WARNING: $ROOT/.env exists; the Rust server reads it (variables set here win)"

# ---------------------------------------------------------------- build
if [ "$SKIP_BUILD" != 1 ]; then
  if has_app rust; then
    [ -x "$ROOT/tools/node_modules/.bin/wasm-opt" ] || die "tools/node_modules is missing: run scripts/setup.sh once"
    log "building the release server: cargo leptos build --release (log: $RUN/build.log)"
    PATH="$ROOT/tools/node_modules/.bin:$PATH" cargo leptos build --release --precompress >"$RUN/build.log" 2>&1 \
      || { tail -30 "$RUN/build.log" >&2; die "release build failed"; }
    log "building the Forge Custom UI: scripts/forge-ui.sh (log: $RUN/build.log)"
    OUT="$RUN/forge-ui" "$ROOT/scripts/forge-ui.sh" >>"$RUN/build.log" 2>&1 \
      || { tail -30 "$RUN/build.log" >&2; die "Forge Custom UI build failed"; }
  fi
  if has_app bare; then
    log "building the bare baseline (bench/bare)"
    cargo build --release --manifest-path "$BENCH/bare/Cargo.toml" --target-dir "$BARE_TARGET_DIR" \
      >>"$RUN/build.log" 2>&1 || { tail -30 "$RUN/build.log" >&2; die "bare build failed"; }
  fi
fi
if has_app rust; then
  [ -x "$RUST_BIN" ] || die "$RUST_BIN missing (run without SKIP_BUILD=1)"
  # A private copy of the binary and of target/site: a development build in the same tree
  # (cargo leptos watch/build) rewrites target/site/pkg with a debug wasm at any time.
  cp "$RUST_BIN" "$RUN/server"
  mkdir -p "$RUN/site"
  cp -r "$ROOT/target/site/." "$RUN/site/"
  RUST_BIN=$RUN/server
  wasm_bytes=$(cat "$RUN"/site/pkg/*.wasm | wc -c)
  [ "$wasm_bytes" -lt 3000000 ] || log "WARNING: the wasm is $wasm_bytes bytes: a debug build? (cargo leptos build --release writes ~0.7 MB)"
fi
if has_app bare; then [ -x "$BARE_BIN" ] || die "$BARE_BIN missing (run without SKIP_BUILD=1)"; fi

# ---------------------------------------------------------------- ACE: a private copy, npm ci once
if has_app ace; then
  [ -f "$ACE_SRC/app.js" ] || die "the ACE reference app is not at $ACE_SRC (set ACE_SRC, or APPS without ace)"
  mkdir -p "$ACE_DIR"
  # ACE's code is copied at run time, never kept in this repository.
  (cd "$ACE_SRC" && tar --exclude=./node_modules -cf - .) | (cd "$ACE_DIR" && tar -xf -)
  chmod -R u+w "$ACE_DIR"
  if ! cmp -s "$ACE_DIR/package-lock.json" "$ACE_DIR/node_modules/.bench-lock-stamp" 2>/dev/null; then
    log "npm ci in $ACE_DIR (compiles sqlite3 from source, ~80 s; log: $RUN/ace-npm.log)"
    (cd "$ACE_DIR" && npm ci --no-audit --no-fund) >"$RUN/ace-npm.log" 2>&1 \
      || { tail -30 "$RUN/ace-npm.log" >&2; die "npm ci failed in $ACE_DIR"; }
    cp "$ACE_DIR/package-lock.json" "$ACE_DIR/node_modules/.bench-lock-stamp"
  fi
fi

# ---------------------------------------------------------------- noisy machine
machine_busy_ticks() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
busy_cores_2s() {
  local a b
  a=$(machine_busy_ticks); sleep 2; b=$(machine_busy_ticks)
  awk -v a="$a" -v b="$b" -v t="$CLK_TCK" 'BEGIN{printf "%.2f", (b - a) / t / 2}'
}
wait_quiet() { # with QUIET_WAIT>0: wait (at most QUIET_WAIT s) until others use < QUIET_CORES
  [ "$QUIET_WAIT" -gt 0 ] || return 0
  local deadline=$((SECONDS + QUIET_WAIT)) bc
  while :; do
    bc=$(busy_cores_2s)
    awk -v v="$bc" -v q="$QUIET_CORES" 'BEGIN{exit !(v < q)}' && return 0
    if [ $SECONDS -ge $deadline ]; then log "still busy ($bc cores) after ${QUIET_WAIT}s; running anyway"; return 0; fi
    log "machine busy ($bc cores used by other processes); waiting"
    sleep 5
  done
}

# ---------------------------------------------------------------- metadata
ace_pkg() { (cd "$ACE_DIR" && node -p "require('$1/package.json').version") 2>/dev/null || echo "-"; }
{
  printf '{\n'
  printf '  "date": "%s", "git_commit": "%s",\n' "$(date -Is)" "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo -)"
  printf '  "nproc": %s, "cpu": "%s", "mem_total_kb": %s, "kernel": "%s",\n' "$(nproc)" \
    "$(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)" "$(awk '/^MemTotal:/{print $2}' /proc/meminfo)" "$(uname -r)"
  printf '  "rustc": "%s", "cargo_leptos": "%s",\n' "$(rustc --version)" "$(cargo leptos --version 2>/dev/null | head -1)"
  printf '  "node": "%s", "wrk": "%s",\n' "$(node --version)" "$(wrk --version 2>&1 | head -1 | awk '{print $2}')"
  printf '  "ace": "%s", "express": "%s", "sequelize": "%s", "sqlite3_npm": "%s",\n' \
    "$(ace_pkg atlassian-connect-express)" "$(ace_pkg express)" "$(ace_pkg sequelize)" "$(ace_pkg sqlite3)"
  printf '  "apps": "%s", "scenarios": "%s", "conns": "%s", "duration_s": %s, "warmup_s": %s,\n' \
    "$APPS" "$SCENARIOS" "$CONNS" "$DURATION" "$WARMUP"
  printf '  "users": %s, "page_users": %s, "wrk_threads": %s, "loadavg_start": "%s"\n' \
    "$USERS" "$PAGE_USERS" "$WRK_THREADS" "$(cut -d' ' -f1-3 /proc/loadavg)"
  printf '}\n'
} >"$RUN/meta.json"
log "run dir $RUN; apps: $APPS; loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
awk '{exit !($1 >= 0.5)}' /proc/loadavg && log "WARNING: loadavg $(cut -d' ' -f1-3 /proc/loadavg): the machine is busy, numbers will be noisy"

# ---------------------------------------------------------------- per-app plumbing
TENANT_KEY="bench:$(head -c 32 /dev/urandom | base64)"
app_port() { case $1 in rust) echo "$RUST_PORT" ;; ace) echo "$ACE_PORT" ;; bare) echo "$BARE_PORT" ;; esac; }

# Forge Remote on (fit-read): the JWKS on the throwaway key server's port (served only while
# `forge.js setup` runs; the server keeps the key it fetched).
forge_env() {
  [ "$FORGE_ON" = 1 ] || return 0
  printf '%s ' "FORGE_APP_ID=$FORGE_APP_ID" "FORGE_JWKS_URL=http://127.0.0.1:$KEYS_PORT/forge/jwks.json" \
    "FORGE_ENVIRONMENT_IDS=$FORGE_ENV_ID"
}
# The command line of app $1 with its database at $2 (env + program), for `env`.
app_cmd() {
  case $1 in
    rust) echo "env APP_ENV=production LEPTOS_SITE_ADDR=127.0.0.1:$RUST_PORT APP_BASE_URL=http://127.0.0.1:$RUST_PORT" \
      "DATABASE_URL=sqlite://$2 TENANT_SECRET_KEYS=$TENANT_KEY CONNECT_INSTALL_KEYS_URL=http://127.0.0.1:$KEYS_PORT" \
      "CONNECT_ALL_JS_URL=http://127.0.0.1:$KEYS_PORT/all.js LEPTOS_SITE_ROOT=$RUN/site" \
      "$(forge_env)RUST_LOG=info,sqlx=warn,tower_http=info $RUST_BIN" ;;
    ace) echo "env NODE_ENV=production PORT=$ACE_PORT ACE_BENCH_DB=$2 CONNECT_KEYS_CDN_URL=http://127.0.0.1:$KEYS_PORT node app.js" ;;
    bare) echo "env PORT=$BARE_PORT $BARE_BIN" ;;
  esac
}
app_cwd() { case $1 in ace) echo "$ACE_DIR" ;; *) echo "$ROOT" ;; esac; }

rss_kb() { awk '/^VmRSS:/{print $2}' "/proc/$APP_PID/status"; }
hwm_kb() { awk '/^VmHWM:/{print $2}' "/proc/$APP_PID/status"; }
threads() { awk '/^Threads:/{print $2}' "/proc/$APP_PID/status"; }
cpu_ticks() { sed 's/.*) //' "/proc/$APP_PID/stat" | awk '{print $12 + $13}'; }
rss_sampler() { # VmRSS (kB) every 200 ms into $1 until stopped
  while :; do
    awk '/^VmRSS:/{print $2}' "/proc/$APP_PID/status" 2>/dev/null >>"$1" || true
    sleep 0.2
  done
}
max_of() { awk '/^[0-9]+$/{if ($1 > m) m = $1} END{print m + 0}' "$1"; }

code() { curl -s -o "$DIR/last-body" -w '%{http_code}' "$@"; }
expect() { # CODE DESC curl-args...
  local want=$1 desc=$2 got
  shift 2
  got=$(code "$@")
  [ "$got" = "$want" ] || die "$LABEL: $desc: expected $want, got $got ($(head -c 300 "$DIR/last-body"))"
  log "$LABEL ok  $desc -> $got"
}

# Fresh tokens before each run (15-minute tokens; a long run outlives them).
mint() {
  node "$BENCH/tools/connect.js" tokens --tenant "$DIR/tenant.json" --users "$USERS" --out "$DIR/tokens.txt"
  [ "$LABEL" = bare ] && return 0
  node "$BENCH/tools/connect.js" pages --tenant "$DIR/tenant.json" --users "$PAGE_USERS" --out "$DIR/pages.txt"
  mint_fits
}
# Forge invocation tokens, one per user, like tokens.txt (FIT_LIFETIME s: mint just before use).
mint_fits() {
  [ "$LABEL" = rust ] && [ "$FORGE_ON" = 1 ] || return 0
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
  [ "$LABEL" = rust ] && [ "$FORGE_ON" = 1 ] || return 0
  local fit
  fit=$(head -1 "$DIR/fits.txt")
  expect 200 "GET /api/preferences (Forge invocation token)" -H "Authorization: Bearer $fit" "$BASE/api/preferences"
  grep -q '"default_space_key":"BU0"' "$DIR/last-body" || die "$LABEL: Forge user 0 does not read back its seeded row: $(head -c 300 "$DIR/last-body")"
  bad=$(code -H "Authorization: Bearer ${fit%?}A" "$BASE/api/preferences")
  [ "$bad" = 200 ] && bad=$(code -H "Authorization: Bearer ${fit%?}B" "$BASE/api/preferences")
  case "$bad" in 401) log "$LABEL ok  GET /api/preferences (FIT, bad signature) -> $bad" ;; *) die "$LABEL: FIT with a bad signature -> $bad" ;; esac
}

bench_app() {
  LABEL=$1
  DIR=$RUN/$LABEL
  BASE="http://127.0.0.1:$(app_port "$LABEL")"
  mkdir -p "$DIR"
  local cmd cwd scenarios sc
  cwd=$(app_cwd "$LABEL")
  scenarios=$SCENARIOS
  [ "$LABEL" = bare ] && scenarios="read"
  # ACE has no Forge path
  if [ "$LABEL" = ace ]; then
    scenarios=""
    for sc in $SCENARIOS; do [ "$sc" = fit-read ] || scenarios="$scenarios $sc"; done
  fi

  # cold start: spawn -> first 200 on /atlassian-connect.json, a fresh database each trial
  if [ "$COLD_TRIALS" -gt 0 ]; then
    log "$LABEL: cold start x$COLD_TRIALS"
    local dbv=() cold
    case $LABEL in
      rust) dbv=(--db-var DATABASE_URL --db-template "sqlite://$DIR/cold-%i.db") ;;
      ace) dbv=(--db-var ACE_BENCH_DB --db-template "$DIR/cold-%i.sqlite") ;;
    esac
    # shellcheck disable=SC2046
    cold=$(node "$BENCH/tools/coldstart.js" --port "$(app_port "$LABEL")" --trials "$COLD_TRIALS" --cwd "$cwd" \
      "${dbv[@]}" -- $(app_cmd "$LABEL" "$DIR/unused.db")) || die "$LABEL: cold start failed"
    echo "$cold" | sed -n 's/^COLDJSON //p' >"$DIR/coldstart.json"
    rm -f "$DIR"/cold-*
    log "$LABEL: cold start $(cat "$DIR/coldstart.json")"
  fi

  # start on a fresh database
  cmd=$(app_cmd "$LABEL" "$DIR/app.db")
  log "$LABEL: starting"
  # shellcheck disable=SC2086
  (cd "$cwd" && exec $cmd) >"$DIR/app.log" 2>&1 &
  APP_PID=$!
  for _ in $(seq 300); do
    [ "$(curl -s -o /dev/null --max-time 1 -w '%{http_code}' "$BASE/atlassian-connect.json")" = 200 ] && break
    kill -0 "$APP_PID" 2>/dev/null || die "$LABEL exited at start; see $DIR/app.log"
    sleep 0.1
  done
  curl -sf -o "$DIR/descriptor.json" "$BASE/atlassian-connect.json" || die "$LABEL: not ready after 30 s"
  sleep 1
  local rss_ready rss_idle threads_idle
  rss_ready=$(rss_kb)

  if [ "$LABEL" = bare ]; then
    node "$BENCH/tools/connect.js" tenant --out "$DIR/tenant.json"
    mint
  else
    node "$BENCH/tools/connect.js" install --app "$BASE" --keys-port "$KEYS_PORT" --out "$DIR/tenant.json" >&2 \
      || die "$LABEL: install failed; see $DIR/app.log"
    if [ "$LABEL" = rust ] && [ "$FORGE_ON" = 1 ]; then
      node "$BENCH/tools/forge.js" setup --app "$BASE" --keys-port "$KEYS_PORT" --app-id "$FORGE_APP_ID" \
        --env-id "$FORGE_ENV_ID" --out "$DIR/forge.json" >&2 || die "$LABEL: Forge setup failed; see $DIR/app.log"
    fi
    mint
    node "$BENCH/tools/connect.js" seed --app "$BASE" --tokens "$DIR/tokens.txt" --flavour "$LABEL" \
      --out "$DIR/state.txt" >&2 || die "$LABEL: seeding failed"
    if [ "$LABEL" = rust ] && [ "$FORGE_ON" = 1 ]; then
      node "$BENCH/tools/connect.js" seed --app "$BASE" --tokens "$DIR/fits.txt" --flavour rust --scheme Bearer \
        --out "$DIR/fit-state.txt" >&2 || die "$LABEL: seeding the Forge users failed"
    fi
    smoke
  fi
  sleep 2
  rss_idle=$(rss_kb)
  threads_idle=$(threads)

  local s c out cpu0 cpu1 busy0 busy1 wrk_cpu app_cpu other_cpu wrkjson
  for s in $scenarios; do
    mint
    [ "$s" = write ] && write_state
    log "$LABEL: warm-up $s ${WARMUP}s at 16 connections"
    run_wrk "$s" 16 "$WARMUP" "$DIR/warmup-$s.txt"
  done
  sleep 1
  : >"$DIR/results.jsonl"
  for s in $scenarios; do
    for c in $CONNS; do
      [ "$c" -lt "$WRK_THREADS" ] && continue
      out=$DIR/wrk-$s-c$c.txt
      mint
      [ "$s" = write ] && write_state
      wait_quiet
      # FITs live at most 300 s: mint them after the wait, just before the run
      [ "$s" = fit-read ] && mint_fits
      : >"$DIR/rss-$s-c$c"
      rss_sampler "$DIR/rss-$s-c$c" &
      SAMPLER_PID=$!
      cpu0=$(cpu_ticks)
      busy0=$(machine_busy_ticks)
      TIMEFORMAT='WRKTIME %3U %3S'
      { time run_wrk "$s" "$c" "$DURATION" "$out"; } 2>"$out.time"
      busy1=$(machine_busy_ticks)
      cpu1=$(cpu_ticks)
      stop_pid "$SAMPLER_PID"
      SAMPLER_PID=""
      wrk_cpu=$(awk '/^WRKTIME/{printf "%.2f", $2 + $3}' "$out.time")
      wrkjson=$(sed -n 's/^WRKJSON //p' "$out")
      [ -n "$wrkjson" ] || die "$LABEL: no WRKJSON in $out"
      app_cpu=$(awk -v a="$cpu0" -v b="$cpu1" -v t="$CLK_TCK" 'BEGIN{printf "%.2f", (b - a) / t}')
      # CPU used by everything else meanwhile (machine busy - app - wrk), in CPU-seconds
      other_cpu=$(awk -v a="$busy0" -v b="$busy1" -v t="$CLK_TCK" -v app="$app_cpu" -v w="$wrk_cpu" \
        'BEGIN{v = (b - a) / t - app - w; if (v < 0) v = 0; printf "%.2f", v}')
      printf '{"app":"%s","scenario":"%s","conns":%s,"cpu_s":%s,"wrk_cpu_s":%s,"other_cpu_s":%s,"rss_peak_kb":%s,"wrk":%s}\n' \
        "$LABEL" "$s" "$c" "$app_cpu" "$wrk_cpu" "$other_cpu" "$(max_of "$DIR/rss-$s-c$c")" "$wrkjson" >>"$DIR/results.jsonl"
      # shellcheck disable=SC2016 # a JavaScript template literal, not a shell expansion
      log "$LABEL $s c=$c: $(node -e 'const j=JSON.parse(process.argv[1]);console.log(`${Math.round(j.rps)} req/s, p50 ${(j.p50_us/1000).toFixed(2)} ms, p99 ${(j.p99_us/1000).toFixed(2)} ms, non-2xx ${j.err_status}`)' "$wrkjson"), app CPU ${app_cpu}s"
      sleep 1
    done
  done
  sleep 2

  if [ "$LABEL" = rust ] && [ -n "$PROFILE" ]; then
    command -v perf >/dev/null || die "PROFILE needs perf (apt-get install -y linux-perf)"
    for s in $PROFILE; do
      log "rust: profiling $s for ${DURATION}s at 16 connections (perf, not part of the table)"
      mint
      [ "$s" = write ] && write_state
      perf record -e cpu-clock -F "${PERF_FREQ:-1999}" --call-graph "${PERF_CALLGRAPH:-fp}" -p "$APP_PID" -o "$DIR/perf-$s.data" -- sleep "$DURATION" \
        >"$DIR/perf-$s.log" 2>&1 &
      local perf_pid=$!
      run_wrk "$s" 16 "$DURATION" "$DIR/wrk-profile-$s.txt"
      wait "$perf_pid" || true
      (
        set +o pipefail
        report() { perf report -i "$DIR/perf-$s.data" --no-children -g none --stdio "$@" 2>/dev/null | grep -v -e '^$' -e '^#'; }
        echo "# perf: $s at 16 connections; self time by thread, by library, then by function"
        report --sort comm | head -12
        report --sort dso | head -12
        report --sort symbol --percent-limit 0.7 | head -60
        echo "# with children (inclusive), by function"
        perf report -i "$DIR/perf-$s.data" --children -g none --stdio --sort symbol --percent-limit 3 2>/dev/null \
          | grep -v -e '^$' -e '^#' | head -60
      ) >"$DIR/profile-$s.txt"
      log "rust: profile of $s in $DIR/profile-$s.txt"
    done
  fi

  if [ "$LABEL" = rust ]; then
    log "rust: client weight"
    node "$BENCH/tools/client-weight.js" --pkg "$RUN/site/pkg" --app "$BASE" \
      | sed -n 's/^WEIGHTJSON //p' >"$RUN/client-weight.json" || log "client weight failed"
    # The Forge Custom UI's files as Forge would serve them (its CDN compresses as it likes).
    forge_ui=$RUN/forge-ui
    [ -f "$forge_ui/index.html" ] || forge_ui=$ROOT/forge/static/preferences
    if [ -f "$forge_ui/index.html" ]; then
      log "rust: Forge Custom UI weight ($forge_ui)"
      node "$BENCH/tools/client-weight.js" --pkg "$forge_ui" \
        | sed -n 's/^WEIGHTJSON //p' >"$RUN/forge-weight.json" || log "Forge UI weight failed"
    else
      log "skipping the Forge Custom UI weight: run scripts/forge-ui.sh (or bench without SKIP_BUILD=1)"
    fi
    if [ "$HYDRATION_TRIALS" -gt 0 ]; then
      if [ -d "$ROOT/end2end/node_modules/playwright-core" ] && [ -x /usr/bin/chromium ]; then
        log "rust: time to hydrated in headless Chromium x$HYDRATION_TRIALS"
        mint
        node "$BENCH/tools/hydration.js" --url "$BASE$(head -1 "$DIR/pages.txt")" --trials "$HYDRATION_TRIALS" \
          --playwright "$ROOT/end2end/node_modules/playwright-core" \
          | sed -n 's/^HYDRATIONJSON //p' >"$RUN/hydration.json" || log "hydration timing failed"
      else
        log "skipping hydration timing: needs end2end/node_modules (scripts/setup.sh) and /usr/bin/chromium"
      fi
    fi
  fi

  printf '{"ready_kb":%s,"idle_kb":%s,"after_load_kb":%s,"hwm_kb":%s,"threads_idle":%s,"threads_after":%s}\n' \
    "$rss_ready" "$rss_idle" "$(rss_kb)" "$(hwm_kb)" "$threads_idle" "$(threads)" >"$DIR/memory.json"
  log "$LABEL: stopping"
  stop_pid "$APP_PID"
  APP_PID=""
  # The Rust server logs one JSON line per request (as deployed): keep the ends of a big log.
  if [ "$(stat -c %s "$DIR/app.log")" -gt 20000000 ]; then
    { head -n 200 "$DIR/app.log"; echo "... ($(wc -l <"$DIR/app.log") lines, trimmed by bench/run.sh) ..."; tail -n 200 "$DIR/app.log"; } \
      >"$DIR/app.log.trimmed" && mv "$DIR/app.log.trimmed" "$DIR/app.log"
  fi
}

for app in $APPS; do
  bench_app "$app"
done
sed -i "s/^}$/, \"loadavg_end\": \"$(cut -d' ' -f1-3 /proc/loadavg)\"\n}/" "$RUN/meta.json"

rm -f "$RUN/server" "$RUN"/*/perf-*.data.old
node "$BENCH/tools/summarize.js" "$RUN" | tee "$RUN/summary.md"
log "raw results: $RUN"
