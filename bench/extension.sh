#!/usr/bin/env bash
# ExtensionData throughput of the extension kind with a valid RS256 token, with and without the
# verified-token cache, next to a bare tonic unary server (the basic kind's greeting v1), all
# measured in the same run with h2load.
#   bench/extension.sh           (REQUESTS=40000 per cell by default)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

generate basic bare
generate extension ext
make -C "$runs_dir/ext" --quiet dev-keys >/dev/null 2>&1
token=$(cd "$runs_dir/ext" && "$CARGO_TARGET_DIR/release/ext-token" --ttl-secs 3600)
python3 bench/frame.py empty >"$runs_dir/empty.bin"
python3 bench/frame.py extension "$token" >"$runs_dir/request.bin"
keys=(PUBLIC_KEY_FILE="$runs_dir/ext/dev-keys/public.pem" CLIENT_IDS=1)

serve bare-server 50071
header
table "bare tonic unary (baseline)" http://127.0.0.1:50071/bare.greeting.v1.GreetingService/SayHello "$runs_dir/empty.bin"
serve ext-server 50072 "${keys[@]}"
table "ExtensionData, token cache on" http://127.0.0.1:50072/protos.DataExtension/ExtensionData "$runs_dir/request.bin"
serve ext-server 50073 "${keys[@]}" TOKEN_CACHE_SIZE=0
table "ExtensionData, token cache off" http://127.0.0.1:50073/protos.DataExtension/ExtensionData "$runs_dir/request.bin"
