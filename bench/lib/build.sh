# shellcheck shell=bash
# The programs under test: the release server and the Forge Custom UI (cargo leptos,
# scripts/forge-ui.sh), the bare axum baseline (bench/bare), private copies of the server and its
# site for this run, and ACE's code copied in with its npm packages installed once.

BARE_BIN=$BARE_TARGET_DIR/release/bench-bare

build_apps() { # unless SKIP_BUILD=1; logs to $RUN/build.log
  [ "$SKIP_BUILD" != 1 ] || return 0
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
}

# A private copy of the binary and of target/site: a development build in the same tree
# (cargo leptos watch/build) rewrites target/site/pkg with a debug wasm at any time. From here on
# RUST_BIN is the copy.
copy_builds() {
  if has_app rust; then
    [ -x "$RUST_BIN" ] || die "$RUST_BIN missing (run without SKIP_BUILD=1)"
    cp "$RUST_BIN" "$RUN/server"
    mkdir -p "$RUN/site"
    cp -r "$ROOT/target/site/." "$RUN/site/"
    RUST_BIN=$RUN/server
    local wasm_bytes
    wasm_bytes=$(cat "$RUN"/site/pkg/*.wasm | wc -c)
    [ "$wasm_bytes" -lt 3000000 ] || log "WARNING: the wasm is $wasm_bytes bytes: a debug build? (cargo leptos build --release writes ~0.7 MB)"
  fi
  if has_app bare; then [ -x "$BARE_BIN" ] || die "$BARE_BIN missing (run without SKIP_BUILD=1)"; fi
  return 0
}

# ACE: a private copy, npm ci once (until its package-lock.json changes).
prepare_ace() {
  has_app ace || return 0
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
}
