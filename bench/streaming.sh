#!/usr/bin/env bash
# Open STREAMS concurrent streams (default 10000) from one client process, 5 messages 1 s apart
# each, against the streaming kind's server; print the wall time until all finish, the server's
# peak RSS and its CPU time. The ideal wall time is one stream's duration (4 s: five messages,
# four gaps).
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

echo "one stream (baseline): $(run_streams 1) s"
echo "$streams concurrent streams: $(run_streams "$streams") s, all $(( streams * 5 )) messages received"
awk -v rss="$(awk '/VmHWM/ { print $2 }' "/proc/$server_pid/status")" \
  -v cpu="$(cpu_ticks "$server_pid")" -v hz="$(getconf CLK_TCK)" 'BEGIN {
    printf "server peak RSS: %.1f MB; server CPU time: %.2f s\n", rss / 1024, cpu / hz
  }'
