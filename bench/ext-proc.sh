#!/usr/bin/env bash
# What an ext_proc server adds to each request through Envoy: p50 latency at 1 connection and
# requests/s at 32 connections, with wrk, for Envoy with no ext_proc filter (the baseline), with
# a minimal reference server built in the same run (bench/ext-proc-minimal: one added header,
# CONTINUE for the rest), and with the generated ext-proc server running its `basic` example and
# its `add_header` example (the minimal server's work); and each server's CPU time per request at
# 32 connections, the least noisy of the three. Then the same with a 1 MiB POST body and both
# bodies in FULL_DUPLEX_STREAMED (the generated server runs `add_header`, whose bodies pass
# through in chunks, as the minimal server's do). The servers take turns over several rounds,
# every round is printed, and each figure is the median of its rounds, since one run on two
# shared cores is noisy.
#   bench/ext-proc.sh            (ROUNDS=3, DURATION=5s per cell by default)
# Needs wrk (`apt-get install wrk`) and Envoy (`./scripts/test` installs it into target/tools).
set -euo pipefail
cd "$(dirname "$0")/.."

command -v wrk >/dev/null || { echo "error: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
envoy=${ENVOY:-$(command -v envoy || echo "$PWD/target/tools/venv/bin/envoy")}
[ -x "$envoy" ] || { echo "error: no Envoy at $envoy; run ./scripts/test once, or set ENVOY" >&2; exit 1; }
source bench/lib.sh

generate ext-proc bench-ext-proc
(cd bench/ext-proc-minimal && cargo build --release --quiet)
rounds=${ROUNDS:-3}
duration=${DURATION:-5s}

# Three Envoys from the generated config, each logging nothing: as generated (listener 10000,
# admin 9901); without the ext_proc filter on ports of its own (listener 10010, stand-in upstream
# 10011, admin 9911); and with both bodies in FULL_DUPLEX_STREAMED and trailers sent (listener
# 10020, stand-in upstream 10021, admin 9921).
config="$runs_dir/bench-ext-proc/envoy/envoy.yaml"
python3 - "$config" "$runs_dir" <<'PY'
import sys
text = open(sys.argv[1]).read()
start = text.index("                access_log:")
end = text.index("                route_config:")
text = text[:start] + text[end:]
open(sys.argv[1], "w").write(text)
def ports(text, offset):
    for old in ("9901", "10000", "10001"):
        text = text.replace(f"port_value: {old}", f"port_value: {int(old) + offset}")
    return text
start = text.index("                  - name: envoy.filters.http.ext_proc")
end = text.index("                  - name: envoy.filters.http.router")
open(f"{sys.argv[2]}/no-filter.yaml", "w").write(ports(text[:start] + text[end:], 10))
duplex = text
for old, new in (("body_mode: BUFFERED", "body_mode: FULL_DUPLEX_STREAMED"),
                 ("trailer_mode: SKIP", "trailer_mode: SEND")):
    assert old in duplex
    duplex = duplex.replace(old, new)
open(f"{sys.argv[2]}/duplex.yaml", "w").write(ports(duplex, 20))
PY
for yaml in "$config" "$runs_dir/no-filter.yaml" "$runs_dir/duplex.yaml"; do
  "$envoy" -c "$yaml" --concurrency 1 --log-level error --base-id $((RANDOM * 10)) &
done
printf 'wrk.method = "POST"\nwrk.body = string.rep("x", 1048576)\n' >"$runs_dir/post-1mib.lua"
for admin in 9901 9911 9921; do
  for _ in $(seq 100); do
    curl -fs -o /dev/null "http://127.0.0.1:$admin/ready" && break
    sleep 0.1
  done
done

# start NAME: runs the callout server NAME (none, minimal, basic or add_header; a `duplex-`
# prefix is ignored) on 8080.
start() {
  set -- "${1#duplex-}"
  case $1 in
    none) return ;;
    minimal)
      "$CARGO_TARGET_DIR/release/ext-proc-minimal" 127.0.0.1:8080 &
      server_pid=$!
      sleep 0.5 ;;
    *) serve bench-ext-proc-server 8080 PLAINTEXT_LISTEN=127.0.0.1:8080 TLS_LISTEN=off \
        HEALTH_LISTEN=off EXAMPLE="$1" ;;
  esac
}

stop() {
  [ "${1#duplex-}" = none ] && return
  kill "$server_pid"
  wait "$server_pid" 2>/dev/null || true
}

# measure_cell NAME: appends NAME's p50 at 1 connection (us) and requests/s at 32 connections,
# and prints them. `duplex-` names POST 1 MiB through the full-duplex Envoy (the baseline
# through the one without the filter).
measure_cell() {
  local url=http://127.0.0.1:10000/ script=()
  case $1 in
    none) url=http://127.0.0.1:10010/ ;;
    duplex-none) url=http://127.0.0.1:10010/ script=(-s "$runs_dir/post-1mib.lua") ;;
    duplex-*) url=http://127.0.0.1:10020/ script=(-s "$runs_dir/post-1mib.lua") ;;
  esac
  local server=${1#duplex-}
  wrk -t1 -c32 -d1s "${script[@]}" "$url" >/dev/null # warm up
  wrk -t1 -c1 -d"$duration" --latency "${script[@]}" "$url" | awk -v name="$1" '$1 == "50%" {
    v = $2; u = v; gsub(/[0-9.]/, "", u); gsub(/[a-z]/, "", v)
    print name, "p50", (u == "ms" ? v * 1000 : (u == "s" ? v * 1000000 : v)) }' | tee -a "$runs_dir/cells" >&2
  local before=0 after=0 output
  [ "$server" != none ] && before=$(cpu_ticks "$server_pid")
  output=$(wrk -t1 -c32 -d"$duration" "${script[@]}" "$url")
  [ "$server" != none ] && after=$(cpu_ticks "$server_pid")
  grep -q "Non-2xx" <<<"$output" && { echo "$1: non-2xx answers:" >&2; echo "$output" >&2; exit 1; }
  awk -v name="$1" -v ticks=$((after - before)) -v hz="$(getconf CLK_TCK)" '
    / requests in / { requests = $1 }
    /^Requests\/sec/ { print name, "rps", $2 }
    END { print name, "cpu", ticks / hz * 1e6 / requests }' <<<"$output" | tee -a "$runs_dir/cells" >&2
}

names=(none minimal basic add_header duplex-none duplex-minimal duplex-add_header)
for round in $(seq "$rounds"); do
  echo "round $round of $rounds" >&2
  for name in "${names[@]}"; do
    start "$name"
    measure_cell "$name"
    stop "$name"
  done
done

awk "$collect_rounds"'
  END {
    split("none minimal basic add_header", names, " ")
    label["none"] = "no ext_proc filter (baseline)"
    label["minimal"] = "minimal reference server"
    label["basic"] = "generated server, basic example"
    label["add_header"] = "generated server, add_header example"
    printf "%-40s %12s %12s %14s\n", "through Envoy (median of rounds)", "p50 1c (us)", "req/s 32c", "server CPU/req"
    for (i = 1; i <= 4; i++) {
      p[names[i]] = median(values[names[i] " p50"]); r[names[i]] = median(values[names[i] " rps"])
      cpu = i == 1 ? "-" : sprintf("%.1f us", median(values[names[i] " cpu"]))
      printf "%-40s %12.0f %12.0f %14s\n", label[names[i]], p[names[i]], r[names[i]], cpu
    }
    m = p["minimal"] - p["none"]
    cm = 1e6 / r["minimal"] - 1e6 / r["none"]
    printf "\nadded to p50 at 1c, and as a multiple of the minimal server (goal <= 1.2x):\n"
    for (i = 2; i <= 4; i++) printf "  %-38s %6.0f us  %5.2fx\n", label[names[i]], p[names[i]] - p["none"], (p[names[i]] - p["none"]) / m
    printf "added cost per request at 32c (1/req/s), and as a multiple of the minimal server:\n"
    for (i = 2; i <= 4; i++) {
      c = 1e6 / r[names[i]] - 1e6 / r["none"]
      printf "  %-38s %6.1f us  %5.2fx  (req/s %.0f%% below the baseline)\n", label[names[i]], c, c / cm, 100 * (1 - r[names[i]] / r["none"])
    }
    split("duplex-none duplex-minimal duplex-add_header", duplex, " ")
    label["duplex-none"] = "no ext_proc filter (baseline)"
    label["duplex-minimal"] = "minimal reference server"
    label["duplex-add_header"] = "generated server, add_header example"
    printf "\nPOST 1 MiB, FULL_DUPLEX_STREAMED            %12s %12s %14s\n", "p50 1c (us)", "req/s 32c", "server CPU/req"
    for (i = 1; i <= 3; i++) {
      p[duplex[i]] = median(values[duplex[i] " p50"]); r[duplex[i]] = median(values[duplex[i] " rps"])
      cpu = i == 1 ? "-" : sprintf("%.1f us", median(values[duplex[i] " cpu"]))
      printf "%-40s %12.0f %12.0f %14s\n", label[duplex[i]], p[duplex[i]], r[duplex[i]], cpu
    }
    m = p["duplex-minimal"] - p["duplex-none"]
    printf "added to p50 at 1c, and as a multiple of the minimal server (goal <= 1.2x):\n"
    for (i = 2; i <= 3; i++) printf "  %-38s %6.0f us  %5.2fx\n", label[duplex[i]], p[duplex[i]] - p["duplex-none"], (p[duplex[i]] - p["duplex-none"]) / m
  }' "$runs_dir/cells"
