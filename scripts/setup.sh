#!/usr/bin/env bash
# Installs what this project needs on a fresh machine and skips what is already there at the
# right version: the wasm target, cargo-leptos 0.3.10, the wasm-bindgen CLI matching the pinned
# crate, cargo-deny 0.20.2, wasm-opt (npm binaryen), Debian's Chromium, PostgreSQL and
# ShellCheck, and the Node packages.
# Safe to run again and again.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1msetup:\033[0m %s\n' "$*"; }

CARGO_LEPTOS_VERSION=0.3.10
CARGO_DENY_VERSION=0.20.2
# The CLI must equal the wasm-bindgen crate exactly (pinned with "=" in Cargo.toml).
WASM_BINDGEN_VERSION=$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)"/\1/p' Cargo.toml)

export PATH="$HOME/.cargo/bin:$PATH"

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(cargo leptos --version 2>/dev/null | awk '{print $2}')" != "$CARGO_LEPTOS_VERSION" ]; then
  log "installing cargo-leptos $CARGO_LEPTOS_VERSION (takes about 6 minutes)"
  # no_downloads: use the tools on PATH, never fetch binaries from GitHub.
  cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --features no_downloads
fi

if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (takes about 3 minutes)"
  # Not --locked: its lock file names a crate version the registry no longer has.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

if [ "$(cargo deny --version 2>/dev/null | awk '{print $2}')" != "$CARGO_DENY_VERSION" ]; then
  log "installing cargo-deny $CARGO_DENY_VERSION (takes about 4 minutes)"
  cargo install cargo-deny --version "$CARGO_DENY_VERSION" --locked
fi

apt_missing=()
command -v chromium >/dev/null || apt_missing+=(chromium)
command -v shellcheck >/dev/null || apt_missing+=(shellcheck)
command -v pg_ctlcluster >/dev/null && ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || apt_missing+=(postgresql)
if [ ${#apt_missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${apt_missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_missing[@]}" >/dev/null
fi

npm_install() { # dir
  if [ ! -d "$1/node_modules" ] || [ "$1/package-lock.json" -nt "$1/node_modules/.package-lock.json" ]; then
    log "installing Node packages in $1"
    (cd "$1" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  fi
}
# wasm-opt from npm binaryen 132: Debian's binaryen 108 produces wasm that fails to hydrate.
npm_install tools
npm_install end2end

log "ready (cargo-leptos $(cargo leptos --version | awk '{print $2}'), wasm-bindgen $WASM_BINDGEN_VERSION, cargo-deny $CARGO_DENY_VERSION, $(tools/node_modules/.bin/wasm-opt --version), $(chromium --version 2>/dev/null))"
