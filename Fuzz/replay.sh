#!/usr/bin/env bash
# Replays every committed fuzz input (Fuzz/Corpus/<target>) through its target's invariants with the
# plain debug build: the regression half of the fuzzing. Run by `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-.build/debug}
for folder in Fuzz/Corpus/*/; do
  target=$(basename "$folder")
  "$bin/reports-fuzz" "$target" "$folder"
done
