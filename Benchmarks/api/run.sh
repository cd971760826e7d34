#!/usr/bin/env bash
# API load benchmark: wrk on loopback against GET /v1/reports and POST /v1/reports/{id}/runs with valid
# FITs, next to Hummingbird's plain hello-world route in the same run. Release build; results go to
# BENCHMARKS.md. Needs wrk (Debian package) and PyJWT (PyPI); installs them when missing and root.
set -euo pipefail
cd "$(dirname "$0")/../.."
duration=${DURATION:-8s}
connections=${CONNECTIONS:-16}
# BIN_DIR=<another build's release folder> measures that build's `enqueuer` instead (a baseline in the
# same run); hello-bench always comes from this checkout's release build.
bin=${BIN_DIR:-.build/release}
command -v wrk >/dev/null || { [ "$(id -u)" = 0 ] && apt-get install -y -qq wrk >/dev/null; }
python3 -c "import jwt" 2>/dev/null || pip install -q pyjwt
[ -n "${BIN_DIR:-}" ] || swift build -c release --product enqueuer >/dev/null
swift build -c release --product hello-bench >/dev/null

work=$(mktemp -d "${TMPDIR:-/tmp}/reports-api-bench-XXXXXX")
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
wait_for() { for _ in $(seq 1 200); do curl -s -o /dev/null "$1" && return 0; sleep 0.05; done; echo "not up: $1" >&2; exit 1; }

fixtures=Tests/Fixtures/forge-fits.json
mkdir -p "$work/jwks/.well-known"
python3 -c "import json; print(json.dumps(json.load(open('$fixtures'))['jwks']))" > "$work/jwks/.well-known/jwks.json"
(cd "$work/jwks" && exec python3 -m http.server 18091 --bind 127.0.0.1 >/dev/null 2>&1) & pids+=($!)

export REPORTS_DATABASE="$work/reports.sqlite" REPORTS_SANDBOX=1 REPORTS_LOG_LEVEL=error
export FORGE_APP_ID=$(python3 -c "import json; print(json.load(open('$fixtures'))['appId'])")
export FORGE_JWKS_URL=http://127.0.0.1:18091/.well-known/jwks.json
export REPORTS_TOKEN_KEYS=$($bin/enqueuer keys generate) REPORTS_STATE_KEY=$($bin/enqueuer keys generate --state)
export MS_CLIENT_ID=00000000-0000-0000-0000-000000000001 MS_CLIENT_SECRET=bench MS_REDIRECT_URI=https://reports.example.com/oauth/microsoft/callback
$bin/enqueuer migrate >/dev/null
$bin/enqueuer serve --port 18090 & pids+=($!)
.build/release/hello-bench 18092 >/dev/null 2>&1 & pids+=($!)
wait_for http://127.0.0.1:18090/healthz
wait_for http://127.0.0.1:18092/
wait_for http://127.0.0.1:18091/.well-known/jwks.json

# A report's JQL is checked with Jira when it is saved (docs/atlassian-apis.md §9): the reports are made
# against a stand-in that accepts every query, the FITs of the measured calls name it too.
python3 - 18093 <<'PY' & pids+=($!)
import http.server, json, sys
class Jira(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        queries = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["queries"]
        body = json.dumps({"queries": [{"query": q, "structure": {}} for q in queries]}).encode()
        self.send_response(200); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *args): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Jira).serve_forever()
PY
installation=ari:cloud:ecosystem::installation/bench
fit() { python3 Benchmarks/api/mint_fit.py "$fixtures" "$installation" 557058:bench http://127.0.0.1:18093/ex/jira/cloud-1; }
section='1-6b9f1b3c-2d4e-4f60-8a1b-1c2d3e4f5a6b!31-816F7725BE12893!274'
for _ in $(seq 1 100); do curl -s -o /dev/null -X POST -d '{"queries":[]}' -H 'Content-Length: 14' http://127.0.0.1:18093/ && break; sleep 0.05; done
for i in $(seq 1 20); do
  curl -s -o "$work/created.json" -X POST http://127.0.0.1:18090/v1/reports -H "Authorization: Bearer $(fit)" -H 'Content-Type: application/json' \
    -H 'x-forge-oauth-user: bench-user-token' \
    -d "{\"name\":\"Report $i\",\"jql\":\"project = OPS ORDER BY key\",\"columns\":[\"key\",\"summary\",\"status\"],\"sectionId\":\"$section\"}"
done
report=$(python3 -c "import json; print(json.load(open('$work/created.json'))['id'])")
cat > "$work/post.lua" <<'LUA'
wrk.method = "POST"
LUA

measure() { # label url [extra wrk args...]
  local label=$1 url=$2; shift 2
  local out
  out=$(wrk -t1 -c"$connections" -d"$duration" --latency "$@" "$url")
  local rps p50 p99 non2xx
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  printf '%-44s %10s req/s   p50 %8s   p99 %8s   non-2xx %s\n' "$label" "$rps" "$p50" "$p99" "${non2xx:-0}"
}
echo "api-bench: wrk -t1 -c$connections -d$duration, $(nproc) cores, release build, $(date -u +%F)"
measure "GET / (Hummingbird hello world)" http://127.0.0.1:18092/
measure "GET /v1/reports (FIT + 20 reports read)" http://127.0.0.1:18090/v1/reports -H "Authorization: Bearer $(fit)"
measure "POST /v1/reports/{id}/runs (FIT + run dedupe)" "http://127.0.0.1:18090/v1/reports/$report/runs" -H "Authorization: Bearer $(fit)" -s "$work/post.lua"
