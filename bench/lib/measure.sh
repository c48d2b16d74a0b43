# shellcheck shell=bash
# Measurement: what the app under test ($APP_PID) uses, read from /proc (CPU ticks, RSS,
# threads), what the rest of the machine uses meanwhile, and the measured steps: cold start, the
# timed wrk runs (one line each in $DIR/results.jsonl), the optional perf profiles, and for the
# Rust app its client weight and time to hydrated.

CLK_TCK=$(getconf CLK_TCK)

# ---------------------------------------------------------------- the app's process
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

# ---------------------------------------------------------------- the measured steps
# Cold start: spawn -> first 200 on /atlassian-connect.json, a fresh database each trial.
cold_start() {
  [ "$COLD_TRIALS" -gt 0 ] || return 0
  log "$LABEL: cold start x$COLD_TRIALS"
  local dbv=() cold
  case $LABEL in
    rust) dbv=(--db-var DATABASE_URL --db-template "sqlite://$DIR/cold-%i.db") ;;
    ace) dbv=(--db-var ACE_BENCH_DB --db-template "$DIR/cold-%i.sqlite") ;;
  esac
  # shellcheck disable=SC2046
  cold=$(node "$BENCH/tools/coldstart.js" --port "$(app_port "$LABEL")" --trials "$COLD_TRIALS" --cwd "$(app_cwd "$LABEL")" \
    "${dbv[@]}" -- $(app_cmd "$LABEL" "$DIR/unused.db")) || die "$LABEL: cold start failed"
  echo "$cold" | sed -n 's/^COLDJSON //p' >"$DIR/coldstart.json"
  rm -f "$DIR"/cold-*
  log "$LABEL: cold start $(cat "$DIR/coldstart.json")"
}

# A WARMUP-second run of each scenario at 16 connections, untimed.
warm_up() { # scenarios...
  local s
  for s in "$@"; do
    prepare_scenario "$s"
    log "$LABEL: warm-up $s ${WARMUP}s at 16 connections"
    run_wrk "$s" 16 "$WARMUP" "$DIR/warmup-$s.txt"
  done
}

# One timed run of scenario $1 at $2 connections: wrk's answer, the app's CPU and peak RSS, wrk's
# own CPU and what everything else used meanwhile, as one line of $DIR/results.jsonl.
measure_run() { # scenario conns
  local s=$1 c=$2 out cpu0 cpu1 busy0 busy1 wrk_cpu app_cpu other_cpu wrkjson
  out=$DIR/wrk-$s-c$c.txt
  prepare_scenario "$s"
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
}

# Every scenario at every connection count (never fewer connections than wrk threads).
measure_all() { # scenarios...
  local s c
  : >"$DIR/results.jsonl"
  for s in "$@"; do
    for c in $CONNS; do
      [ "$c" -lt "$WRK_THREADS" ] && continue
      measure_run "$s" "$c"
      sleep 1
    done
  done
}

# PROFILE="read page": one more run per scenario at 16 connections under `perf record` (Rust
# only, not part of the table), summarised in $DIR/profile-<scenario>.txt.
profile_runs() {
  [ "$LABEL" = rust ] && [ -n "$PROFILE" ] || return 0
  command -v perf >/dev/null || die "PROFILE needs perf (apt-get install -y linux-perf)"
  local s perf_pid
  for s in $PROFILE; do
    log "rust: profiling $s for ${DURATION}s at 16 connections (perf, not part of the table)"
    prepare_scenario "$s"
    perf record -e cpu-clock -F "${PERF_FREQ:-1999}" --call-graph "${PERF_CALLGRAPH:-fp}" -p "$APP_PID" -o "$DIR/perf-$s.data" -- sleep "$DURATION" \
      >"$DIR/perf-$s.log" 2>&1 &
    perf_pid=$!
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
}

# The Rust app's page in the browser: client weight (the page's and the Forge Custom UI's files)
# and time to hydrated in headless Chromium.
client_measurements() {
  [ "$LABEL" = rust ] || return 0
  log "rust: client weight"
  node "$BENCH/tools/client-weight.js" --pkg "$RUN/site/pkg" --app "$BASE" \
    | sed -n 's/^WEIGHTJSON //p' >"$RUN/client-weight.json" || log "client weight failed"
  # The Forge Custom UI's files as Forge would serve them (its CDN compresses as it likes).
  local forge_ui=$RUN/forge-ui
  [ -f "$forge_ui/index.html" ] || forge_ui=$ROOT/forge/static/preferences
  if [ -f "$forge_ui/index.html" ]; then
    log "rust: Forge Custom UI weight ($forge_ui)"
    node "$BENCH/tools/client-weight.js" --pkg "$forge_ui" \
      | sed -n 's/^WEIGHTJSON //p' >"$RUN/forge-weight.json" || log "Forge UI weight failed"
  else
    log "skipping the Forge Custom UI weight: run scripts/forge-ui.sh (or bench without SKIP_BUILD=1)"
  fi
  [ "$HYDRATION_TRIALS" -gt 0 ] || return 0
  if [ -d "$ROOT/end2end/node_modules/playwright-core" ] && [ -x /usr/bin/chromium ]; then
    log "rust: time to hydrated in headless Chromium x$HYDRATION_TRIALS"
    mint
    node "$BENCH/tools/hydration.js" --url "$BASE$(head -1 "$DIR/pages.txt")" --trials "$HYDRATION_TRIALS" \
      --playwright "$ROOT/end2end/node_modules/playwright-core" \
      | sed -n 's/^HYDRATIONJSON //p' >"$RUN/hydration.json" || log "hydration timing failed"
  else
    log "skipping hydration timing: needs end2end/node_modules (scripts/setup.sh) and /usr/bin/chromium"
  fi
}
