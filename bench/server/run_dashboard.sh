#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Dashboard queries over a month of traffic: fills a store with MESSAGES messages (default
# 1,000,000, about 100,000 conversations over five channels, annotated like the NLU does)
# through the store's write paths, then times every section of the dashboard query and the CSV
# report's reads for today, 7 and 30 days (median and max of RUNS runs). docs/metrics.md has
# the figures. The database is kept (delete it to refill); by default it lives in /dev/shm,
# where fsync costs nothing, so that filling takes minutes rather than hours — the timed reads
# run from the page cache either way.
# Usage: bench/server/run_dashboard.sh [BUILD_DIR] [MESSAGES] [RUNS] [DB]
# BUILD_DIR must be a RelWithDebInfo (-O2) build tree where sb_store and sb_core are built.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${1:-build-dashboard}
MESSAGES=${2:-1000000}
RUNS=${3:-7}
DB=${4:-/dev/shm/sb-dashboard-bench-$MESSAGES.db}
cmake --build "$B" --target sb_store sb_core -j2 >/dev/null
cc -std=c11 -O2 -D_GNU_SOURCE -Iinclude bench/server/dashboard_bench.c \
   "$B/libsb_store.a" "$B/libsb_core.a" $(pkg-config --libs sqlite3 jansson libsodium) \
   -lpthread -lm -o "$B/dashboard_bench"
echo "sqlite $(pkg-config --modversion sqlite3), $(nproc) cores, $(uname -m)"
"$B/dashboard_bench" "$DB" "$MESSAGES" "$RUNS"
