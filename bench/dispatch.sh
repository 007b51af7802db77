#!/usr/bin/env bash
# Dispatch throughput of the tyk kind (the Pre example hook, INFO logging on), next to a bare
# tonic unary server (the basic kind's greeting v1) measured in the same run, with h2load.
#   bench/dispatch.sh            (REQUESTS=40000 per cell by default)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

generate basic bare
generate tyk plugin
python3 bench/frame.py empty >"$runs_dir/empty.bin"
python3 bench/frame.py tyk-pre >"$runs_dir/pre.bin"

serve bare-server 50061
header
table "bare tonic unary (baseline)" http://127.0.0.1:50061/bare.greeting.v1.GreetingService/SayHello "$runs_dir/empty.bin"
serve plugin-server 50062
table "tyk Dispatch, Pre hook" http://127.0.0.1:50062/coprocess.Dispatcher/Dispatch "$runs_dir/pre.bin"
sleep 0.5 # the log writer flushes within 50 ms
grep -c 'dispatch' "$runs_dir/plugin-server-50062.log" | sed 's/^/dispatch log lines written: /'
