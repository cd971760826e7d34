#!/usr/bin/env bash
# Fairness under a heavy user: see fairness.py. Release build; BIN_DIR= runs another
# build's API and workers (e.g. a commit before the fair queue) against today's sandbox, as the baseline.
# Takes two to three minutes (A's 200 runs wait for OneNote's minute windows). Results go to BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
for product in sandbox enqueuer worker; do swift build -c release --product $product >/dev/null; done
exec python3 Benchmarks/fairness/fairness.py "${BIN_DIR:-.build/release}" .build/release
