#!/usr/bin/env bash
# The end-to-end demo of what exists so far: a fresh database, two worker processes, a burst of
# diagnostic jobs (some fail and are retried), and a clean SIGTERM shutdown. The full product demo
# (sandbox, API, OneNote page) arrives with the demo issue.
set -euo pipefail
bin=${1:-.build/release}
work=$(mktemp -d "${TMPDIR:-/tmp}/reports-demo-XXXXXX")
export REPORTS_DATABASE="$work/reports.sqlite"
export REPORTS_LOG_LEVEL=warning
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n==> %s\n' "$*"; }

step "Creating a fresh database in $work"
"$bin/enqueuer" migrate

step "Starting two worker processes"
for name in demo-worker-1 demo-worker-2; do
  "$bin/worker" run --id "$name" --concurrency 8 >"$work/$name.log" 2>&1 &
  pids+=($!)
done

step "Enqueueing 200 diagnostic jobs (10 ms each) and 20 that fail once before succeeding"
"$bin/enqueuer" queue enqueue-diagnostic --count 200 --sleep-ms 10 --record-file "$work/record.txt"
"$bin/enqueuer" queue enqueue-diagnostic --count 20 --fail-times 1 --record-file "$work/record.txt"

step "Waiting for the queue to drain"
deadline=$((SECONDS + 120))
while :; do
  stats=$("$bin/enqueuer" queue stats --json)
  if [[ $stats == *'"succeeded":220'* ]]; then break; fi
  if (( SECONDS > deadline )); then echo "timed out: $stats" >&2; exit 1; fi
  sleep 0.2
done
"$bin/enqueuer" queue stats

step "Who ran what (from the jobs' record file)"
awk '{ by[$3]++ } END { for (w in by) printf "  %s ran %d jobs\n", w, by[w] }' "$work/record.txt" | sort
echo "  retried jobs (attempt 2): $(awk '$2 == 2' "$work/record.txt" | wc -l)"

step "Stopping the workers with SIGTERM"
for pid in "${pids[@]}"; do kill -TERM "$pid"; done
for pid in "${pids[@]}"; do wait "$pid"; echo "  worker $pid exited with status $?"; done
pids=()
echo
echo "demo finished: 220 jobs succeeded across two worker processes"
