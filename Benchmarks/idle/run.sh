#!/usr/bin/env bash
# Idle worker CPU: WORKERS (default 8) `worker run` processes on an empty queue;
# after each has run one job (ready), their CPU time (utime + stime from /proc/<pid>/stat) is read
# over SECONDS (default 60) and printed per worker as a share of one core. Release build; BIN_DIR=
# runs another build's worker (e.g. a commit before the fair queue) as the same-session baseline.
# Results go to BENCHMARKS.md, next to the pickup latency.
set -euo pipefail
cd "$(dirname "$0")/../.."
workers=${WORKERS:-8}
seconds=${SECONDS_IDLE:-60}
if [ -z "${BIN_DIR:-}" ]; then swift build -c release --product worker >/dev/null; swift build -c release --product enqueuer >/dev/null; fi
bin=${BIN_DIR:-.build/release}
work=$(mktemp -d "${TMPDIR:-/tmp}/reports-idle-bench-XXXXXX")
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
export REPORTS_DATABASE="$work/reports.sqlite" REPORTS_LOG_LEVEL=error
"$bin/enqueuer" migrate >/dev/null
for index in $(seq 1 "$workers"); do
  REPORTS_LOG_LEVEL=info "$bin/worker" run --id "idle-$index" --concurrency 8 2>"$work/worker-$index.log" &
  pids+=($!)
done
# Ready = every worker has logged that it started (a deadline on that condition, not a fixed delay),
# then one round of jobs so each has leased, settled and gone back to sleep.
deadline=$((SECONDS + 120))
until [ "$(grep -l '"worker started"' "$work"/worker-*.log 2>/dev/null | wc -l)" -ge "$workers" ]; do
  [ $SECONDS -lt $deadline ] || { echo "not every worker started within 120 s" >&2; exit 1; }
  sleep 0.2
done
"$bin/enqueuer" queue enqueue-diagnostic --count $((workers * 4)) >/dev/null
until python3 -c "import sqlite3,sys; sys.exit(0 if sqlite3.connect(sys.argv[1]).execute(\"SELECT count(*) FROM jobs WHERE state IN ('available','running')\").fetchone()[0] == 0 else 1)" "$REPORTS_DATABASE"; do
  [ $SECONDS -lt $deadline ] || { echo "the warm-up jobs did not finish within 120 s" >&2; exit 1; }
  sleep 0.2
done
sleep 2  # the warm-up's last settles, so the window below is idle only
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
declare -A before
for pid in "${pids[@]}"; do before[$pid]=$(ticks "$pid"); done
start=$(date +%s.%N)
sleep "$seconds"
end=$(date +%s.%N)
hz=$(getconf CLK_TCK)
echo "idle-bench: $workers idle worker processes, ${seconds} s window, $(nproc) cores, $bin, $(date -u +%F)"
total=0
for pid in "${pids[@]}"; do
  used=$(( $(ticks "$pid") - ${before[$pid]} ))
  total=$((total + used))
  python3 -c "print('  worker pid %s: %.2f %% of a core' % ('$pid', 100.0 * $used / $hz / ($end - $start)))"
done
python3 -c "print('mean per worker: %.2f %% of a core; all %d together: %.2f %%' % (100.0 * $total / $hz / ($end - $start) / $workers, $workers, 100.0 * $total / $hz / ($end - $start)))"
