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
# OCR time is measured on one core (taskset -c 0 when available), one tesseract thread
PIN=""; command -v taskset >/dev/null && PIN="taskset -c 0"
# the default (two readings merged) and, interleaved, the single-reading default before it
# (--pre upscale): on a shared machine only their time ratio is stable
for i in $(seq "$RUNS"); do
  echo "eval ocr [$i]: $(OMP_THREAD_LIMIT=1 $PIN $B eval ocr --data $D/sroie --json \
    --predictions /tmp/sb_media_ocr_$$.jsonl)"
  echo "eval ocr --pre upscale [$i]: $(OMP_THREAD_LIMIT=1 $PIN $B eval ocr --data $D/sroie --pre upscale --json)"
done
# receipt-lexicon correction on those OCR lines, each shop-grouped fold's lexicon learned from the
# other folds' transcripts (held-out); then the CV of the merge and lexicon grids (docs/media.md)
echo "eval ocr --lexicon-cv: $($B eval ocr --data $D/sroie --lines /tmp/sb_media_ocr_$$.jsonl --lexicon-cv --json)"
if command -v python3 >/dev/null; then
  python3 bench/media/ocr_cv.py lexicon "$B" /tmp/sb_media_ocr_$$.jsonl | tail -1
fi
rm -f /tmp/sb_media_ocr_$$.jsonl
# the issue's reference point: plain tesseract CLI, psm 6, on the same images (texts only, when
# TESS_CLI_OUT is set; docs/media.md gives their word F1 under our metric: 0.668)
if [ -n "${TESS_CLI_OUT:-}" ] && command -v tesseract >/dev/null; then
  mkdir -p "$TESS_CLI_OUT"
  for f in $D/sroie/img/*.jpg; do
    OMP_THREAD_LIMIT=1 $PIN tesseract "$f" "$TESS_CLI_OUT/$(basename "$f" .jpg)" --psm 6 >/dev/null 2>&1
  done
  echo "tesseract --psm 6 texts in $TESS_CLI_OUT"
fi
for i in $(seq "$RUNS"); do
  echo "eval asr digits [$i]: $($B eval asr --data $D/fsdd --grammar digits --json)"
done
echo "eval asr digits, pocketsphinx: $($B eval asr --data $D/fsdd --grammar digits --engine pocketsphinx --json)"
echo "eval asr free, pocketsphinx: $($B eval asr --data $D/fsdd --json)"
echo "cv by index: $($B eval asr --data $D/fsdd --cv index --json)"
echo "cv by speaker: $($B eval asr --data $D/fsdd --cv speaker --json)"
