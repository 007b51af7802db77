#!/usr/bin/env bash
# Open STREAMS concurrent streams (default 10000) from one client process, 5 messages 1 s apart
# each, against the streaming kind's server (default settings, metrics on); print the wall time
# until all finish, next to one stream alone (the baseline: 4 s is ideal, five messages and four
# gaps), in ROUNDS interleaved rounds (default 3) with every round's figure and the medians, then
# the server's peak RSS and its CPU time.
#   bench/streaming.sh [STREAMS]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
streams=${1:-10000}
secret="a benchmark secret of at least thirty-two bytes"

generate streaming stream
serve stream-server 50081 JWT_SECRET="$secret" STREAM_MESSAGES=5 STREAM_INTERVAL_MS=1000
# The client's ephemeral ports, sockets and tasks: raise the open-file limit for 10,000 streams.
ulimit -n 65536 2>/dev/null || true

# run_streams N: wall time in seconds for N concurrent streams; checks every message arrived.
run_streams() {
  local start end lines
  start=$EPOCHREALTIME
  # shellcheck disable=SC2046
  JWT_SECRET="$secret" "$CARGO_TARGET_DIR/release/stream-client" --server http://127.0.0.1:50081 \
    --ttl-secs 600 --concurrent $(seq -f 'user%g' 1 "$1") >"$runs_dir/out.txt"
  end=$EPOCHREALTIME
  lines=$(wc -l <"$runs_dir/out.txt")
  if [ "$lines" -ne $(( $1 * 5 )) ]; then
    echo "$1 streams: $lines messages received, $(( $1 * 5 )) expected; the server's log ends:" >&2
    grep -v "stream started" "$runs_dir/stream-server-50081.log" | tail -5 >&2
    exit 1
  fi
  awk -v s="$start" -v e="$end" 'BEGIN { printf "%.2f", e - s }'
}

median() {
  sort -g | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

one=() many=()
for round in $(seq "${ROUNDS:-3}"); do
  one+=("$(run_streams 1)")
  many+=("$(run_streams "$streams")")
  echo "round $round: one stream ${one[-1]} s, $streams streams ${many[-1]} s" >&2
done
echo "one stream (baseline): median $(printf '%s\n' "${one[@]}" | median) s; every round: ${one[*]}"
echo "$streams concurrent streams: median $(printf '%s\n' "${many[@]}" | median) s (goal < 7 s); every round: ${many[*]}; all $(( streams * 5 )) messages received each time"
awk -v rss="$(awk '/VmHWM/ { print $2 }' "/proc/$server_pid/status")" \
  -v cpu="$(cpu_ticks "$server_pid")" -v hz="$(getconf CLK_TCK)" 'BEGIN {
    printf "server peak RSS: %.1f MB (goal < 300 MB); server CPU time, all rounds: %.2f s\n", rss / 1024, cpu / hz
  }'
