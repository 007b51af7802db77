#!/usr/bin/env bash
# Wall time of `grpc-scaffold new` for every kind, next to `cargo new` measured in the same run.
#   bench/new.sh [RUNS]        (default 20 runs each; prints the median and the fastest, in ms)
set -euo pipefail

cd "$(dirname "$0")/.."
runs=${1:-20}
cargo build --release --quiet
bin="$PWD/target/release/grpc-scaffold"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Runs "$@" with the destination appended, $runs times; prints "median fastest" in ms.
measure() {
  local times=() start end
  for ((i = 0; i < runs; i++)); do
    start=$EPOCHREALTIME
    "$@" "$work/out-$i" >/dev/null 2>&1
    end=$EPOCHREALTIME
    times+=("$(awk -v a="$start" -v b="$end" 'BEGIN { print (b - a) * 1000 }')")
  done
  rm -rf "$work"/out-*
  printf '%s\n' "${times[@]}" | sort -g | awk '{ t[NR] = $1 } END { printf "%8.1f %8.1f\n", t[int((NR + 1) / 2)], t[1] }'
}

printf '%-32s %8s %8s\n' "command" "median" "fastest"
printf '%-32s %s\n' "cargo new (baseline)" "$(measure cargo new --vcs none --quiet)"
# Every kind that brings its own protos; bench/custom.sh measures the custom kind.
for kind in $("$bin" list | awk '$1 != "custom" { print $1 }'); do
  printf '%-32s %s\n' "grpc-scaffold --kind $kind" "$(measure "$bin" new bench-svc --kind "$kind" -o)"
done
