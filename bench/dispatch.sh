#!/usr/bin/env bash
# Dispatch throughput of the tyk kind (the Pre example hook, at the default log level, with
# metrics on), next to a bare tonic unary server (the basic kind's greeting v1) measured in the
# same run, with h2load. The same plugin runs a second time with METRICS=false, to show the CPU
# that the metrics of each call cost. The servers take turns cell by cell over several rounds,
# and each figure is the median of its rounds, since one run on two shared cores is noisy.
#   bench/dispatch.sh            (ROUNDS=3, REQUESTS=60000 per cell by default)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
rounds=${ROUNDS:-3}
export REQUESTS=${REQUESTS:-60000}

generate basic bare
generate tyk plugin
python3 bench/frame.py empty >"$runs_dir/empty.bin"
python3 bench/frame.py tyk-pre >"$runs_dir/pre.bin"

serve bare-server 50061
bare_pid=$server_pid
serve plugin-server 50062 HMAC_KEYS="client-1=$(openssl rand -hex 32)"
plugin_pid=$server_pid
serve plugin-server 50063 HMAC_KEYS="client-1=$(openssl rand -hex 32)" METRICS=false
quiet_pid=$server_pid
bare=(http://127.0.0.1:50061/bare.greeting.v1.GreetingService/SayHello "$runs_dir/empty.bin")
plugin=(http://127.0.0.1:50062/coprocess.Dispatcher/Dispatch "$runs_dir/pre.bin")
quiet=(http://127.0.0.1:50063/coprocess.Dispatcher/Dispatch "$runs_dir/pre.bin")

# cell NAME PID URL BODY CONNECTIONS STREAMS: appends NAME's requests/s, and the CPU time its
# server spent per request.
cell() {
  local before after rps
  before=$(cpu_ticks "$2")
  rps=$(load "$3" "$4" "$5" "$6")
  after=$(cpu_ticks "$2")
  echo "$1 ${5}x$6 $rps" >>"$runs_dir/cells"
  awk -v ticks=$((after - before)) -v hz="$(getconf CLK_TCK)" -v requests="$REQUESTS" \
    'BEGIN { printf "%s cpu%s %.2f\n", ARGV[1], ARGV[2], ticks / hz * 1e6 / requests }' "$1" "${5}x$6" >>"$runs_dir/cells"
}

cells=("1 1" "32 1" "32 10")
for round in $(seq "$rounds"); do
  echo "round $round of $rounds" >&2
  for cell in "${cells[@]}"; do
    read -r connections streams <<<"$cell"
    cell bare "$bare_pid" "${bare[@]}" "$connections" "$streams"
    cell plugin "$plugin_pid" "${plugin[@]}" "$connections" "$streams"
    cell quiet "$quiet_pid" "${quiet[@]}" "$connections" "$streams"
  done
done

awk "$collect_rounds"'
  END {
    printf "%-34s %10s %10s %10s\n", "requests/s (median of rounds)", "1x1", "32x1", "32x10"
    split("bare plugin quiet", names, " ")
    label["bare"] = "bare tonic unary (baseline)"
    label["plugin"] = "tyk Dispatch, Pre hook"
    label["quiet"] = "tyk Dispatch, METRICS=false"
    for (i = 1; i <= 3; i++) {
      printf "%-34s", label[names[i]]
      for (c = 1; c <= 3; c++) {
        cell = c == 1 ? "1x1" : (c == 2 ? "32x1" : "32x10")
        m[names[i], cell] = median(values[names[i] " " cell])
        printf " %10.0f", m[names[i], cell]
      }
      printf "\n"
    }
    printf "tyk / bare at 32x10: %.2fx (goal >= 0.8x); every round: %s vs%s\n",
      m["plugin", "32x10"] / m["bare", "32x10"], values["plugin 32x10"], values["bare 32x10"]
    printf "server CPU per request at 32x10 (median): bare %.1f us, tyk %.1f us, tyk without metrics %.1f us\n",
      median(values["bare cpu32x10"]), median(values["plugin cpu32x10"]), median(values["quiet cpu32x10"])
    printf "CPU per request that metrics add at 32x10: %.2f us (median); every round, on vs off:%s vs%s\n",
      median(values["plugin cpu32x10"]) - median(values["quiet cpu32x10"]), values["plugin cpu32x10"], values["quiet cpu32x10"]
  }' "$runs_dir/cells"
