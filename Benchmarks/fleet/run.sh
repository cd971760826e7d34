#!/usr/bin/env bash
# What a run costs and what the fleet does at the top of the hour: see fleet.py. Release build.
#   Benchmarks/fleet/run.sh                                   80 Run nows, 2 workers x 8, 100 ms latency
#   MODE=slot USERS=1000 REPORTS=10000 WORKERS=4 Benchmarks/fleet/run.sh    the top of the hour
# BIN_DIR= runs another build's API and workers (the baseline) against today's sandbox; OTEL=1 exports
# spans to a local sink. Results go to BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
for product in sandbox enqueuer worker; do swift build -c release --product $product >/dev/null; done
exec python3 Benchmarks/fleet/fleet.py "${BIN_DIR:-.build/release}" .build/release
