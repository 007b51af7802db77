#!/usr/bin/env bash
# The custom kind on a large API: 50 services of 20 RPCs each (all four shapes), over 10 files
# that import a shared file and each other. Prints the time of `grpc-scaffold new` for it and for
# a one-service API, and the build time of both generated projects (dependencies built first,
# so that only the project's own crate is timed).
#   bench/custom.sh [RUNS]       (default 10 runs of `new` each; median and fastest, in ms)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
runs=${1:-10}

api="$runs_dir/api"
large_api "$api/large"
mkdir -p "$api/small"
protos=()
for file in $(seq 0 9); do protos+=(--proto "$api/large/api$file.proto"); done
{
  echo 'syntax = "proto3";'
  echo 'package small.v1;'
  echo 'service Small { rpc Get(Request) returns (Reply); }'
  echo 'message Request { string id = 1; }'
  echo 'message Reply { string id = 1; }'
} >"$api/small/small.proto"

printf '%-44s %8s %8s\n' "grpc-scaffold new (ms)" "median" "fastest"
printf '%-44s %s\n' "one service, one RPC (baseline)" "$(measure "$runs" "$scaffold" new small --proto "$api/small/small.proto" -o)"
printf '%-44s %s\n' "50 services x 20 RPCs, 10 files" "$(measure "$runs" "$scaffold" new large "${protos[@]}" -o)"

# build DIR PACKAGE: seconds to build the project's own crate, dependencies already built.
build() {
  (cd "$1" && cargo build --quiet && cargo clean --quiet -p "$2")
  local start=$EPOCHREALTIME
  (cd "$1" && cargo build --quiet)
  awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'
}
"$scaffold" new small --proto "$api/small/small.proto" -o "$runs_dir/small" >/dev/null
"$scaffold" new large "${protos[@]}" -o "$runs_dir/large" >/dev/null
echo "debug build of the project's own crate: one service $(build "$runs_dir/small" small) s," \
  "50 services $(build "$runs_dir/large" large) s"
