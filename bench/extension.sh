#!/usr/bin/env bash
# ExtensionData throughput of the extension kind with valid RS256 tokens, next to a bare tonic
# unary server (the basic kind's greeting v1) measured in the same run.
#  - h2load, one token: the token cache on and off, at 1x1, 32x1 and 32x10 (connections x
#    streams). The goal: with the cache on, at least 0.6x the bare server at 32x10.
#  - bench/grpc-load at 32x10, TOKENS distinct valid tokens (10,000 by default), since h2load
#    sends one body only. Each round starts two servers afresh: one with the cache on (its
#    default size, 10,000), one with it off. Both are sent every token once: no cache hits, one
#    RS256 verification a call (the servers' metrics must count 0 hits and TOKENS misses). Then
#    the warm cache is sent the tokens over and over: every call a hit (the metrics must count
#    no new miss). The bare server is loaded the same way. For each: requests/s and the server's
#    CPU time per call, from /proc. A verification's CPU is a call's with the cache off less a
#    hit's: both parse the request and check its claims, and only the first verifies.
#  - The token cache's memory at TOKENS entries: after the pass of distinct tokens, the RSS of the
#    server whose cache holds them all, less that of the server with the cache off, which took
#    the same calls.
# The servers take turns cell by cell over several rounds; each figure is the median of its
# rounds, and every round's figure is printed too, since one run on two shared cores is noisy.
#   bench/extension.sh           (ROUNDS=3, REQUESTS=40000 per cell, TOKENS=10000 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
rounds=${ROUNDS:-3}
export REQUESTS=${REQUESTS:-40000}
tokens=${TOKENS:-10000}

generate basic bare
generate extension ext
(cd bench/grpc-load && cargo build --release --quiet)
grpc_load="$CARGO_TARGET_DIR/release/grpc-load"
make -C "$runs_dir/ext" --quiet dev-keys >/dev/null 2>&1
mint() {
  (cd "$runs_dir/ext" && "$CARGO_TARGET_DIR/release/ext-token" --ttl-secs "$1")
}
python3 bench/frame.py empty >"$runs_dir/empty.bin"
python3 bench/frame.py extension "$(mint 3600)" >"$runs_dir/request.bin"
# Distinct tokens: each expires a second later than the one before.
echo "minting $tokens tokens" >&2
for i in $(seq "$tokens"); do mint $((3600 + i)); done >"$runs_dir/tokens.txt"
python3 bench/frame.py extension-tokens "$runs_dir/tokens.txt" >"$runs_dir/requests.bin"
keys=(PUBLIC_KEY_FILE="$runs_dir/ext/dev-keys/public.pem" CLIENT_IDS=1)

serve bare-server 50071
bare_pid=$server_pid
serve ext-server 50072 "${keys[@]}"
serve ext-server 50073 "${keys[@]}" TOKEN_CACHE_SIZE=0
method=protos.DataExtension/ExtensionData
bare=(http://127.0.0.1:50071/bare.greeting.v1.GreetingService/SayHello "$runs_dir/empty.bin")
cached=(http://127.0.0.1:50072/$method "$runs_dir/request.bin")
uncached=(http://127.0.0.1:50073/$method "$runs_dir/request.bin")

# h2load_cell NAME URL BODY CONNECTIONS STREAMS: appends a line "NAME CELL REQUESTS/S".
h2load_cell() {
  echo "$1 ${4}x$5 $(load "$2" "$3" "$4" "$5")" >>"$runs_dir/cells"
}

# load_cell NAME PID URL FRAMES REQUESTS: grpc-load at 32x10; appends "NAME rps REQUESTS/S" and
# "NAME cpu MICROSECONDS", the server's CPU time per call.
load_cell() {
  local before rps
  before=$(cpu_ticks "$2")
  rps=$("$grpc_load" "$3" "$4" "$5" 32 10)
  awk -v name="$1" -v rps="$rps" -v ticks=$(($(cpu_ticks "$2") - before)) -v calls="$5" \
    -v hz="$(getconf CLK_TCK)" \
    'BEGIN { printf "%s rps %s\n%s cpu %.1f\n", name, rps, name, ticks / hz * 1e6 / calls }' |
    tee -a "$runs_dir/cells" >&2
}

# expect_counts ADMIN_PORT HITS MISSES: fails unless the token cache counted exactly these.
expect_counts() {
  local hits misses
  hits=$(metric "$1" token_cache_hits_total)
  misses=$(metric "$1" token_cache_misses_total)
  if [ "$hits" != "$2" ] || [ "$misses" != "$3" ]; then
    echo "error: the token cache counted $hits hits and $misses misses; $2 and $3 expected" >&2
    exit 1
  fi
}

# distinct_tokens: one round of the grpc-load cells on fresh servers, as the header says.
distinct_tokens() {
  local on off
  serve ext-server 50074 "${keys[@]}"
  on=$server_pid
  serve ext-server 50075 "${keys[@]}" TOKEN_CACHE_SIZE=0
  off=$server_pid
  local many_on=(http://127.0.0.1:50074/$method "$runs_dir/requests.bin")
  local many_off=(http://127.0.0.1:50075/$method "$runs_dir/requests.bin")
  load_cell miss-cache-on "$on" "${many_on[@]}" "$tokens"
  expect_counts 51074 0 "$tokens"
  load_cell miss-cache-off "$off" "${many_off[@]}" "$tokens"
  echo "cache rss_kib $(($(memory "$on" VmRSS) - $(memory "$off" VmRSS)))" | tee -a "$runs_dir/cells" >&2
  load_cell hit "$on" "${many_on[@]}" "$REQUESTS"
  expect_counts 51074 "$REQUESTS" "$tokens"
  load_cell load-bare "$bare_pid" "${bare[@]}" "$REQUESTS"
  kill "$on" "$off"
  wait "$on" "$off" 2>/dev/null || true
}

cells=("1 1" "32 1" "32 10")
for round in $(seq "$rounds"); do
  echo "round $round of $rounds" >&2
  for cell in "${cells[@]}"; do
    read -r connections streams <<<"$cell"
    h2load_cell bare "${bare[@]}" "$connections" "$streams"
    h2load_cell cached "${cached[@]}" "$connections" "$streams"
    h2load_cell uncached "${uncached[@]}" "$connections" "$streams"
  done
  distinct_tokens
done

awk -v tokens="$tokens" "$collect_rounds"'
  function row(name, label, cells,   n, c, list) {
    printf "%-40s", label
    n = split(cells, list, " ")
    for (c = 1; c <= n; c++) {
      m[name, list[c]] = median(values[name " " list[c]])
      printf " %10.0f", m[name, list[c]]
    }
    printf "   rounds:"
    for (c = 1; c <= n; c++) printf " [%s ]", values[name " " list[c]]
    printf "\n"
  }
  END {
    printf "h2load, one token; requests/s, median of rounds\n"
    printf "%-40s %10s %10s %10s\n", "", "1x1", "32x1", "32x10"
    row("bare", "bare tonic unary (baseline)", "1x1 32x1 32x10")
    row("cached", "ExtensionData, token cache on", "1x1 32x1 32x10")
    row("uncached", "ExtensionData, token cache off", "1x1 32x1 32x10")
    printf "\ngrpc-load at 32x10, %d distinct tokens; median of rounds\n", tokens
    printf "%-40s %10s %12s\n", "", "req/s", "CPU/call us"
    row("load-bare", "bare tonic unary (baseline)", "rps cpu")
    row("hit", "ExtensionData, every call a cache hit", "rps cpu")
    row("miss-cache-on", "ExtensionData, no hits, cache on", "rps cpu")
    row("miss-cache-off", "ExtensionData, cache off", "rps cpu")
    goal = m["cached", "32x10"] / m["bare", "32x10"]
    printf "\ncache on, one token, at 32x10: %.2fx the bare server (goal: at least 0.60x)\n", goal
    printf "no cache hits: %.2fx the bare server, %.2fx the cache hits\n",
      m["miss-cache-on", "rps"] / m["load-bare", "rps"], m["miss-cache-on", "rps"] / m["hit", "rps"]
    printf "CPU per RS256 verification (cache off, less a cache hit): %.1f us\n", m["miss-cache-off", "cpu"] - m["hit", "cpu"]
    printf "a first-seen token with the cache on costs %.1f us more than with it off (the lookup and the insert)\n",
      m["miss-cache-on", "cpu"] - m["miss-cache-off", "cpu"]
    printf "a cache hit costs %.1f us more than a bare call\n", m["hit", "cpu"] - m["load-bare", "cpu"]
    kib = median(values["cache rss_kib"])
    printf "token cache at %d entries: %.1f MiB, %.0f bytes an entry; every round (KiB):%s\n",
      tokens, kib / 1024, kib * 1024 / tokens, values["cache rss_kib"]
    if (goal < 0.6) exit 1
  }
' "$runs_dir/cells"
