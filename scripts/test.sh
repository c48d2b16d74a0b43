#!/usr/bin/env bash
# Sets up a fresh machine (scripts/setup.sh) and runs every test: format, clippy for the server
# build and the wasm build, unit and integration tests, then the release build and the
# Playwright suite in Debian's Chromium against it (the release page must hydrate).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; SECONDS_AT_STEP=$SECONDS; }
done_step() { printf '   (%ss)\n' $((SECONDS - SECONDS_AT_STEP)); }

step "setup"
scripts/setup.sh
export PATH="$PWD/tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"
done_step

step "format"
cargo fmt --all -- --check
done_step

step "clippy: server build (app with ssr)"
cargo clippy -p connect -p app -p server -p simulator -p macros --all-targets --locked -- -D warnings
done_step

step "clippy: browser build (app with hydrate, wasm32)"
cargo clippy -p frontend -p app --target wasm32-unknown-unknown --locked -- -D warnings
done_step

step "unit and integration tests"
cargo test -p connect -p app -p server -p simulator -p macros --locked
done_step

step "release build (cargo leptos build --release)"
cargo leptos build --release
cargo build -p simulator --locked
done_step

step "browser tests (Playwright, Debian Chromium, release build)"
(cd end2end && E2E_SERVER_BIN=../target/release/server npx playwright test)
done_step
