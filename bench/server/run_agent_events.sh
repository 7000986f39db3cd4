#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Event → agent console latency with N (default 500) connected agent consoles while customer
# messages are ingested (RATE per second for SECONDS; defaults 20 and 10), RUNS times (default
# 3) on one data directory: the agents are created and logged in once, then each run starts the
# daemon (which rebuilds its routers from the store), opens every console and measures. The
# consoles are agent_console_client.c (one libwebsockets loop, little CPU); the sender is
# agent_events.mjs. CLIENT=node uses agent_events.mjs for both (heavier). Prints one JSON line
# per run and the median p99. KEEP_LOG=PREFIX keeps each run's daemon log as PREFIX.RUN.
# Usage: bench/server/run_agent_events.sh [N] [RATE] [SECONDS] [RUNS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${SB_BINARY:-$here/../../build/switchboard}
n=${1:-500}; rate=${2:-20}; secs=${3:-10}; runs=${4:-3}
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
data=$(mktemp -d)
key="sbk_bench_$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
pid=
trap 'if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi; rm -rf "$data"' EXIT
client="$data/agent_console_client"
if [ "${CLIENT:-c}" = c ]; then
  cc -O2 -std=gnu11 -o "$client" "$here/agent_console_client.c" \
    $(pkg-config --cflags --libs libwebsockets jansson)
fi
start() {
  SWITCHBOARD_ADMIN_KEY=$key "$bin" serve --listen 127.0.0.1:0 --data "$data" --log-level warn \
    > "$data/out" 2>&1 &
  pid=$!
  for _ in $(seq 300); do grep -q listening "$data/out" && break; sleep 0.1; done
  port=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$data/out" | head -1)
  if [ -z "$port" ]; then echo "the daemon did not start:" >&2; cat "$data/out" >&2; exit 1; fi
}
start
node "$here/agent_events.mjs" setup "http://127.0.0.1:$port" "$key" "$n" "$data/tokens.json"
kill -TERM "$pid"; wait "$pid" || true; pid=
p99s=()
for run in $(seq "$runs"); do
  start
  if [ "${CLIENT:-c}" = c ]; then
    rm -f "$data/ready"
    "$client" "$port" "$data/tokens.json" "$((secs + 3))" "$data/ready" > "$data/client.out" &
    cpid=$!
    for _ in $(seq 600); do [ -e "$data/ready" ] && break; sleep 0.1; done
    sleep 1 # presence settles
    sent=$(node "$here/agent_events.mjs" send "http://127.0.0.1:$port" "$key" "$rate" "$secs")
    wait "$cpid"
    line="{\"sent\":$sent,\"consoles\":$(cat "$data/client.out")}"
  else
    line=$(node "$here/agent_events.mjs" run "http://127.0.0.1:$port" "$key" "$data/tokens.json" "$rate" "$secs")
  fi
  echo "$line"
  p99s+=("$(echo "$line" | sed -n 's/.*"p99_ms":\([0-9.]*\).*/\1/p')")
  kill -TERM "$pid"; wait "$pid" || true; pid=
  if [ -n "${KEEP_LOG:-}" ]; then cp "$data/out" "$KEEP_LOG.$run"; fi
done
printf '%s\n' "${p99s[@]}" | sort -n | awk '{a[NR]=$1} END {print "median p99 over " NR " runs: " a[int((NR+1)/2)] " ms"}'
