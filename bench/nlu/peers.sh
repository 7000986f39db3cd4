#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs the benchmark table's peers (TF-IDF + liblinear, fastText) on our CV folds; installs
# the two Debian packages they need when missing. Usage: bench/nlu/peers.sh [DATASET...]
# (default: the four sets without a validation split). See bench/nlu/peers.py.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
missing=()
for p in python3-sklearn fasttext; do
  [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
[ $# -gt 0 ] || set -- banking77 twitter_airline_sentiment waimai_10k chnsenticorp_htl_all
exec /usr/bin/python3 "$here/peers.py" --folds "${FOLDS:-5}" "$@"
