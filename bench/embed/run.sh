#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds bench/embed/embed_bench.c against the project's static libraries and runs it on one
# core. Usage: bench/embed/run.sh [BUILD_DIR] [-- embed_bench arguments]
# BUILD_DIR defaults to build-embedq (configured RelWithDebInfo if missing); CPU defaults to 1
# (EMBED_BENCH_CPU). See bench/embed/README.md.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build-embedq}
[ $# -gt 0 ] && shift
[ "${1:-}" = "--" ] && shift
[ -f "$build/CMakeCache.txt" ] || cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target sb_embed sb_nn sb_core -j2 >/dev/null
cc -std=c11 -D_POSIX_C_SOURCE=200809L -O2 -Wall -Wextra -Werror -I"$root/include" -o "$build/embed_bench" \
    "$root/bench/embed/embed_bench.c" \
    "$build/libsb_embed.a" "$build/libsb_nn.a" "$build/libsb_core.a" \
    $(pkg-config --libs libutf8proc jansson) -lpthread -lm
exec taskset -c "${EMBED_BENCH_CPU:-1}" "$build/embed_bench" "$@"
