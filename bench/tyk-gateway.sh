#!/usr/bin/env bash
# What the tyk kind's plugin adds to each request through a real Tyk Gateway: p50 latency at 1
# connection and requests/s at 32 connections, with wrk, for one gateway serving two keyless APIs,
# one with no plugin (the baseline) and one with only the generated plugin's Pre hook; and the CPU
# time per request of the gateway and of the plugin at 32 connections. The APIs take turns over
# several rounds, and each figure is the median of its rounds, since one run on two shared cores
# is noisy. The plugin runs as generated: INFO logs, metrics on.
#   bench/tyk-gateway.sh         (ROUNDS=5, DURATION=5s per cell by default)
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
rounds=${ROUNDS:-5}
duration=${DURATION:-5s}
# Ports the kernel picks free, since other gateways and Redis servers may run on this machine.
read -r redis_port upstream_port gateway_port plugin_port admin_port < <(python3 -c '
import socket
sockets = [socket.socket() for _ in range(5)]
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

redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no >"$runs_dir/redis.log" &
wait_for "$redis_port" redis-server

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

# The plugin, with a signing key (it refuses to start without one) and its metrics on
# ADMIN_LISTEN_ADDR.
serve plugin-server "$plugin_port" HMAC_KEYS="client-1=$(openssl rand -hex 32)" \
  ADMIN_LISTEN_ADDR="127.0.0.1:$admin_port"
plugin_pid=$server_pid

# The gateway: the generated tyk.conf pointed at this run's Redis, plugin and app directory, and
# the generated classic API made keyless twice over, once with no plugin and once with only its
# Pre hook.
mkdir "$runs_dir/apps"
python3 - "$runs_dir/plugin/tyk" "$runs_dir" "$gateway_dir/templates" <<PY
import json, sys
tyk, runs, templates = sys.argv[1:]
conf = json.load(open(f"{tyk}/tyk.conf"))
conf.update(listen_port=$gateway_port, secret="bench", template_path=templates,
            app_path=f"{runs}/apps", pid_file_location=f"{runs}/tyk.pid")
conf["storage"].update(host="127.0.0.1", port=$redis_port)
# Unset, Go keeps 2 idle upstream connections, and at 32 connections the gateway dials the
# upstream for about every other request; Tyk's own packaged tyk.conf files set 500.
conf.setdefault("max_idle_connections_per_host", 500)
conf["coprocess_options"].update(coprocess_grpc_server="tcp://127.0.0.1:$plugin_port",
                                 grpc_authority="127.0.0.1:$plugin_port")
json.dump(conf, open(f"{runs}/tyk.conf", "w"), indent=2)

classic = json.load(open(f"{tyk}/apps/classic.json"))
pre = classic["custom_middleware"]["pre"]
for name in ("plain", "plugin"):
    api = json.loads(json.dumps(classic))
    api.update(name=f"bench {name}", api_id=f"bench-{name}", use_keyless=True, enable_coprocess_auth=False)
    api.pop("auth", None)
    api.pop("event_handlers", None)
    api["proxy"].update(listen_path=f"/{name}/", target_url="http://127.0.0.1:$upstream_port/")
    if name == "plain":
        del api["custom_middleware"]
    else:
        api["custom_middleware"] = {"driver": "grpc", "pre": pre}
    json.dump(api, open(f"{runs}/apps/{name}.json", "w"), indent=2)
PY
"$gateway_dir/tyk-gateway" start --conf "$runs_dir/tyk.conf" >"$runs_dir/gateway.log" 2>&1 &
gateway_pid=$!
wait_for "$gateway_port" "the gateway"
for name in plain plugin; do
  for _ in $(seq 100); do
    code=$(curl -s --max-time 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$gateway_port/$name/" || true)
    [ "$code" = 200 ] && break
    sleep 0.1
  done
  if [ "$code" != 200 ]; then
    echo "error: the gateway answers $code on /$name/:" >&2
    tail -20 "$runs_dir/gateway.log" >&2
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

# measure_cell NAME: appends NAME's p50 at 1 connection (us), its requests/s and the gateway's and
# the plugin's CPU time per request at 32 connections, and the requests of both runs; prints them.
measure_cell() {
  local url="http://127.0.0.1:$gateway_port/$1/" latency output gateway_before plugin_before
  latency=$(run_wrk -t1 -c1 -d"$duration" --latency "$url")
  gateway_before=$(cpu_ticks "$gateway_pid")
  plugin_before=$(cpu_ticks "$plugin_pid")
  output=$(run_wrk -t2 -c32 -d"$duration" "$url")
  awk -v name="$1" -v cells="$runs_dir/cells" -v hz="$(getconf CLK_TCK)" \
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
      printf "%s p50 %s\n%s rps %s\n", name, p50, name, rps >>cells
      printf "%s gateway_cpu %.1f\n%s plugin_cpu %.1f\n", name, gateway, name, plugin >>cells
      printf "%s requests %d\n", name, requests[1] + requests[2] >>cells
      printf "  %-7s p50 1c %6.0f us   req/s 32c %7.0f   CPU/req at 32c: gateway %5.1f us, plugin %5.1f us\n",
        name, p50, rps, gateway, plugin
    }' <(echo "$latency") <(echo "$output")
}

# dispatches: the plugin's count of the calls it has served, from its metrics.
dispatches() {
  curl -fs --max-time 5 "http://127.0.0.1:$admin_port/metrics" | awk '/^tyk_dispatches_total/ { n += $NF } END { print n + 0 }'
}

echo "warming up" >&2
for name in plain plugin; do
  run_wrk -t2 -c32 -d3s "http://127.0.0.1:$gateway_port/$name/" >/dev/null
done

dispatched_before=$(dispatches)
# The APIs swap places every round, so that neither always runs first.
for round in $(seq "$rounds"); do
  echo "round $round of $rounds"
  order=(plain plugin)
  [ $((round % 2)) = 0 ] && order=(plugin plain)
  for name in "${order[@]}"; do
    measure_cell "$name"
  done
done
dispatched=$(($(dispatches) - dispatched_before))

echo
awk -v dispatched="$dispatched" "$collect_rounds"'
  END {
    split("plain plugin", names, " ")
    label["plain"] = "keyless API, no plugin (baseline)"
    label["plugin"] = "keyless API, plugin Pre hook"
    printf "%-40s %12s %12s %14s %14s\n", "through Tyk Gateway (median of rounds)", "p50 1c (us)", "req/s 32c", "gateway CPU/req", "plugin CPU/req"
    for (i = 1; i <= 2; i++) {
      n = names[i]
      p[n] = median(values[n " p50"]); r[n] = median(values[n " rps"])
      plugin = n == "plain" ? "-" : sprintf("%.1f us", median(values[n " plugin_cpu"]))
      printf "%-40s %12.0f %12.0f %14s %14s\n", label[n], p[n], r[n], sprintf("%.1f us", median(values[n " gateway_cpu"])), plugin
    }
    printf "\nplugin / plain, req/s at 32c: %.2fx (goal >= 0.75x); every round: %s vs%s\n",
      r["plugin"] / r["plain"], values["plugin rps"], values["plain rps"]
    printf "added to p50 at 1c: %.0f us; added cost per request at 32c (1/req/s): %.1f us\n",
      p["plugin"] - p["plain"], 1e6 / r["plugin"] - 1e6 / r["plain"]
    split(values["plugin requests"], sent, " ")
    for (i in sent) total += sent[i]
    printf "Pre hook calls in tyk_dispatches_total during the rounds: %d; wrk counted %d requests to /plugin/ (not those in flight when it stops)\n", dispatched, total
  }' "$runs_dir/cells"
sleep 0.5 # the log writer flushes within 50 ms
# The time each call spent in the plugin's handler, as its INFO line gives it.
sed -n 's/.* dispatch .*latency_us=\([0-9]*\).*/\1/p' "$runs_dir/plugin-server-$plugin_port.log" | sort -n |
  awk '{ t[NR] = $1 } END {
    printf "plugin INFO dispatch lines written: %d", NR
    if (NR) printf "; time in the handler, median %d us, 99th percentile %d us", t[int((NR + 1) / 2)], t[int(NR * 0.99)]
    printf "\n" }'
