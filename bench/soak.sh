#!/usr/bin/env bash
# A soak of mixed traffic against each kind's server, sampling its RSS and open file descriptors
# every second: h2load health checks on fresh connections, without pause, and every fault of
# tests/it/peers/hostile.py (not protobuf, lying lengths, huge metadata, resets, 5,000 idle
# connections, ...) over and over beside them. After a warm-up (the first quarter of the run,
# which brings the allocator to the level it keeps), prints the highest RSS of each half of the
# rest and the growth from one to the other, and the open descriptors at the start, at most, and
# once the traffic has stopped.
#   bench/soak.sh                      (10 minutes per kind, every kind)
#   DURATION=60 KINDS="basic tyk" bench/soak.sh
# It needs h2load (Debian's `nghttp2-client`) and Python's h2 (in target/tools/venv after
# ./scripts/test, or `pip install h2`).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
duration=${DURATION:-600}
kinds=${KINDS:-basic custom extension streaming tyk ext-proc ext-proc-l4}
python=python3
[ -x target/tools/venv/bin/python ] && python=target/tools/venv/bin/python
"$python" -c 'import h2' || { echo "soak.sh needs Python's h2: pip install h2" >&2; exit 1; }
python3 bench/frame.py empty >"$runs_dir/empty.bin"
secret="a secret of the soak that is well over thirty-two bytes long"

port=50090
printf '%-12s %12s %12s %8s %8s %8s %8s\n' kind "rss 1st half" "rss 2nd half" growth "fd start" "fd max" "fd after"
for kind in $kinds; do
  port=$((port + 2))
  name="soak-${kind}"
  case $kind in
    custom)
      "$scaffold" new "$name" --proto tests/fixtures/catalog/catalog/v1/catalog.proto \
        -I tests/fixtures/catalog -o "$runs_dir/$name" >/dev/null
      (cd "$runs_dir/$name" && cargo build --release --quiet) ;;
    *) generate "$kind" "$name" ;;
  esac
  env=()
  case $kind in
    extension)
      make -C "$runs_dir/$name" --quiet dev-keys >/dev/null 2>&1
      env=(PUBLIC_KEY_FILE="$runs_dir/$name/dev-keys/public.pem" CLIENT_IDS=1) ;;
    streaming) env=(JWT_SECRET="$secret") ;;
    tyk) env=(HMAC_KEYS="client-1=$secret") ;;
    ext-proc | ext-proc-l4) env=(PLAINTEXT_LISTEN="127.0.0.1:$port" TLS_LISTEN=off HEALTH_LISTEN=off) ;;
  esac
  serve "$name-server" "$port" "${env[@]}"
  pid=$server_pid

  samples="$runs_dir/$name.samples"
  (while kill -0 "$pid" 2>/dev/null; do
    echo "$(memory "$pid" VmRSS) $(ls "/proc/$pid/fd" | wc -l)"
    sleep 1
  done >"$samples") &
  sampler=$!
  end=$((SECONDS + duration))
  (while [ $SECONDS -lt $end ]; do
    h2load --requests 20000 --clients 16 --max-concurrent-streams 8 \
      --header 'content-type: application/grpc' --header 'te: trailers' \
      --data "$runs_dir/empty.bin" "http://127.0.0.1:$port/grpc.health.v1.Health/Check" >/dev/null
  done) &
  load=$!
  while [ $SECONDS -lt $end ]; do
    "$python" tests/it/peers/hostile.py "127.0.0.1:$port" --once
  done
  wait "$load"
  sleep 2
  echo "after $(ls "/proc/$pid/fd" | wc -l)" >>"$samples.after"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true

  awk -v kind="$kind" -v after="$(awk '{ print $2 }' "$samples.after")" '
    { rss[NR] = $1; fd[NR] = $2 }
    END {
      warm = int(NR / 4) + 1
      mid = int((warm + NR) / 2)
      for (i = warm; i <= NR; i++) {
        if (i < mid && rss[i] > first) first = rss[i]
        if (i >= mid && rss[i] > second) second = rss[i]
        if (fd[i] > fd_max) fd_max = fd[i]
      }
      printf "%-12s %10.1fMB %10.1fMB %7.1f%% %8d %8d %8d\n", kind, first / 1024, second / 1024,
        (second - first) * 100 / first, fd[1], fd_max, after
    }' "$samples"
done
