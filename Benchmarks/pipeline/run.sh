#!/usr/bin/env bash
# End-to-end benchmark: reports per minute through real processes — the sandbox with 50 ms added to
# every Atlassian and Microsoft call, `enqueuer serve`, two `worker run` — and each worker's peak RSS.
# Release build. Results go to BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
reports=${REPORTS:-20}
latency=${LATENCY_MS:-50}
bin=.build/release
for product in sandbox enqueuer worker; do swift build -c release --product $product >/dev/null; done

work=$(mktemp -d "${TMPDIR:-/tmp}/reports-pipeline-bench-XXXXXX")
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

$bin/sandbox serve --port 0 --seed 7 --issues 200 >"$work/sandbox.log" 2>&1 & pids+=($!)
for _ in $(seq 1 200); do grep -q "sandbox ready:" "$work/sandbox.log" && break; sleep 0.05; done
line=$(grep "sandbox ready:" "$work/sandbox.log")
for pair in ${line#sandbox ready: }; do export "$pair"; done
sandbox=$MS_GRAPH_BASE_URL
port=18290
export REPORTS_DATABASE="$work/reports.sqlite" REPORTS_LOG_LEVEL=error
export REPORTS_TOKEN_KEYS=$($bin/enqueuer keys generate) REPORTS_STATE_KEY=$($bin/enqueuer keys generate --state)
export MS_CLIENT_SECRET=sandbox-secret MS_REDIRECT_URI="http://127.0.0.1:$port/oauth/microsoft/callback"
$bin/enqueuer migrate >/dev/null
$bin/enqueuer serve --port $port >"$work/api.log" 2>&1 & pids+=($!)
workers=()
for name in bench-a bench-b; do $bin/worker run --id $name >"$work/$name.log" 2>&1 & pids+=($!); workers+=($!); done
for _ in $(seq 1 200); do curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.05; done

headers() { # a user's FIT; with "trigger", what Forge sends a scheduled trigger (the system token's only source)
  local who='{"accountId":"sandbox-user-1"}'; [ "${1:-}" = trigger ] && who='{"trigger":true}'
  local minted; minted=$(curl -s -X POST "$sandbox/sandbox/fit" -d "$who")
  printf -- '-H\nAuthorization: Bearer %s\n-H\nx-forge-oauth-system: %s\n-H\nContent-Type: application/json\n' \
    "$(json "['fit']" <<<"$minted")" "$(json "['systemToken']" <<<"$minted")"
  # A user's call carries the user token Forge forwards (a report's JQL is checked with it).
  [ "${1:-}" = trigger ] || printf -- '-H\nx-forge-oauth-user: %s\n' "$(json "['userToken']" <<<"$minted")"
}
api() { local method=$1 path=$2; shift 2; mapfile -t h < <(headers); curl -s -X "$method" "${h[@]}" "http://127.0.0.1:$port$path" "$@"; }

mapfile -t h < <(headers trigger); curl -s -X POST "${h[@]}" "http://127.0.0.1:$port/forge/trigger" >/dev/null
source scripts/lib/connect-microsoft.sh
connected=$(connect_microsoft "$(api POST /v1/microsoft/connect | json "['startUrl']")")
grep -q Connected <<<"$connected"
section='1-0b7a9d2e-5c3f-4e1a-9b8d-2f6c4a1e7d30!11-7F3A2C1B'
ids=()
for i in $(seq 1 "$reports"); do
  ids+=("$(api POST /v1/reports -d "{\"name\":\"Report $i\",\"jql\":\"project = OPS ORDER BY key\",\"columns\":[\"key\",\"summary\",\"status\",\"assignee\",\"updated\"],\"sectionId\":\"$section\"}" | json "['id']")")
done
curl -s -X POST "$sandbox/sandbox/faults" -d "{\"route\":\"/\",\"latencyMs\":$latency}" >/dev/null

start=$(date +%s.%N)
for id in "${ids[@]}"; do api POST "/v1/reports/$id/runs" >/dev/null; done
while :; do
  done_count=$(python3 - "$REPORTS_DATABASE" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(db.execute("SELECT count(*) FROM runs WHERE status IN ('succeeded','failed')").fetchone()[0])
PY
)
  [ "$done_count" -ge "$reports" ] && break
  sleep 0.1
done
end=$(date +%s.%N)
failed=$(python3 -c "import sqlite3; print(sqlite3.connect('$REPORTS_DATABASE').execute(\"SELECT count(*) FROM runs WHERE status='failed'\").fetchone()[0])")
issues=$(python3 -c "import sqlite3; print(sqlite3.connect('$REPORTS_DATABASE').execute('SELECT sum(issue_count) FROM runs').fetchone()[0])")
calls=$(curl -s "$sandbox/sandbox/counters" | python3 -c "import json,sys; print(sum(json.load(sys.stdin).values()))")
elapsed=$(python3 -c "print($end - $start)")
echo "pipeline-bench: $reports reports (OPS, $((issues / reports)) issues each), ${latency} ms added to every upstream call, 2 worker processes, $(nproc) cores, release build, $(date -u +%F)"
python3 -c "print('throughput: %.1f reports/minute (%d reports in %.1f s, %d failed, %d sandbox calls)' % ($reports * 60 / $elapsed, $reports, $elapsed, $failed, $calls))"
for pid in "${workers[@]}"; do echo "worker pid $pid peak RSS: $(awk '/VmHWM/ {printf "%.1f MB", $2/1024}' /proc/$pid/status)"; done
