# Shared by the benchmark scripts: generate and build a project, run its server, load it.
# Each script sources this file from the repository root.

runs_dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$runs_dir"' EXIT
export CARGO_TARGET_DIR="$PWD/target/bench-target"
cargo build --release --quiet
scaffold="$CARGO_TARGET_DIR/release/grpc-scaffold"

# generate KIND NAME: writes $runs_dir/NAME and builds its release binaries.
generate() {
  "$scaffold" new "$2" --kind "$1" -o "$runs_dir/$2" >/dev/null
  (cd "$runs_dir/$2" && cargo build --release --quiet)
}

# serve BINARY PORT [ENV=VALUE...]: starts a server with INFO logs to a file, and its admin
# listener (metrics) on PORT + 1000 unless ENV says otherwise; sets $server_pid.
serve() {
  local binary=$1 port=$2
  shift 2
  env RUST_LOG=info LISTEN_ADDR="127.0.0.1:$port" ADMIN_LISTEN_ADDR="127.0.0.1:$((port + 1000))" \
    "$@" "$CARGO_TARGET_DIR/release/$binary" \
    2>"$runs_dir/$binary-$port.log" &
  server_pid=$!
  for _ in $(seq 100); do
    (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return
    sleep 0.1
  done
  echo "server $binary never opened port $port:" >&2
  cat "$runs_dir/$binary-$port.log" >&2
  exit 1
}

# load URL BODY CONNECTIONS STREAMS: requests/s of a gRPC unary call under h2load.
load() {
  local output
  output=$(h2load --requests "${REQUESTS:-40000}" --clients "$3" --max-concurrent-streams "$4" \
    --header 'content-type: application/grpc' --header 'te: trailers' --data "$2" "$1")
  if ! grep -q " 0 failed, 0 errored, 0 timeout" <<<"$output"; then
    echo "$output" >&2
    exit 1
  fi
  awk '/^finished in/ { print $4 }' <<<"$output"
}

# cpu_ticks PID: the process's user and system CPU time so far, in clock ticks.
cpu_ticks() {
  awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# memory PID FIELD: a /proc/PID/status figure in KiB: VmRSS (resident now) or VmHWM (at most).
memory() {
  awk -v field="$2:" '$1 == field { print $2 }' "/proc/$1/status"
}

# metric ADMIN_PORT NAME: the sum of NAME's samples (every label set) on a server's /metrics;
# 0 when it has none yet.
metric() {
  curl -fs --max-time 5 "http://127.0.0.1:$1/metrics" |
    awk -v name="$2" '$1 == name || index($1, name "{") == 1 { n += $NF } END { printf "%.15g\n", n }'
}

# table NAME URL BODY: one row of requests/s at 1x1, 32x1 and 32x10 (connections x streams).
table() {
  printf '%-34s %10s %10s %10s\n' "$1" "$(load "$2" "$3" 1 1)" "$(load "$2" "$3" 32 1)" "$(load "$2" "$3" 32 10)"
}

header() {
  printf '%-34s %10s %10s %10s\n' "requests/s" "1x1" "32x1" "32x10"
}

# measure RUNS COMMAND...: runs COMMAND with a fresh destination path appended, RUNS times;
# prints "median fastest" in ms.
measure() {
  local runs=$1 times=() start end
  shift
  for ((i = 0; i < runs; i++)); do
    start=$EPOCHREALTIME
    "$@" "$runs_dir/out-$i" >/dev/null 2>&1
    end=$EPOCHREALTIME
    times+=("$(awk -v a="$start" -v b="$end" 'BEGIN { print (b - a) * 1000 }')")
  done
  rm -rf "$runs_dir"/out-*
  printf '%s\n' "${times[@]}" | sort -g | awk '{ t[NR] = $1 } END { printf "%8.1f %8.1f", t[int((NR + 1) / 2)], t[1] }'
}

# An awk program that gathers lines "NAME MEASURE VALUE" (one per round) into values[NAME " "
# MEASURE], and defines median(values[...]); a script appends its END block to it.
collect_rounds='
  { values[$1 " " $2] = values[$1 " " $2] " " $3 }
  function median(list,   n, v, i, j, t) {
    n = split(list, v, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
  }
'

# large_api DIR: writes the 50-services x 20-RPCs API into DIR: 10 files (api0.proto to
# api9.proto) of 5 services each, every RPC shape, importing a shared file and each other.
large_api() {
  mkdir -p "$1"
  {
    echo 'syntax = "proto3";'
    echo 'package large.common;'
    echo 'message Page { uint32 size = 1; string token = 2; }'
    echo 'message Item { string id = 1; map<string, string> labels = 2; Page page = 3; }'
  } >"$1/common.proto"
  local shapes=("" "stream " "" "stream ")
  local replies=("" "" "stream " "stream ")
  for file in $(seq 0 9); do
    {
      echo 'syntax = "proto3";'
      echo "package large.v$file;"
      echo 'import "common.proto";'
      [ "$file" -gt 0 ] && echo "import \"api$((file - 1)).proto\";"
      echo "message Request$file { string id = 1; large.common.Page page = 2; }"
      for service in $(seq 0 4); do
        echo "service Service${file}x$service {"
        for rpc in $(seq 0 19); do
          shape=$((rpc % 4))
          echo "  rpc Call$rpc(${shapes[$shape]}Request$file) returns (${replies[$shape]}large.common.Item);"
        done
        echo "}"
      done
    } >"$1/api$file.proto"
  done
}
