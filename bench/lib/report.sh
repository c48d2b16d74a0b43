# shellcheck shell=bash
# The run's record: $RUN/meta.json (the machine, the tool versions and the knobs), each app's
# memory.json, and at the end summary.md (bench/tools/summarize.js), printed too.

ace_pkg() { (cd "$ACE_DIR" && node -p "require('$1/package.json').version") 2>/dev/null || echo "-"; }

write_meta() {
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
  return 0
}

write_memory() { # rss_ready_kb rss_idle_kb threads_idle: $DIR/memory.json, while the app still runs
  printf '{"ready_kb":%s,"idle_kb":%s,"after_load_kb":%s,"hwm_kb":%s,"threads_idle":%s,"threads_after":%s}\n' \
    "$1" "$2" "$(rss_kb)" "$(hwm_kb)" "$3" "$(threads)" >"$DIR/memory.json"
}

# The end load average into meta.json, the private server copy and stale perf data removed, and
# the summary.
finish_report() {
  sed -i "s/^}$/, \"loadavg_end\": \"$(cut -d' ' -f1-3 /proc/loadavg)\"\n}/" "$RUN/meta.json"
  rm -f "$RUN/server" "$RUN"/*/perf-*.data.old
  node "$BENCH/tools/summarize.js" "$RUN" | tee "$RUN/summary.md"
}
