#!/usr/bin/env bash
# Chaos run: three workers, the API and cron against the sandbox while workers are killed,
# stopped and paused, the API and cron restarted and the sandbox injects faults; then checks one page
# per report with the final data, no stuck job, every run terminal, integrity ok. Not part of
# `make test`: `make chaos` (MINUTES=10 by default; SEED to repeat a run).
set -euo pipefail
cd "$(dirname "$0")/../.."
for product in sandbox enqueuer worker; do swift build -c release --product $product >/dev/null; done
exec python3 Benchmarks/chaos/chaos.py .build/release --minutes "${MINUTES:-10}" ${SEED:+--seed "$SEED"}
