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
#   SCENARIOS="read write page" (also: fit-read) FIT_LIFETIME=280 SKIP_BUILD=0
#   QUIET_WAIT=0 (wait up to this many seconds before each run until other processes use
#   < QUIET_CORES=0.25 cores) RUST_PORT=3710 ACE_PORT=3711 BARE_PORT=3712 KEYS_PORT=3713
#   PROFILE="" (e.g. "read page": after the Rust runs, one more run per scenario at 16
#   connections under `perf record`, summarised in rust/profile-*.txt; PERF_CALLGRAPH=dwarf
#   PERF_FREQ=499 for call stacks through the release binary) ACE_SRC=../shared/bench/ace
#   (read-only; copied to ACE_DIR=/tmp/ace-bench-src, where `npm ci` runs once)
#   BENCH_OUT=target/bench RUST_BIN=target/release/server (the server binary to measure; with
#   SKIP_BUILD=1, e.g. a variant built elsewhere; it is served target/site's client files)
# Raw results: $BENCH_OUT/run-<date>/ (summary.md, <app>/results.jsonl, wrk outputs, app logs).
#
# The steps, one file per concern under bench/lib/: options.sh (knobs, preflight), process.sh
# (what we start, stopped on every exit), build.sh (the programs under test), apps.sh (starting
# each app, its tenant), scenarios.sh (tokens, wrk runs, smoke checks), measure.sh (/proc
# readings, cold start, timed runs, profiles, client weight) and report.sh (meta.json, summary).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BENCH=$ROOT/bench

# shellcheck source=bench/lib/options.sh
source "$BENCH/lib/options.sh"
# shellcheck source=bench/lib/process.sh
source "$BENCH/lib/process.sh"
# shellcheck source=bench/lib/build.sh
source "$BENCH/lib/build.sh"
# shellcheck source=bench/lib/apps.sh
source "$BENCH/lib/apps.sh"
# shellcheck source=bench/lib/scenarios.sh
source "$BENCH/lib/scenarios.sh"
# shellcheck source=bench/lib/measure.sh
source "$BENCH/lib/measure.sh"
# shellcheck source=bench/lib/report.sh
source "$BENCH/lib/report.sh"

# One app from start to stop. LABEL, DIR and BASE name the app under test for every step.
bench_app() {
  LABEL=$1
  DIR=$RUN/$LABEL
  BASE="http://127.0.0.1:$(app_port "$LABEL")"
  mkdir -p "$DIR"
  local scenarios rss_ready rss_idle threads_idle
  scenarios=$(app_scenarios "$LABEL")

  cold_start
  start_app
  sleep 1
  rss_ready=$(rss_kb)
  set_up_tenant
  sleep 2
  rss_idle=$(rss_kb)
  threads_idle=$(threads)

  # shellcheck disable=SC2086 # a list of scenario names
  warm_up $scenarios
  sleep 1
  # shellcheck disable=SC2086
  measure_all $scenarios
  sleep 2
  profile_runs
  client_measurements

  write_memory "$rss_ready" "$rss_idle" "$threads_idle"
  stop_app
}

RUN="$BENCH_OUT/run-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$RUN"
stop_on_exit
preflight
build_apps
copy_builds
prepare_ace
write_meta
for app in $APPS; do
  bench_app "$app"
done
finish_report
log "raw results: $RUN"
