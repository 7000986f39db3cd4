#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# NLU benchmarks on ../shared/bench/data with the `switchboard train/eval` CLI (release build):
# clinc150 (train -> val, with --no-refit so that val stays unseen; a deployed model is fitted
# on train + val), banking77 (5-fold stratified CV on train, no official val split),
# twitter_airline_sentiment, waimai_10k, chnsenticorp_htl_all (5-fold CV on train; the test
# splits are held out). Prints one JSON line per fold/run and a median per data set.
# Usage: bench/nlu/run.sh [SWITCHBOARD_BINARY] [DATASET...]
#   env FOLDS=5 (CV folds), ONLY=N (run only the first N folds, for quick screening),
#   FEATURES="..." (passed to train --features; default: the built-in defaults)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-$root/build/switchboard}
shift || true
data=${SB_BENCH_DATA:-$root/../shared/bench/data}
folds=${FOLDS:-5}
only=${ONLY:-$folds}
feat=()
[ -n "${FEATURES:-}" ] && feat=(--features "$FEATURES")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sets=("$@")
[ ${#sets[@]} -gt 0 ] || sets=(clinc150 banking77 twitter_airline_sentiment waimai_10k chnsenticorp_htl_all)

kind_of() { case "$1" in clinc150|banking77) echo intent ;; *) echo sentiment ;; esac; }

# Stratified k-fold split without randomness: within each label, the j-th row goes to fold
# j mod k (rows keep their file order, so each fold gets every label in proportion).
split() { # file k dir
  awk -F'\t' -v k="$2" -v dir="$3" '
    NR == 1 { for (f = 0; f < k; f++) { print > (dir "/train" f ".tsv"); print > (dir "/test" f ".tsv") } next }
    { f = (seen[$2]++) % k
      for (g = 0; g < k; g++) print > (dir "/" (g == f ? "test" : "train") g ".tsv") }' "$1"
}

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

for set in "${sets[@]}"; do
  kind=$(kind_of "$set")
  : > "$work/$set.jsonl"
  if [ -f "$data/$set/val.tsv" ]; then
    start=$(date +%s.%N)
    "$bin" train "$kind" --data "$data/$set/train.tsv" --val "$data/$set/val.tsv" \
      --no-refit --out "$work/$set.mdl" --quiet ${feat[@]+"${feat[@]}"}
    end=$(date +%s.%N)
    r=$("$bin" eval "$kind" --model "$work/$set.mdl" --data "$data/$set/val.tsv" --json)
    echo "$r" | sed "s/}\$/,\"train_s\":$(awk "BEGIN{printf \"%.2f\", $end - $start}"),\"model_bytes\":$(stat -c %s "$work/$set.mdl")}/" \
      | tee -a "$work/$set.jsonl" | sed "s/^/$set val: /"
  else
    split "$data/$set/train.tsv" "$folds" "$work"
    for ((f = 0; f < only; f++)); do
      start=$(date +%s.%N)
      "$bin" train "$kind" --data "$work/train$f.tsv" --out "$work/$set.mdl" --quiet \
        ${feat[@]+"${feat[@]}"}
      end=$(date +%s.%N)
      r=$("$bin" eval "$kind" --model "$work/$set.mdl" --data "$work/test$f.tsv" --json)
      echo "$r" | sed "s/}\$/,\"train_s\":$(awk "BEGIN{printf \"%.2f\", $end - $start}"),\"model_bytes\":$(stat -c %s "$work/$set.mdl")}/" \
        | tee -a "$work/$set.jsonl" | sed "s/^/$set fold $f: /"
    done
  fi
  for key in accuracy macro_f1 in_scope_accuracy oos_recall us_per_item train_s model_bytes; do
    vals=$(grep -o "\"$key\":[0-9.e+-]*" "$work/$set.jsonl" | cut -d: -f2 || true)
    [ -n "$vals" ] && printf '%s median %s = %s\n' "$set" "$key" "$(echo "$vals" | median)"
  done
done
