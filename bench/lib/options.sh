# shellcheck shell=bash
# bench/run.sh's knobs and the checks made before anything starts: every knob's default (a value
# set in the environment wins), the logging helpers, which apps and scenarios this run has, and
# the preflight (tools present, ports free, knobs consistent).

: "${DURATION:=10}" "${CONNS:=1 16 64}" "${WARMUP:=3}" "${USERS:=256}" "${PAGE_USERS:=64}"
: "${COLD_TRIALS:=5}" "${HYDRATION_TRIALS:=10}" "${WRK_THREADS:=1}"
: "${APPS:=rust ace bare}" "${SCENARIOS:=read write page}" "${FIT_LIFETIME:=280}"
: "${SKIP_BUILD:=0}" "${PROFILE:=}" "${QUIET_WAIT:=0}" "${QUIET_CORES:=0.25}"
: "${RUST_PORT:=3710}" "${ACE_PORT:=3711}" "${BARE_PORT:=3712}" "${KEYS_PORT:=3713}"
: "${ACE_SRC:=$ROOT/../shared/bench/ace}" "${ACE_DIR:=/tmp/ace-bench-src}"
: "${BARE_TARGET_DIR:=$ROOT/target/bench-bare}" "${BENCH_OUT:=$ROOT/target/bench}"
# The server to measure: the release build, or any other binary (e.g. a variant built elsewhere).
: "${RUST_BIN:=$ROOT/target/release/server}"

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }
has_app() { case " $APPS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
has_scenario() { case " $SCENARIOS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
# Forge (fit-read): the server runs with Forge on for the whole Rust run (Connect scenarios too,
# so the two reads are measured against the same process).
forge_on() { has_scenario fit-read && has_app rust; }

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

preflight() {
  local tool p s
  for tool in wrk node curl cargo; do
    command -v "$tool" >/dev/null || die "$tool not found (apt-get install -y wrk; see docs/BENCHMARKS.md)"
  done
  for p in "$RUST_PORT" "$ACE_PORT" "$BARE_PORT" "$KEYS_PORT"; do
    port_busy "$p" && die "something already listens on 127.0.0.1:$p (set RUST_PORT/ACE_PORT/BARE_PORT/KEYS_PORT)"
  done
  for s in $SCENARIOS; do
    case $s in read | write | page | fit-read) ;; *) die "unknown scenario $s (SCENARIOS: read write page fit-read)" ;; esac
  done
  # FITs are minted just before each run and must outlive it: the server refuses a lifetime
  # (exp - iat) above 300 s.
  if forge_on; then
    [ "$FIT_LIFETIME" -le 300 ] || die "FIT_LIFETIME=$FIT_LIFETIME: the server accepts at most 300 s"
    [ $((DURATION + WARMUP + 30)) -lt "$FIT_LIFETIME" ] \
      || die "DURATION=$DURATION is too long for FITs of FIT_LIFETIME=$FIT_LIFETIME s (minted before each run)"
  fi
  [ -f "$ROOT/.env" ] && log "WARNING: $ROOT/.env exists; the Rust server reads it (variables set here win)"
  return 0
}
