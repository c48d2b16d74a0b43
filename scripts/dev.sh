#!/usr/bin/env bash
# Sets up a fresh machine and runs the app in development inside the local Confluence
# simulator: SQLite under data/ (created on first run), `cargo leptos watch` on
# http://127.0.0.1:3000, the simulator on http://127.0.0.1:3100 (open that one). The simulator
# plays Forge too: the app checks Forge invocation tokens against the simulator's JWKS, for the
# same app id (simulator/README.md, "Forge"). Both modes of the page open from the simulator:
# Connect (server-rendered, AP) and Forge Custom UI (scripts/forge-ui.sh's build, through the
# simulator's Forge host and bridge). `watch` rebuilds the Connect page only: rerun
# scripts/forge-ui.sh after changing the page to see it on Forge.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
export PATH="$PWD/tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"

SIM_ADDR=${SIM_ADDR:-127.0.0.1:3100}
export LEPTOS_SITE_ADDR=${LEPTOS_SITE_ADDR:-127.0.0.1:3000}
export CONNECT_INSTALL_KEYS_URL=${CONNECT_INSTALL_KEYS_URL:-http://$SIM_ADDR/keys}
export CONNECT_ALL_JS_URL=${CONNECT_ALL_JS_URL:-http://$SIM_ADDR/all.js}
export FRAME_ANCESTORS=${FRAME_ANCESTORS:-http://$SIM_ADDR}
# The simulator's default Forge app id (simulator/src/config.rs, DEFAULT_FORGE_APP_ID); it is
# handed to the simulator below, so overriding it here changes both sides. Any environment of
# the app is accepted in development (FORGE_ENVIRONMENT_IDS unset). With a 1 s JWKS cooldown a
# token signed after a key rotation (POST /api/forge/rotate) is accepted at once: the app
# refetches the JWKS for an unknown kid at most once per cooldown.
export FORGE_APP_ID=${FORGE_APP_ID:-ari:cloud:ecosystem::app/8db517b3-b937-4884-aa7b-79acfdcaffda}
export FORGE_JWKS_URL=${FORGE_JWKS_URL:-http://$SIM_ADDR/forge/jwks.json}
export FORGE_JWKS_COOLDOWN_SECS=${FORGE_JWKS_COOLDOWN_SECS:-1}
# The simulator also plays Confluence's REST API and Atlassian's authorization server (user
# impersonation), and Forge's API gateway: the app's calls to Atlassian go to it.
export ATLASSIAN_OAUTH_URL=${ATLASSIAN_OAUTH_URL:-http://$SIM_ADDR}
export FORGE_API_BASE_URL_PREFIX=${FORGE_API_BASE_URL_PREFIX:-http://$SIM_ADDR/ex/}
# The simulator's Forge host page may call /api from the browser (its `?bridge=host` mode).
export FORGE_UI_ORIGINS=${FORGE_UI_ORIGINS:-http://$SIM_ADDR}

# Build first, so the app answers soon after `watch` starts and the simulator (which waits two
# minutes for it) installs it. On a fresh machine this first build takes several minutes.
cargo leptos build
scripts/forge-ui.sh
cargo build -q -p simulator
sim_gateway="http://$SIM_ADDR/ex/confluence"
SIM_ADDR=$SIM_ADDR SIM_APP_URL="http://$LEPTOS_SITE_ADDR" SIM_FORGE_APP_ID="$FORGE_APP_ID" \
  SIM_FORGE_API_BASE_URL="$sim_gateway" target/debug/simulator &
sim=$!
trap 'kill $sim 2>/dev/null || true' EXIT INT TERM

# The simulator installs the app as soon as it answers, then prints the URL to open.
echo "Connect page: http://$SIM_ADDR/sites/acme/wiki/plugins/servlet/ac/com.example.confluence-preferences/preferences?user=alice"
echo "Forge page:   http://$SIM_ADDR/sites/acme/wiki/forge/preferences?user=alice"
cargo leptos watch
