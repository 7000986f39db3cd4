#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds and runs the routing decision benchmark (docs/routing.md has the figures).
# Usage: bench/routing/run.sh [BUILD_DIR] [AGENTS] [WAITING] (default build-routing, 500, 10000)
# BUILD_DIR must be a RelWithDebInfo (-O2) build tree where sb_routing and sb_core are built.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${1:-build-routing}
cmake --build "$B" --target sb_routing -j2 >/dev/null
cc -std=c11 -O2 -D_GNU_SOURCE -Iinclude bench/routing/routing_bench.c \
   "$B/libsb_routing.a" "$B/libsb_core.a" $(pkg-config --libs jansson libsodium) -lpthread -lm \
   -o "$B/routing_bench"
"$B/routing_bench" "${2:-500}" "${3:-10000}"
