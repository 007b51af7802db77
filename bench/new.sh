#!/usr/bin/env bash
# Wall time of `grpc-scaffold new` for every kind, next to `cargo new` measured in the same run.
#   bench/new.sh [RUNS]        (default 20 runs each; prints the median and the fastest, in ms)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
runs=${1:-20}

printf '%-32s %8s %8s\n' "command" "median" "fastest"
printf '%-32s %s\n' "cargo new (baseline)" "$(measure "$runs" cargo new --vcs none --quiet)"
# Every kind that brings its own protos; bench/custom.sh measures the custom kind.
for kind in $("$scaffold" list | awk '$1 != "custom" { print $1 }'); do
  printf '%-32s %s\n' "grpc-scaffold --kind $kind" "$(measure "$runs" "$scaffold" new bench-svc --kind "$kind" -o)"
done
