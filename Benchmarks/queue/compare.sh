#!/usr/bin/env bash
# Drain, pickup and enqueue of this build against an older release build, back to back (the machine is
# shared and noisy, so only figures measured in one run compare). Also runs the old build with this
# build's allocator setting (the worker keeps 32 MiB of freed heap, ProcessSupport.keepFreedMemory)
# given through GLIBC_TUNABLES, to tell what the queue's code costs from what the setting gains.
#   OLD_BIN=/path/to/old/.build/release Benchmarks/queue/compare.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${OLD_BIN:?set OLD_BIN to the release folder of the build to compare with}"
NEW_BIN=${NEW_BIN:-.build/release}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
echo "== before ($OLD_BIN) $(date -u +%FT%TZ)"
"$OLD_BIN/queue-bench" --bin-dir "$OLD_BIN" --data-dir "$scratch/old"
echo "== after ($NEW_BIN) $(date -u +%FT%TZ)"
"$NEW_BIN/queue-bench" --bin-dir "$NEW_BIN" --data-dir "$scratch/new"
echo "== before, with the same allocator setting $(date -u +%FT%TZ)"
GLIBC_TUNABLES=glibc.malloc.trim_threshold=33554432 "$OLD_BIN/queue-bench" --bin-dir "$OLD_BIN" --data-dir "$scratch/old-tuned"
