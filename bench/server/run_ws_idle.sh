#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Idle widget WebSockets: opens N (default 10000) and reports the daemon's memory per socket.
# Usage: bench/server/run_ws_idle.sh [N] [RUNS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${SB_BINARY:-$here/../../build/switchboard}
n=${1:-10000}; runs=${2:-3}
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true   # 10,000 sockets need as many descriptors
for run in $(seq "$runs"); do
  data=$(mktemp -d)
  "$bin" serve --listen 127.0.0.1:0 --data "$data" --log-level warn > "$data/out" 2>&1 &
  pid=$!
  for _ in $(seq 100); do grep -q listening "$data/out" && break; sleep 0.1; done
  port=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$data/out" | head -1)
  node "$here/ws_idle.mjs" "http://127.0.0.1:$port" "$pid" "$n"
  kill -TERM "$pid"; wait "$pid" || true
  rm -rf "$data"
done
