#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Durable ingest throughput and acknowledgement latency through POST /api/v1/messages.
# Usage: bench/server/run_ingest.sh [CONNECTIONS] [SECONDS] [RUNS]   (defaults 64 10 3)
# Needs wrk (Debian package). Prints wrk's latency distribution for each run: wrk sends as fast
# as the daemon answers (saturation). RATE=N sends N messages/s in total instead (open loop:
# ingest_load.c, latency counted from each message's due time, so a stall is not hidden by
# clients that wait for it). CONSOLE=1 keeps one agent WebSocket open during each run (node +
# tests/integration's `ws`), so every event is rendered and delivered as with a console open; without it no socket is
# open and the daemon renders no events (docs/architecture.md, Events).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${SB_BINARY:-$here/../../build/switchboard}
conns=${1:-64}; secs=${2:-10}; runs=${3:-3}
command -v wrk >/dev/null || { echo "install wrk: apt-get install wrk" >&2; exit 1; }
if [ -n "${RATE:-}" ]; then
  load=$(mktemp -d)/ingest_load
  cc -O2 -std=gnu11 -o "$load" "$here/ingest_load.c"
fi
for run in $(seq "$runs"); do
  data=$(mktemp -d)
  export SWITCHBOARD_ADMIN_KEY="sbk_bench_$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  export SB_KEY=$SWITCHBOARD_ADMIN_KEY
  "$bin" serve --listen 127.0.0.1:0 --data "$data" --log-level warn > "$data/out" 2>&1 &
  pid=$!
  trap 'kill -TERM $pid 2>/dev/null || true' EXIT # a failed run leaves no daemon behind
  for _ in $(seq 100); do grep -q listening "$data/out" && break; sleep 0.1; done
  port=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$data/out" | head -1)
  echo "== run $run: $conns connections, ${secs}s, port $port${CONSOLE:+, one console open}"
  cpid=
  if [ -n "${CONSOLE:-}" ]; then
    NODE_PATH="$here/../../tests/integration/node_modules" node -e '
      const WebSocket = require("ws");
      const ws = new WebSocket(`ws://127.0.0.1:${process.argv[1]}/ws/agent?token=${process.env.SB_KEY}`);
      let n = 0;
      ws.on("message", () => n++);
      process.on("SIGTERM", () => { console.log(`console received ${n} events`); process.exit(0); });
    ' "$port" &
    cpid=$!
    sleep 1
  fi
  if [ -n "${RATE:-}" ]; then
    "$load" 127.0.0.1 "$port" "$SB_KEY" "$RATE" "$conns" "$secs"
  else
    threads=2; [ "$conns" -ge 2 ] || threads=1
    wrk -t"$threads" -c"$conns" -d"${secs}s" --latency -s "$here/ingest.lua" "http://127.0.0.1:$port" \
      | grep -E 'Requests/sec|Latency|50%|90%|99%|requests in|Non-2xx|Socket errors|unexpected'
  fi
  stored=$(curl -s "http://127.0.0.1:$port/metrics" | awk '/^switchboard_messages_ingested_total/ {print $2}')
  batches=$(curl -s "http://127.0.0.1:$port/metrics" | awk '/^switchboard_commit_batches_total/ {print $2}')
  echo "stored $stored messages in $batches durable transactions"
  if [ -n "$cpid" ]; then kill -TERM "$cpid"; wait "$cpid" || true; fi
  kill -TERM "$pid"; wait "$pid" || true
  rm -rf "$data"
done
