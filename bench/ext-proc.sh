#!/usr/bin/env bash
# What an ext_proc server adds to each request through Envoy: p50 latency at 1 connection and
# requests/s at 32 connections, with wrk, for Envoy with no ext_proc filter (the baseline), with
# a minimal reference server built in the same run (bench/ext-proc-minimal: one added header,
# CONTINUE for the rest), and with the generated ext-proc server running its `basic` example and
# its `add_header` example (the minimal server's work); and at 32 connections the CPU time per
# request of the callout server and of Envoy (from /proc, the least noisy figures), and the
# callout's peak RSS (VmHWM).
#
# Then the same with 1 MiB bodies both ways in FULL_DUPLEX_STREAMED, trailers sent: wrk POSTs
# 1 MiB and the stand-in upstream answers a POST with 1 MiB (a `direct_response` from a file).
# `add_header` passes both bodies through chunk by chunk, as the minimal server does; `basic`
# answers the first chunk of each body with its replacement (the request's) or nothing (the
# response's) and Envoy sends it the rest, which it drops. The stand-in reads the whole request
# before it answers (a buffer filter), so that Envoy keeps its connections. Envoy hands ext_proc
# each body as it reads it from a socket, a message per read; this Envoy's listener and upstream
# cluster have `per_connection_buffer_limit_bytes: 16384`, which ends each read at 16 KiB: the
# callout sees 64 chunks of 16,384 bytes a body (the request's first two split near the headers,
# e.g. 67 + 16,317 bytes) and an empty last one with end_of_stream. Its no-filter baseline is an
# Envoy with the same limits.
#
# The servers take turns over several rounds, every round is printed, and each figure is the
# median of its rounds, since one run on two shared cores is noisy. Goals: each generated
# example's added p50 at 1c, and its req/s at 32c, within 1.2x of the minimal server's for
# headers only, 1.1x in FULL_DUPLEX_STREAMED; a missed goal says so.
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
# Four Envoys from the generated config, each logging nothing, their stand-in upstreams
# answering a POST with 1 MiB: as generated (listener 10000, admin 9901); without the ext_proc
# filter on ports of its own (listener 10010, stand-in upstream 10011, admin 9911); with both
# bodies in FULL_DUPLEX_STREAMED, trailers sent and 16 KiB buffers (listener 10020, stand-in
# upstream 10021, admin 9921); and that one without the filter (10030, 10031, 9931).
config="$runs_dir/bench-ext-proc/envoy/envoy.yaml"
head -c 1048576 /dev/zero | tr '\0' x >"$runs_dir/body-1mib"
python3 - "$config" "$runs_dir" <<'PY'
import sys
config, runs = sys.argv[1:]
text = open(config).read()
start = text.index("                access_log:")
end = text.index("                route_config:")
text = text[:start] + text[end:]
# The stand-in upstream answers a POST with 1 MiB, and anything else as generated.
stand_in = "                stat_prefix: stand_in_upstream\n                route_config:\n"
assert stand_in in text
text = text.replace(stand_in, stand_in + "                  max_direct_response_body_size_bytes: 1048576\n")
route = '                        - match: { prefix: "/" }\n                          direct_response:\n'
assert route in text
post = (
    '                        - match:\n'
    '                            prefix: "/"\n'
    '                            headers: [{ name: ":method", string_match: { exact: POST } }]\n'
    '                          direct_response:\n'
    '                            status: 200\n'
    f'                            body: {{ filename: {runs}/body-1mib }}\n'
)
text = text.replace(route, post + route)
# ... after reading the whole request: answered before it, Envoy closes each connection.
router = "                http_filters:\n                  - name: envoy.filters.http.router\n"
assert text.count(router) == 1
text = text.replace(router, (
    "                http_filters:\n"
    "                  - name: envoy.filters.http.buffer\n"
    "                    typed_config:\n"
    '                      "@type": type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer\n'
    "                      max_request_bytes: 2097152\n"
    "                  - name: envoy.filters.http.router\n"))
open(config, "w").write(text)
def ports(text, offset):
    for old in ("9901", "10000", "10001"):
        text = text.replace(f"port_value: {old}", f"port_value: {int(old) + offset}")
    return text
def without_filter(text):
    start = text.index("                  - name: envoy.filters.http.ext_proc")
    end = text.index("                  - name: envoy.filters.http.router")
    return text[:start] + text[end:]
open(f"{runs}/no-filter.yaml", "w").write(ports(without_filter(text), 10))
duplex = text
for old, new in (("body_mode: BUFFERED", "body_mode: FULL_DUPLEX_STREAMED"),
                 ("trailer_mode: SKIP", "trailer_mode: SEND"),
                 ("per_connection_buffer_limit_bytes: 8388608", "per_connection_buffer_limit_bytes: 16384")):
    assert old in duplex
    duplex = duplex.replace(old, new)
open(f"{runs}/duplex.yaml", "w").write(ports(duplex, 20))
open(f"{runs}/duplex-no-filter.yaml", "w").write(ports(without_filter(duplex), 30))
PY
declare -A envoy_pid
for listener in 10000 10010 10020 10030; do
  case $listener in
    10000) yaml=$config ;;
    10010) yaml=$runs_dir/no-filter.yaml ;;
    10020) yaml=$runs_dir/duplex.yaml ;;
    10030) yaml=$runs_dir/duplex-no-filter.yaml ;;
  esac
  "$envoy" -c "$yaml" --concurrency 1 --log-level error --base-id $((RANDOM * 10)) &
  envoy_pid[$listener]=$!
done
printf 'wrk.method = "POST"\nwrk.body = string.rep("x", 1048576)\n' >"$runs_dir/post-1mib.lua"
for admin in 9901 9911 9921 9931; do
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

# measure_cell NAME: appends NAME's p50 at 1 connection (us), requests/s at 32 connections, the
# CPU time per request then of the callout server and of Envoy (us), and the callout's peak RSS
# (KiB), and prints them. `duplex-` names POST 1 MiB through the full-duplex Envoy (the baseline
# through the one like it without the filter).
measure_cell() {
  local listener=10000 script=()
  case $1 in
    none) listener=10010 ;;
    duplex-none) listener=10030 script=(-s "$runs_dir/post-1mib.lua") ;;
    duplex-*) listener=10020 script=(-s "$runs_dir/post-1mib.lua") ;;
  esac
  local url=http://127.0.0.1:$listener/ server=${1#duplex-} proxy=${envoy_pid[$listener]}
  wrk -t1 -c32 -d1s "${script[@]}" "$url" >/dev/null # warm up
  wrk -t1 -c1 -d"$duration" --latency "${script[@]}" "$url" | awk -v name="$1" '$1 == "50%" {
    v = $2; u = v; gsub(/[0-9.]/, "", u); gsub(/[a-z]/, "", v)
    print name, "p50", (u == "ms" ? v * 1000 : (u == "s" ? v * 1000000 : v)) }' | tee -a "$runs_dir/cells" >&2
  local before=0 after=0 envoy_before envoy_after output rss=0
  [ "$server" != none ] && before=$(cpu_ticks "$server_pid")
  envoy_before=$(cpu_ticks "$proxy")
  output=$(wrk -t1 -c32 -d"$duration" "${script[@]}" "$url")
  envoy_after=$(cpu_ticks "$proxy")
  if [ "$server" != none ]; then
    after=$(cpu_ticks "$server_pid")
    rss=$(memory "$server_pid" VmHWM)
  fi
  grep -q "Non-2xx" <<<"$output" && { echo "$1: non-2xx answers:" >&2; echo "$output" >&2; exit 1; }
  awk -v name="$1" -v ticks=$((after - before)) -v envoy=$((envoy_after - envoy_before)) \
    -v hz="$(getconf CLK_TCK)" -v rss="$rss" '
    / requests in / { requests = $1 }
    /^Requests\/sec/ { print name, "rps", $2 }
    END {
      print name, "cpu", ticks / hz * 1e6 / requests
      print name, "envoy", envoy / hz * 1e6 / requests
      print name, "rss", rss
    }' <<<"$output" | tee -a "$runs_dir/cells" >&2
}

names=(none minimal basic add_header duplex-none duplex-minimal duplex-basic duplex-add_header)
for round in $(seq "$rounds"); do
  echo "round $round of $rounds" >&2
  for name in "${names[@]}"; do
    start "$name"
    measure_cell "$name"
    stop "$name"
  done
done

awk "$collect_rounds"'
  # table(PREFIX, TITLE, GOAL): the medians of the four servers, and what each callout adds.
  function table(prefix, title, goal,   i, n, name, m, cm, c, ratio) {
    split("none minimal basic add_header", names, " ")
    label["none"] = "no ext_proc filter (baseline)"
    label["minimal"] = "minimal reference server"
    label["basic"] = "generated server, basic example"
    label["add_header"] = "generated server, add_header example"
    printf "%-40s %11s %10s %12s %11s %9s\n", title, "p50 1c (us)", "req/s 32c", "callout CPU", "Envoy CPU", "peak RSS"
    for (i = 1; i <= 4; i++) {
      name = prefix names[i]
      p[name] = median(values[name " p50"]); r[name] = median(values[name " rps"])
      printf "%-40s %11.0f %10.0f %12s %8.1f us %9s\n", label[names[i]], p[name], r[name], \
        i == 1 ? "-" : sprintf("%.1f us", median(values[name " cpu"])), median(values[name " envoy"]), \
        i == 1 ? "-" : sprintf("%.1f MiB", median(values[name " rss"]) / 1024)
    }
    printf "(CPU per request at 32c, peak RSS after it)\n"
    m = p[prefix "minimal"] - p[prefix "none"]
    cm = 1e6 / r[prefix "minimal"] - 1e6 / r[prefix "none"]
    printf "added to p50 at 1c, and as a multiple of the minimal server (goal <= %.1fx):\n", goal
    for (i = 2; i <= 4; i++) {
      name = prefix names[i]; ratio = (p[name] - p[prefix "none"]) / m
      printf "  %-38s %6.0f us  %5.2fx%s\n", label[names[i]], p[name] - p[prefix "none"], ratio, \
        (i > 2 && ratio > goal) ? "  goal missed" : ""
    }
    printf "req/s at 32c, the minimal server over this one (goal <= %.1fx), and the cost added per\n", goal
    printf "request (1/req/s less the baseline) as a multiple of the minimal server:\n"
    for (i = 2; i <= 4; i++) {
      name = prefix names[i]; ratio = r[prefix "minimal"] / r[name]
      c = 1e6 / r[name] - 1e6 / r[prefix "none"]
      printf "  %-38s %5.2fx  %6.1f us  %5.2fx%s\n", label[names[i]], ratio, c, c / cm, \
        (i > 2 && ratio > goal) ? "  goal missed" : ""
    }
  }
  END {
    table("", "GET, through Envoy (median of rounds)", 1.2)
    printf "\n"
    table("duplex-", "POST 1 MiB, 1 MiB back, FULL_DUPLEX", 1.1)
  }' "$runs_dir/cells"
