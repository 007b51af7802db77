#!/usr/bin/env bash
# Open STREAMS concurrent streams (default 10000) from one client process, 5 messages 1 s apart
# each, against the streaming kind's server (default settings, metrics on); print the wall time
# until all finish, next to one stream alone (the baseline: 4 s is ideal, five messages and four
# gaps), in ROUNDS interleaved rounds (default 3) with every round's figure and the medians, then
# the server's peak RSS and its CPU time. Then IDLE streams (default 50000) held open at once, in
# ROUNDS rounds, each on a server started afresh that sends a stream's first message at once and
# its second IDLE_SECS (default 30) later: the server's RSS before they open and once all are open
# (its `streaming_open_streams` gauge says so) and quiet, and the difference per stream. The
# client spreads them over connections of 25 streams each, as it does any concurrent streams,
# so a stream's share of its connection is in the figure.
#   bench/streaming.sh [STREAMS]   (IDLE=50000, IDLE_SECS=30, ROUNDS=3 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
streams=${1:-10000}
secret="a benchmark secret of at least thirty-two bytes"

idle=${IDLE:-50000}
idle_secs=${IDLE_SECS:-30}

generate streaming stream
# The client's ephemeral ports, sockets and tasks, and the server's sockets: raise the open-file
# limit for tens of thousands of streams.
ulimit -n 65536 2>/dev/null || true
serve stream-server 50081 JWT_SECRET="$secret" STREAM_MESSAGES=5 STREAM_INTERVAL_MS=1000

# client PORT N: N concurrent streams from one client process, their messages in out.txt.
client() {
  # shellcheck disable=SC2046
  JWT_SECRET="$secret" "$CARGO_TARGET_DIR/release/stream-client" --server "http://127.0.0.1:$1" \
    --ttl-secs 600 --concurrent $(seq -f 'user%g' 1 "$2") >"$runs_dir/out.txt"
}

# expect_messages PORT N EACH: fails unless N streams of EACH messages all arrived.
expect_messages() {
  local lines
  lines=$(wc -l <"$runs_dir/out.txt")
  if [ "$lines" -ne $(($2 * $3)) ]; then
    echo "$2 streams: $lines messages received, $(($2 * $3)) expected; the server's log ends:" >&2
    grep -v "stream started" "$runs_dir/stream-server-$1.log" | tail -5 >&2
    exit 1
  fi
}

# run_streams N: wall time in seconds for N concurrent streams; checks every message arrived.
run_streams() {
  local start end
  start=$EPOCHREALTIME
  client 50081 "$1"
  end=$EPOCHREALTIME
  expect_messages 50081 "$1" 5
  awk -v s="$start" -v e="$end" 'BEGIN { printf "%.2f", e - s }'
}

# idle_streams: one round of the idle streams; sets $before and $open, the server's RSS in KiB.
idle_streams() {
  serve stream-server 50082 JWT_SECRET="$secret" STREAM_MESSAGES=2 \
    STREAM_INTERVAL_MS=$((idle_secs * 1000))
  local client_pid
  open=0
  before=$(memory "$server_pid" VmRSS)
  client 50082 "$idle" &
  client_pid=$!
  for _ in $(seq $((idle_secs * 10))); do
    open=$(metric 51082 streaming_open_streams)
    [ "${open:-0}" -ge "$idle" ] && break
    sleep 0.1
  done
  if [ "${open:-0}" -lt "$idle" ]; then
    echo "error: only ${open:-0} of $idle streams opened within $idle_secs s" >&2
    exit 1
  fi
  sleep 1 # every first message sent and read: the streams are idle
  open=$(memory "$server_pid" VmRSS)
  wait "$client_pid"
  expect_messages 50082 "$idle" 2
  kill "$server_pid"
  wait "$server_pid" 2>/dev/null || true
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
awk -v rss="$(memory "$server_pid" VmHWM)" \
  -v cpu="$(cpu_ticks "$server_pid")" -v hz="$(getconf CLK_TCK)" 'BEGIN {
    printf "server peak RSS: %.1f MB (goal < 300 MB); server CPU time, all rounds: %.2f s\n", rss / 1024, cpu / hz
  }'

per_stream=()
for round in $(seq "${ROUNDS:-3}"); do
  idle_streams
  per_stream+=("$(awk -v b="$before" -v o="$open" -v n="$idle" 'BEGIN { printf "%.0f", (o - b) * 1024 / n }')")
  echo "round $round: $idle idle streams, server RSS $((before / 1024)) MB before, $((open / 1024)) MB open: ${per_stream[-1]} bytes a stream" >&2
done
echo "$idle idle streams: median $(printf '%s\n' "${per_stream[@]}" | median) bytes a stream on the server; every round: ${per_stream[*]}"
