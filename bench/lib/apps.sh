# shellcheck shell=bash
# The three apps: how each is started (command line, port, working directory, database), which
# scenarios it runs, its tenant (a real signed install, Forge set up, one saved row per user) and
# its stop. The app being measured is $LABEL, served at $BASE, its files in $DIR (set by
# bench_app in bench/run.sh).

# The shared secret of this run's Connect tenant store.
TENANT_KEY="bench:$(head -c 32 /dev/urandom | base64)"
# The harness's own Forge app and environment (fit-read).
FORGE_APP_UUID=b3c1e0de-0000-4000-8000-00000000be0c
FORGE_APP_ID=ari:cloud:ecosystem::app/$FORGE_APP_UUID
FORGE_ENV_ID=ari:cloud:ecosystem::environment/$FORGE_APP_UUID/b3c1e0de-0000-4000-8000-0000000000e1

app_port() { case $1 in rust) echo "$RUST_PORT" ;; ace) echo "$ACE_PORT" ;; bare) echo "$BARE_PORT" ;; esac; }
app_cwd() { case $1 in ace) echo "$ACE_DIR" ;; *) echo "$ROOT" ;; esac; }

# The scenarios app $1 runs: bare has only the read; ACE has no Forge path.
app_scenarios() {
  local sc kept=""
  case $1 in
    bare) echo "read" ;;
    ace)
      for sc in $SCENARIOS; do [ "$sc" = fit-read ] || kept="$kept $sc"; done
      echo "$kept"
      ;;
    *) echo "$SCENARIOS" ;;
  esac
}

# Forge Remote on (fit-read): the JWKS on the throwaway key server's port (served only while
# `forge.js setup` runs; the server keeps the key it fetched).
forge_env() {
  forge_on || return 0
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

# Starts $LABEL on a fresh database (APP_PID) and waits up to 30 s for its descriptor.
start_app() {
  local cmd cwd
  cmd=$(app_cmd "$LABEL" "$DIR/app.db")
  cwd=$(app_cwd "$LABEL")
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
}

# The tenant and its users: for bare, tokens only; otherwise a real signed install, Forge set up
# (fit-read), tokens, one saved row per user (and per Forge user), then the smoke checks.
set_up_tenant() {
  if [ "$LABEL" = bare ]; then
    node "$BENCH/tools/connect.js" tenant --out "$DIR/tenant.json"
    mint
    return 0
  fi
  node "$BENCH/tools/connect.js" install --app "$BASE" --keys-port "$KEYS_PORT" --out "$DIR/tenant.json" >&2 \
    || die "$LABEL: install failed; see $DIR/app.log"
  if [ "$LABEL" = rust ] && forge_on; then
    node "$BENCH/tools/forge.js" setup --app "$BASE" --keys-port "$KEYS_PORT" --app-id "$FORGE_APP_ID" \
      --env-id "$FORGE_ENV_ID" --out "$DIR/forge.json" >&2 || die "$LABEL: Forge setup failed; see $DIR/app.log"
  fi
  mint
  node "$BENCH/tools/connect.js" seed --app "$BASE" --tokens "$DIR/tokens.txt" --flavour "$LABEL" \
    --out "$DIR/state.txt" >&2 || die "$LABEL: seeding failed"
  if [ "$LABEL" = rust ] && forge_on; then
    node "$BENCH/tools/connect.js" seed --app "$BASE" --tokens "$DIR/fits.txt" --flavour rust --scheme Bearer \
      --out "$DIR/fit-state.txt" >&2 || die "$LABEL: seeding the Forge users failed"
  fi
  smoke
}

# Stops $LABEL; the Rust server logs one JSON line per request (as deployed): keep the ends of a
# big log.
stop_app() {
  log "$LABEL: stopping"
  stop_pid "$APP_PID"
  APP_PID=""
  if [ "$(stat -c %s "$DIR/app.log")" -gt 20000000 ]; then
    { head -n 200 "$DIR/app.log"; echo "... ($(wc -l <"$DIR/app.log") lines, trimmed by bench/run.sh) ..."; tail -n 200 "$DIR/app.log"; } \
      >"$DIR/app.log.trimmed" && mv "$DIR/app.log.trimmed" "$DIR/app.log"
  fi
  return 0
}
