#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Bot turn round trip: POST /api/v1/messages with wait_reply from one client at a time, so the
# latency is ingest + durable commit + bot turn + durable reply + answer.
# Usage: bench/server/run_bot_rtt.sh [SECONDS] [RUNS]   (defaults 10 3)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
WAIT_REPLY=1 exec "$here/run_ingest.sh" 1 "${1:-10}" "${2:-3}"
