#!/usr/bin/env bash
# What an ext_proc server adds to each request through Envoy: p50 latency at 1 connection and
# requests/s at 32 connections, with wrk, for Envoy with no ext_proc filter (the baseline), with
# the generated ext-proc server (its `basic` example), and with a minimal reference server built
# in the same run (bench/ext-proc-minimal: one added header, CONTINUE for the rest).
#   bench/ext-proc.sh            (DURATION=10s per cell by default)
# Needs wrk (`apt-get install wrk`) and Envoy (`./scripts/test` installs it into target/tools).
set -euo pipefail
cd "$(dirname "$0")/.."

command -v wrk >/dev/null || { echo "error: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
envoy=${ENVOY:-$(command -v envoy || echo "$PWD/target/tools/venv/bin/envoy")}
[ -x "$envoy" ] || { echo "error: no Envoy at $envoy; run ./scripts/test once, or set ENVOY" >&2; exit 1; }
source bench/lib.sh

generate ext-proc bench-ext-proc
(cd bench/ext-proc-minimal && cargo build --release --quiet)
duration=${DURATION:-10s}

# The generated config, and the same without the ext_proc filter.
config="$runs_dir/bench-ext-proc/envoy/envoy.yaml"
python3 - "$config" "$runs_dir/no-filter.yaml" <<'PY'
import sys
lines = open(sys.argv[1]).read().splitlines(keepends=True)
start = next(i for i, l in enumerate(lines) if "- name: envoy.filters.http.ext_proc" in l)
end = next(i for i, l in enumerate(lines) if "- name: envoy.filters.http.router" in l)
open(sys.argv[2], "w").writelines(lines[:start] + lines[end:])
PY

# envoy CONFIG: runs Envoy (one worker) until the next call; waits until it is ready.
envoy_pid=
envoy() {
  [ -n "$envoy_pid" ] && kill "$envoy_pid" && wait "$envoy_pid" 2>/dev/null || true
  "$envoy" -c "$1" --concurrency 1 --log-level error --base-id $(($$ % 50000)) &
  envoy_pid=$!
  for _ in $(seq 100); do
    curl -fs -o /dev/null http://127.0.0.1:9901/ready && return
    sleep 0.1
  done
  echo "Envoy never became ready" >&2
  exit 1
}

# row NAME: p50 at 1 connection (us), and requests/s at 32 connections, through Envoy.
row() {
  local url=http://127.0.0.1:10000/ p50 rps
  wrk -t1 -c32 -d2s "$url" >/dev/null # warm up
  p50=$(wrk -t1 -c1 -d"$duration" --latency "$url" |
    awk '$1 == "50%" { v = $2; u = v; gsub(/[0-9.]/, "", u); gsub(/[a-z]/, "", v);
      print (u == "ms" ? v * 1000 : (u == "s" ? v * 1000000 : v)) }')
  rps=$(wrk -t1 -c32 -d"$duration" "$url" | awk '/^Requests\/sec/ { print $2 }')
  printf '%-36s %12s %12s\n' "$1" "$p50" "$rps"
  eval "p50_$2=$p50 rps_$2=$rps"
}

printf '%-36s %12s %12s\n' "through Envoy" "p50 1c (us)" "req/s 32c"
envoy "$runs_dir/no-filter.yaml"
row "no ext_proc filter (baseline)" none
envoy "$config"
"$CARGO_TARGET_DIR/release/ext-proc-minimal" 127.0.0.1:8080 &
minimal_pid=$!
sleep 0.5
row "minimal reference server" minimal
kill "$minimal_pid"
wait "$minimal_pid" 2>/dev/null || true
serve bench-ext-proc-server 8080 PLAINTEXT_LISTEN=127.0.0.1:8080 TLS_LISTEN=off HEALTH_LISTEN=off
row "generated server, basic example" generated

awk -v n="$p50_none" -v m="$p50_minimal" -v g="$p50_generated" \
  -v rn="$rps_none" -v rm="$rps_minimal" -v rg="$rps_generated" 'BEGIN {
  printf "\nadded p50: minimal %.0f us, generated %.0f us: %.2fx the minimal one (goal <= 1.2x)\n",
    m - n, g - n, (g - n) / (m - n)
  printf "req/s lost at 32c: minimal %.0f%%, generated %.0f%%\n", 100 * (1 - rm / rn), 100 * (1 - rg / rn)
  printf "added cost per request at 32c: minimal %.1f us, generated %.1f us: %.2fx (goal <= 1.2x)\n",
    1e6 / rm - 1e6 / rn, 1e6 / rg - 1e6 / rn, (1e6 / rg - 1e6 / rn) / (1e6 / rm - 1e6 / rn)
}'
