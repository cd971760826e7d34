#!/usr/bin/env bash
# libFuzzer over the parsers that take outside input: `make fuzz`. Not part of
# `make test` (which replays the committed corpora instead, Fuzz/replay.sh).
#   FUZZ_SECONDS=600 FUZZ_JOBS=2 FUZZ_TARGETS="fit state cron body render json" Fuzz/run.sh
# Builds reports-fuzz with libFuzzer and AddressSanitizer in its own build folder (.build/fuzz), runs
# each target for FUZZ_SECONDS starting from Fuzz/Corpus/<target> (new inputs go to .build/fuzz/corpus,
# crashes to .build/fuzz/artifacts), FUZZ_JOBS targets at a time, and prints each run's last status
# line (executions, coverage, corpus). A crash fails the run; add its input to Fuzz/Corpus/<target> with
# the fix, so the replay keeps it fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-600}
jobs=${FUZZ_JOBS:-2}
targets=${FUZZ_TARGETS:-fit state cron body render json}
scratch=.build/fuzz
# libFuzzer as a library (its driver called from our main, Fuzz/CFuzzDriver): SwiftPM gives every
# executable its own named entry point, so `-sanitize=fuzzer`'s own main cannot take over. The same
# instrumentation (-sanitize=fuzzer implies these coverage kinds), plus AddressSanitizer.
toolchain=$(dirname "$(readlink -f "$(command -v swift)")")/..
libfuzzer=$(ls "$toolchain"/lib/clang/*/lib/linux/libclang_rt.fuzzer_no_main-"$(uname -m)".a | head -1)
swift build -c release --product reports-fuzz --scratch-path "$scratch" \
  -Xswiftc -sanitize=address -Xswiftc -sanitize-coverage=edge,trace-cmp,inline-8bit-counters,pc-table \
  -Xswiftc -DFUZZING -Xlinker "$libfuzzer"
binary="$scratch/release/reports-fuzz"
mkdir -p "$scratch/artifacts" "$scratch/logs"
run() {
  local target=$1
  mkdir -p "$scratch/corpus/$target"
  REPORTS_FUZZ_TARGET=$target "$binary" "$scratch/corpus/$target" "Fuzz/Corpus/$target" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$scratch/artifacts/$target-" >"$scratch/logs/$target.log" 2>&1
}
status=0
pids=()
names=()
for target in $targets; do
  run "$target" & pids+=($!); names+=("$target")
  if [ ${#pids[@]} -ge "$jobs" ]; then
    wait "${pids[0]}" || { echo "$(date -u +%T) ${names[0]}: FAILED (see $scratch/logs/${names[0]}.log)"; status=1; }
    pids=("${pids[@]:1}"); names=("${names[@]:1}")
  fi
done
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || { echo "${names[$i]}: FAILED (see $scratch/logs/${names[$i]}.log)"; status=1; }
done
for target in $targets; do
  log="$scratch/logs/$target.log"
  echo "== $target: $(grep -E '^#[0-9]+' "$log" | tail -1)"
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$log" | tr '\n' ' '; echo
  grep -E 'ERROR: |invariant broken|Fatal error' "$log" | head -3 || true
done
ls "$scratch/artifacts" 2>/dev/null | sed 's/^/artifact: /'
exit $status
