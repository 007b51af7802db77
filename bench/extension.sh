#!/usr/bin/env bash
# ExtensionData throughput of the extension kind with valid RS256 tokens, next to a bare tonic
# unary server (the basic kind's greeting v1) measured in the same run.
#  - h2load, one token: the token cache on and off, at 1x1, 32x1 and 32x10 (connections x
#    streams). The goal: with the cache on, at least 0.6x the bare server at 32x10.
#  - bench/grpc-load at 32x10, since h2load sends one body only: 10,000 distinct valid tokens
#    cycled, so that the cache holds many, next to one token and the bare server.
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
serve ext-server 50072 "${keys[@]}"
serve ext-server 50073 "${keys[@]}" TOKEN_CACHE_SIZE=0
serve ext-server 50074 "${keys[@]}" TOKEN_CACHE_SIZE="$tokens"
bare=(http://127.0.0.1:50071/bare.greeting.v1.GreetingService/SayHello "$runs_dir/empty.bin")
cached=(http://127.0.0.1:50072/protos.DataExtension/ExtensionData "$runs_dir/request.bin")
uncached=(http://127.0.0.1:50073/protos.DataExtension/ExtensionData "$runs_dir/request.bin")
many=(http://127.0.0.1:50074/protos.DataExtension/ExtensionData "$runs_dir/requests.bin")

# h2load_cell NAME URL BODY CONNECTIONS STREAMS / grpc_load_cell the same: appends a line
# "NAME CELL REQUESTS/S".
h2load_cell() {
  echo "$1 ${4}x$5 $(load "$2" "$3" "$4" "$5")" >>"$runs_dir/cells"
}
grpc_load_cell() {
  echo "$1 ${4}x$5 $("$grpc_load" "$2" "$3" "$REQUESTS" "$4" "$5")" >>"$runs_dir/cells"
}

# Fill the cache with every distinct token once, so that the rounds measure a full cache.
"$grpc_load" "${many[@]}" "$tokens" 32 10 >/dev/null

cells=("1 1" "32 1" "32 10")
for round in $(seq "$rounds"); do
  echo "round $round of $rounds" >&2
  for cell in "${cells[@]}"; do
    read -r connections streams <<<"$cell"
    h2load_cell bare "${bare[@]}" "$connections" "$streams"
    h2load_cell cached "${cached[@]}" "$connections" "$streams"
    h2load_cell uncached "${uncached[@]}" "$connections" "$streams"
  done
  grpc_load_cell load-bare "${bare[@]}" 32 10
  grpc_load_cell load-one "${cached[@]}" 32 10
  grpc_load_cell load-many "${many[@]}" 32 10
done

awk -v tokens="$tokens" "$collect_rounds"'
  function row(name, label, cells,   n, c, list) {
    printf "%-34s", label
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
    printf "%-34s %10s %10s %10s\n", "", "1x1", "32x1", "32x10"
    row("bare", "bare tonic unary (baseline)", "1x1 32x1 32x10")
    row("cached", "ExtensionData, token cache on", "1x1 32x1 32x10")
    row("uncached", "ExtensionData, token cache off", "1x1 32x1 32x10")
    printf "\ngrpc-load at 32x10; requests/s, median of rounds\n"
    row("load-bare", "bare tonic unary (baseline)", "32x10")
    row("load-one", "ExtensionData, one token", "32x10")
    row("load-many", "ExtensionData, " tokens " tokens cycled", "32x10")
    goal = m["cached", "32x10"] / m["bare", "32x10"]
    printf "\ncache on, one token, at 32x10:  %.2fx the bare server (goal: at least 0.60x)\n", goal
    printf "cache on, %d tokens, at 32x10: %.2fx the bare server, %.2fx one token\n", tokens,
      m["load-many", "32x10"] / m["load-bare", "32x10"], m["load-many", "32x10"] / m["load-one", "32x10"]
    if (goal < 0.6) exit 1
  }
' "$runs_dir/cells"
