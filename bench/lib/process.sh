# shellcheck shell=bash
# Process control: the processes the harness starts (the app under test and the RSS sampler),
# stopped on every exit path, and stopping one politely first.

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

# Everything we started, whatever the exit (the trap set by stop_on_exit).
cleanup() {
  [ -n "$SAMPLER_PID" ] && stop_pid "$SAMPLER_PID"
  [ -n "$APP_PID" ] && stop_pid "$APP_PID"
  SAMPLER_PID=""
  APP_PID=""
}

stop_on_exit() {
  trap cleanup EXIT
  trap 'exit 130' INT TERM
}
