#!/usr/bin/env bash
# What the tyk kind's plugin adds to each request through a real Tyk Gateway, against the floor
# of any gRPC plugin: an empty one (bench/tyk-empty: each Object back unchanged, built in the
# same run). A gateway talks to one gRPC plugin server, so two gateways run, identical but for
# that server: one calls the empty plugin, the other the generated plugin. Each serves three
# keyless APIs: one with no plugin (its baseline), one with only the plugin's Pre hook, and one
# with a Pre hook named Tagged, for which the empty plugin makes the generated example hook's
# changes (a header and a query parameter), to tell the gateway's work of applying them from the
# plugin's own. wrk measures p50 latency at 1 connection and requests/s at 32 connections, and
# /proc the CPU time per request of the gateway and of its plugin, for the five cells that matter
# (Tagged on the generated plugin's gateway is not measured). Only one gateway is under load at a
# time; the cells take turns over several rounds, in an order that rotates each round, every
# round is printed, and each figure is the median of its rounds, since one run on two shared
# cores is noisy. The generated plugin runs as generated: INFO logs, metrics on.
#   bench/tyk-gateway.sh         (ROUNDS=5, DURATION=5s per cell by default)
# Goals: the generated plugin's requests/s at least 0.95x the empty plugin's, and its p50 added to
# its gateway's plain API at most 1.1x the empty plugin's.
# Needs wrk (`apt-get install wrk`), Redis (`apt-get install redis-server`), Go for the first build
# of the gateway (scripts/tyk-gateway.sh), and Envoy (`./scripts/test` installs it into
# target/tools).
set -euo pipefail
cd "$(dirname "$0")/.."

command -v wrk >/dev/null || { echo "error: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
command -v redis-server >/dev/null ||
  { echo "error: redis-server is not installed (apt-get install redis-server)" >&2; exit 1; }
envoy=${ENVOY:-$(command -v envoy || echo "$PWD/target/tools/venv/bin/envoy")}
[ -x "$envoy" ] || { echo "error: no Envoy at $envoy; run ./scripts/test once, or set ENVOY" >&2; exit 1; }
gateway_dir=$(scripts/tyk-gateway.sh "$PWD/target/tools")
source bench/lib.sh

generate tyk plugin
(cd bench/tyk-empty && cargo build --release --quiet)
rounds=${ROUNDS:-5}
duration=${DURATION:-5s}
# Ports the kernel picks free, since other gateways and Redis servers may run on this machine.
# Gateway e calls the empty plugin, gateway g the generated one; each has a Redis of its own.
read -r upstream_port redis_e redis_g gateway_e gateway_g empty_port plugin_port admin_port < <(python3 -c '
import socket
sockets = [socket.socket() for _ in range(8)]
for s in sockets: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in sockets))')

# wait_for PORT NAME: waits up to 10 s for a listener on PORT.
wait_for() {
  for _ in $(seq 100); do
    (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return
    sleep 0.1
  done
  echo "error: $2 never opened port $1" >&2
  exit 1
}

for port in "$redis_e" "$redis_g"; do
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no >"$runs_dir/redis-$port.log" &
  wait_for "$port" redis-server
done

# The upstream: Envoy answering 200 from a direct response, on one worker. It parses HTTP/1.1 in
# C++ and keeps the gateway's connections alive, so it stays cheap and steady at any load the
# gateway can push on two cores; a Python server would cost more per request than the plugin.
cat >"$runs_dir/upstream.yaml" <<YAML
static_resources:
  listeners:
    - address: { socket_address: { address: 127.0.0.1, port_value: $upstream_port } }
      filter_chains:
        - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: upstream
                route_config:
                  virtual_hosts:
                    - name: upstream
                      domains: ["*"]
                      routes:
                        - match: { prefix: "/" }
                          direct_response: { status: 200, body: { inline_string: "ok\n" } }
                http_filters:
                  - name: envoy.filters.http.router
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
YAML
"$envoy" -c "$runs_dir/upstream.yaml" --concurrency 1 --log-level error --base-id $((RANDOM * 10)) \
  --disable-hot-restart >"$runs_dir/upstream.log" 2>&1 &
wait_for "$upstream_port" "the upstream (Envoy)"

# The generated plugin, with a signing key (it refuses to start without one) and its metrics on
# ADMIN_LISTEN_ADDR; and the empty plugin.
serve plugin-server "$plugin_port" HMAC_KEYS="client-1=$(openssl rand -hex 32)" \
  ADMIN_LISTEN_ADDR="127.0.0.1:$admin_port"
generated_pid=$server_pid
"$CARGO_TARGET_DIR/release/tyk-empty" "127.0.0.1:$empty_port" 2>"$runs_dir/tyk-empty.log" &
empty_pid=$!
wait_for "$empty_port" "the empty plugin"

# The gateways: the generated tyk.conf pointed at their Redis, plugin and app directory, and the
# generated classic API made keyless three times over: with no plugin, with only its Pre hook,
# and with only a Pre hook named Tagged.
python3 - "$runs_dir/plugin/tyk" "$runs_dir" "$gateway_dir/templates" <<PY
import json, os, sys
tyk, runs, templates = sys.argv[1:]
classic = json.load(open(f"{tyk}/apps/classic.json"))
pre = classic["custom_middleware"]["pre"]
for gateway, port, redis, plugin in (("e", $gateway_e, $redis_e, $empty_port),
                                     ("g", $gateway_g, $redis_g, $plugin_port)):
    apps = f"{runs}/apps-{gateway}"
    os.mkdir(apps)
    conf = json.load(open(f"{tyk}/tyk.conf"))
    conf.update(listen_port=port, secret="bench", template_path=templates,
                app_path=apps, pid_file_location=f"{runs}/tyk-{gateway}.pid")
    conf["storage"].update(host="127.0.0.1", port=redis)
    # Unset, Go keeps 2 idle upstream connections, and at 32 connections the gateway dials the
    # upstream for about every other request; Tyk's own packaged tyk.conf files set 500.
    conf.setdefault("max_idle_connections_per_host", 500)
    conf["coprocess_options"].update(coprocess_grpc_server=f"tcp://127.0.0.1:{plugin}",
                                     grpc_authority=f"127.0.0.1:{plugin}")
    json.dump(conf, open(f"{runs}/tyk-{gateway}.conf", "w"), indent=2)
    for name in ("plain", "plugin", "tagged"):
        api = json.loads(json.dumps(classic))
        api.update(name=f"bench {name}", api_id=f"bench-{name}", use_keyless=True,
                   enable_coprocess_auth=False)
        api.pop("auth", None)
        api.pop("event_handlers", None)
        api["proxy"].update(listen_path=f"/{name}/", target_url="http://127.0.0.1:$upstream_port/")
        if name == "plain":
            del api["custom_middleware"]
        elif name == "plugin":
            api["custom_middleware"] = {"driver": "grpc", "pre": pre}
        else:
            api["custom_middleware"] = {"driver": "grpc", "pre": [dict(pre[0], name="Tagged")]}
        json.dump(api, open(f"{apps}/{name}.json", "w"), indent=2)
PY
# Each runs in the run's directory, where it may write a default tyk.conf of its own, as one
# run left in the working directory.
for gateway in e g; do
  (cd "$runs_dir" && exec "$gateway_dir/tyk-gateway" start --conf "$runs_dir/tyk-$gateway.conf" \
    >"$runs_dir/gateway-$gateway.log" 2>&1) &
  eval "gateway_${gateway}_pid=$!"
done

# The cells: NAME -> gateway port, gateway pid, plugin pid, path.
declare -A cell_port=([plain_e]=$gateway_e [empty]=$gateway_e [tagged]=$gateway_e [plain_g]=$gateway_g [generated]=$gateway_g)
declare -A cell_gateway=([plain_e]=$gateway_e_pid [empty]=$gateway_e_pid [tagged]=$gateway_e_pid [plain_g]=$gateway_g_pid [generated]=$gateway_g_pid)
declare -A cell_plugin=([plain_e]=$empty_pid [empty]=$empty_pid [tagged]=$empty_pid [plain_g]=$generated_pid [generated]=$generated_pid)
declare -A cell_path=([plain_e]=plain [empty]=plugin [tagged]=tagged [plain_g]=plain [generated]=plugin)
cells=(plain_e empty tagged plain_g generated)
url() { echo "http://127.0.0.1:${cell_port[$1]}/${cell_path[$1]}/"; }

wait_for "$gateway_e" "the empty plugin's gateway"
wait_for "$gateway_g" "the generated plugin's gateway"
for name in "${cells[@]}"; do
  for _ in $(seq 100); do
    code=$(curl -s --max-time 2 -o /dev/null -w '%{http_code}' "$(url "$name")" || true)
    [ "$code" = 200 ] && break
    sleep 0.1
  done
  if [ "$code" != 200 ]; then
    echo "error: the gateway answers $code on $(url "$name"):" >&2
    tail -20 "$runs_dir"/gateway-*.log >&2
    exit 1
  fi
done

# run_wrk ARGS...: wrk's report, stopped if it outlives its duration by far; a failed or non-200
# response ends the run.
run_wrk() {
  local output
  output=$(timeout 120 wrk "$@")
  if grep -q "Non-2xx\|Socket errors" <<<"$output"; then
    echo "$output" >&2
    exit 1
  fi
  echo "$output"
}

# measure_cell NAME: appends NAME's p50 at 1 connection (us) and its plugin's CPU time per request
# there, its requests/s and the gateway's and the plugin's CPU time per request at 32 connections,
# and the requests of both runs; prints them.
measure_cell() {
  local url gateway_pid=${cell_gateway[$1]} plugin_pid=${cell_plugin[$1]}
  local latency output gateway_before plugin_before plugin_1c
  url=$(url "$1")
  plugin_before=$(cpu_ticks "$plugin_pid")
  latency=$(run_wrk -t1 -c1 -d"$duration" --latency "$url")
  plugin_1c=$(($(cpu_ticks "$plugin_pid") - plugin_before))
  gateway_before=$(cpu_ticks "$gateway_pid")
  plugin_before=$(cpu_ticks "$plugin_pid")
  output=$(run_wrk -t2 -c32 -d"$duration" "$url")
  awk -v name="$1" -v cells="$runs_dir/cells" -v hz="$(getconf CLK_TCK)" -v plugin_1c="$plugin_1c" \
    -v gateway=$(($(cpu_ticks "$gateway_pid") - gateway_before)) \
    -v plugin=$(($(cpu_ticks "$plugin_pid") - plugin_before)) '
    FNR == 1 { run++ }
    run == 1 && $1 == "50%" {
      v = $2; u = v; gsub(/[0-9.]/, "", u); gsub(/[a-z]/, "", v)
      p50 = u == "ms" ? v * 1000 : (u == "s" ? v * 1000000 : v)
    }
    / requests in / { requests[run] = $1 }
    run == 2 && /^Requests\/sec/ { rps = $2 }
    END {
      gateway = gateway / hz * 1e6 / requests[2]; plugin = plugin / hz * 1e6 / requests[2]
      plugin_1c = plugin_1c / hz * 1e6 / requests[1]
      printf "%s p50 %s\n%s rps %s\n", name, p50, name, rps >>cells
      printf "%s gateway_cpu %.1f\n%s plugin_cpu %.1f\n", name, gateway, name, plugin >>cells
      printf "%s plugin_cpu_1c %.1f\n", name, plugin_1c >>cells
      printf "%s requests %d\n", name, requests[1] + requests[2] >>cells
      printf "  %-9s p50 1c %6.0f us (plugin CPU %5.1f us/req)   req/s 32c %7.0f   CPU/req at 32c: gateway %5.1f us, plugin %5.1f us\n",
        name, p50, plugin_1c, rps, gateway, plugin
    }' <(echo "$latency") <(echo "$output")
}

echo "warming up" >&2
for name in "${cells[@]}"; do
  run_wrk -t2 -c32 -d3s "$(url "$name")" >/dev/null
done

dispatched_before=$(metric "$admin_port" tyk_dispatches_total)
handled_before=$(metric "$admin_port" grpc_server_handling_seconds_sum)
# The cells rotate by one place every round, so that none always runs first or after the same one.
for round in $(seq "$rounds"); do
  echo "round $round of $rounds"
  for i in "${!cells[@]}"; do
    measure_cell "${cells[$(((i + round - 1) % ${#cells[@]}))]}"
  done
done
dispatched=$(awk -v a="$dispatched_before" -v b="$(metric "$admin_port" tyk_dispatches_total)" 'BEGIN { print b - a }')
handled=$(awk -v a="$handled_before" -v b="$(metric "$admin_port" grpc_server_handling_seconds_sum)" 'BEGIN { print b - a }')

echo
awk -v dispatched="$dispatched" -v handled="$handled" "$collect_rounds"'
  function missed(ok) { return ok ? "met" : "goal missed" }
  END {
    split("plain_e empty tagged plain_g generated", names, " ")
    label["plain_e"] = "no plugin, gateway e (empty plugin)"
    label["empty"] = "empty plugin, Pre hook (gateway e)"
    label["tagged"] = "empty plugin, Tagged hook (gateway e)"
    label["plain_g"] = "no plugin, gateway g (generated plugin)"
    label["generated"] = "generated plugin, Pre hook (gateway g)"
    printf "%-40s %11s %10s %12s %12s %12s\n", "through Tyk Gateway (median of rounds)", "p50 1c (us)", "req/s 32c",
      "gateway CPU", "plugin CPU", "plugin CPU 1c"
    printf "%-40s %11s %10s %12s %12s %12s\n", "", "", "", "per req 32c", "per req 32c", "per req"
    for (i = 1; i <= 5; i++) {
      n = names[i]
      p[n] = median(values[n " p50"]); r[n] = median(values[n " rps"])
      g[n] = median(values[n " gateway_cpu"]); c[n] = median(values[n " plugin_cpu"]); c1[n] = median(values[n " plugin_cpu_1c"])
      plugin = n ~ /^plain/ ? "-" : sprintf("%.1f us", c[n])
      plugin_1c = n ~ /^plain/ ? "-" : sprintf("%.1f us", c1[n])
      printf "%-40s %11.0f %10.0f %12s %12s %12s\n", label[n], p[n], r[n], sprintf("%.1f us", g[n]), plugin, plugin_1c
    }
    rps = r["generated"] / r["empty"]
    added_g = p["generated"] - p["plain_g"]; added_e = p["empty"] - p["plain_e"]
    added = added_e > 0 ? added_g / added_e : 0
    printf "\ngenerated / empty plugin, req/s at 32c: %.2fx (goal >= 0.95x): %s; every round: %s vs%s\n",
      rps, missed(rps >= 0.95), values["generated rps"], values["empty rps"]
    printf "added to p50 at 1c over its gateway'"'"'s plain API: generated %.0f us, empty %.0f us: %.2fx (goal <= 1.1x): %s\n",
      added_g, added_e, added, missed(added_e > 0 && added <= 1.1)
    printf "plain API, req/s at 32c: gateway g / gateway e %.2fx; p50 at 1c: %.0f vs %.0f us\n",
      r["plain_g"] / r["plain_e"], p["plain_g"], p["plain_e"]
    printf "CPU per request at 32c: generated plugin %.1f us per dispatch beside its gateway'"'"'s %.1f us (plain API: %.1f us);\n",
      c["generated"], g["generated"], g["plain_g"]
    printf "                        empty plugin %.1f us per dispatch beside its gateway'"'"'s %.1f us (plain API: %.1f us)\n",
      c["empty"], g["empty"], g["plain_e"]
    printf "the generated plugin costs %+.1f us of its own CPU and %+.1f us of the gateway'"'"'s per request more than the empty one\n",
      c["generated"] - c["empty"], g["generated"] - g["plain_g"] - (g["empty"] - g["plain_e"])
    printf "the gateway applying the Pre hook'"'"'s changes (empty plugin with them / without): req/s %.2fx, p50 %+.0f us, gateway CPU %+.1f us per request\n",
      r["tagged"] / r["empty"], p["tagged"] - p["empty"], g["tagged"] - g["empty"]
    printf "generated plugin / empty plugin making the same changes: req/s at 32c %.2fx; added p50 at 1c %.2fx (%.0f vs %.0f us); plugin CPU %.1f vs %.1f us per dispatch\n",
      r["generated"] / r["tagged"], (p["tagged"] > p["plain_e"] ? added_g / (p["tagged"] - p["plain_e"]) : 0),
      added_g, p["tagged"] - p["plain_e"], c["generated"], c["tagged"]
    split(values["generated requests"], sent, " ")
    for (i in sent) total += sent[i]
    printf "Pre hook calls in tyk_dispatches_total during the rounds: %d; wrk counted %d requests to the generated plugin'"'"'s API (not those in flight when it stops)\n", dispatched, total
    if (dispatched) printf "time in the generated plugin'"'"'s call layer and handler (grpc_server_handling_seconds), mean %.1f us per dispatch\n", handled * 1e6 / dispatched
  }' "$runs_dir/cells"
