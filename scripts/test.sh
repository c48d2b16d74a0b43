#!/usr/bin/env bash
# Sets up a fresh machine (scripts/setup.sh) and runs every test: format, the dependencies'
# licences and sources (cargo deny), clippy for the server build and the wasm build, unit and
# integration tests (the server's on SQLite, then again on a private PostgreSQL server), then the
# release build and the Forge Custom UI build (scripts/forge-ui.sh), their first-load weights
# against the budgets (scripts/weight.sh), and the Playwright suite in Debian's Chromium against
# them (the release page must hydrate; the Custom UI must run under Forge's CSP in the simulator's
# Forge host).
set -euo pipefail
cd "$(dirname "$0")/.."

# Each step prints its time when it ends; the list of all of them closes the run.
STEP_NAME=""
STEP_TIMES=()
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; STEP_NAME=$*; SECONDS_AT_STEP=$SECONDS; }
done_step() {
  local took=$((SECONDS - SECONDS_AT_STEP))
  printf '   (%ss)\n' "$took"
  STEP_TIMES+=("$(printf '%6ss  %s' "$took" "$STEP_NAME")")
}

step "setup"
scripts/setup.sh
export PATH="$PWD/tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"
done_step

step "format, and shellcheck over the scripts"
cargo fmt --all -- --check
shellcheck -x scripts/*.sh bench/run.sh bench/lib/*.sh .ci/run
done_step

# cargo-deny reads the crates' manifests and licence files: fetch them first (a fresh machine has
# none yet; the builds below need them anyway). The check itself is offline (no advisory database).
step "dependencies: licences, bans and sources (cargo deny, deny.toml)"
cargo fetch --locked
cargo deny --locked --offline check --hide-inclusion-graph licenses bans sources
done_step

step "clippy: server build (app with ssr)"
cargo clippy -p connect -p app -p server -p simulator -p macros --all-targets --locked -- -D warnings
done_step

step "clippy: browser build (app with hydrate, wasm32)"
cargo clippy -p frontend -p app --target wasm32-unknown-unknown --locked -- -D warnings
done_step

# Apart from the hydrate build: together, cargo would unify csr and hydrate in one app.
step "clippy: Forge Custom UI build (app with csr, wasm32)"
cargo clippy -p forge-ui --target wasm32-unknown-unknown --locked -- -D warnings
done_step

step "unit and integration tests (SQLite)"
cargo test -p connect -p app -p server -p simulator -p macros --locked
done_step

# The same server tests (storage unit tests and the HTTP suite, which adds the multi-instance
# and outage tests) again on PostgreSQL: a private server of scripts/pg.sh, loopback only,
# stopped and deleted afterwards whatever happens.
step "server tests again on PostgreSQL"
export PG_DIR="$PWD/target/pg-test"
trap 'scripts/pg.sh stop' EXIT
TEST_PG_URL=$(scripts/pg.sh start)
TEST_DATABASE=postgres TEST_PG_URL="$TEST_PG_URL" cargo test -p server --locked
scripts/pg.sh stop
trap - EXIT
unset PG_DIR
done_step

step "release build (cargo leptos build --release --precompress)"
cargo leptos build --release --precompress
cargo build -p simulator --locked
done_step

step "Forge Custom UI build (scripts/forge-ui.sh)"
scripts/forge-ui.sh
done_step

step "first-load weight (brotli bytes against scripts/weight.sh's budgets)"
scripts/weight.sh
done_step

step "browser tests (Playwright, Debian Chromium, release build)"
(cd end2end && E2E_SERVER_BIN=../target/release/server npx playwright test)
done_step

printf '\n\033[1m== all green in %ss\033[0m\n' "$SECONDS"
printf '%s\n' "${STEP_TIMES[@]}"
