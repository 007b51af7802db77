#!/usr/bin/env bash
# `grpc-scaffold update` beside `grpc-scaffold new` for the same project, measured in the same
# run and taking turns, on the 50-services x 20-RPCs API of bench/custom.sh:
#   - new: the whole project written from the protos (the baseline);
#   - update, up to date: nothing to change;
#   - update, one new RPC: an RPC added to one service's proto file.
#   bench/update.sh [ROUNDS]   (default 10; prints every round, then the medians, in ms)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
rounds=${1:-10}

large_api "$runs_dir/api"
protos=()
for file in $(seq 0 9); do protos+=(--proto "$runs_dir/api/api$file.proto"); done
"$scaffold" new large "${protos[@]}" -I "$runs_dir/api" -o "$runs_dir/project" >/dev/null

# ms COMMAND...: the wall time of COMMAND, in ms.
ms() {
  local start=$EPOCHREALTIME
  "$@" >/dev/null
  awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", (b - a) * 1000 }'
}

printf '%-6s %12s %20s %20s\n' "round" "new" "update, up to date" "update, one new RPC"
for round in $(seq "$rounds"); do
  rm -rf "$runs_dir/new" "$runs_dir/changed"
  new=$(ms "$scaffold" new large "${protos[@]}" -I "$runs_dir/api" -o "$runs_dir/new")
  current=$(ms "$scaffold" update "$runs_dir/project")
  cp -r "$runs_dir/project" "$runs_dir/changed"
  sed -i 's/^service Service0x0 {$/service Service0x0 {\n  rpc Added(Request0) returns (large.common.Item);/' \
    "$runs_dir/changed/proto/api0.proto"
  changed=$(ms "$scaffold" update "$runs_dir/changed")
  grep -q 'Added' "$runs_dir/changed/tests/services.rs"
  printf '%-6s %12s %20s %20s\n' "$round" "$new" "$current" "$changed"
  printf 'ms new %s\nms current %s\nms changed %s\n' "$new" "$current" "$changed" >>"$runs_dir/rounds"
done
awk "$collect_rounds"'
  END {
    n = median(values["ms new"]); c = median(values["ms current"]); a = median(values["ms changed"])
    printf "median  %12.1f %20.1f %20.1f\n", n, c, a
    printf "update / new: up to date %.2fx, one new RPC %.2fx (goal: under 2x)\n", c / n, a / n
  }' "$runs_dir/rounds"
