#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reproduces the media figures of docs/media.md: OCR + key fields on the SROIE training receipts,
# spoken digits with our recogniser and with pocketsphinx, and the cross-validation that chose
# the recogniser. Each accuracy run is repeated (RUNS, default 3) so the timing can be taken as
# a median. Usage: bench/media/run.sh [BUILD_DIR] (default build-media, RelWithDebInfo).
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${1:-build-media}/switchboard
D=../shared/bench/data
RUNS=${RUNS:-3}
for i in $(seq "$RUNS"); do echo "eval ocr [$i]: $($B eval ocr --data $D/sroie --json)"; done
for i in $(seq "$RUNS"); do
  echo "eval asr digits [$i]: $($B eval asr --data $D/fsdd --grammar digits --json)"
done
echo "eval asr digits, pocketsphinx: $($B eval asr --data $D/fsdd --grammar digits --engine pocketsphinx --json)"
echo "eval asr free, pocketsphinx: $($B eval asr --data $D/fsdd --json)"
echo "cv by index: $($B eval asr --data $D/fsdd --cv index --json)"
echo "cv by speaker: $($B eval asr --data $D/fsdd --cv speaker --json)"
