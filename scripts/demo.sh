#!/usr/bin/env bash
# The whole system end to end on this machine (README's first command, `make demo`): the sandbox
# (local stand-ins for Atlassian and Microsoft), `enqueuer serve`, `enqueuer cron` and two `worker run`
# as separate processes on a fresh database with fresh keys, driven the way the Forge app drives them.
# Writes the OneNote page's HTML to demo-output/report.html, prints the URL of the app's UI in the
# sandbox's Jira page (in a terminal it waits for Enter so a person can use it), stops every process,
# exits 0.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(cd "${1:-.build/release}" && pwd)
out=demo-output
work=$(mktemp -d "${TMPDIR:-/tmp}/reports-demo-XXXXXX")
pids=()
names=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
started=$SECONDS
if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
step() { printf '\n%s==> %s%s\n' "$bold" "$*" "$plain"; }
say() { printf '    %s\n' "$*"; }
die() {
  printf '\ndemo failed: %s\n' "$*" >&2
  for name in "${names[@]}"; do printf -- '--- last lines of %s.log\n' "$name" >&2; tail -5 "$work/$name.log" >&2 || true; done
  exit 1
}
# json EXPR: evaluates a Python expression over the JSON document on stdin, bound to `d`.
json() { python3 -c "import json, sys; d = json.load(sys.stdin); print($1)"; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_until() { # seconds, description, command… — polls the command until it succeeds
  local limit=$1 what=$2; shift 2
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    (( SECONDS <= deadline )) || die "timed out after ${limit}s waiting for $what"
    sleep 0.05
  done
}
start() { # name, command… — a background process whose output goes to its log
  local name=$1; shift
  "$@" >"$work/$name.log" 2>&1 &
  pids+=($!); names+=("$name")
}

step "A fresh workspace in $work"
export REPORTS_DATABASE="$work/reports.sqlite" REPORTS_LOG_LEVEL=info
REPORTS_TOKEN_KEYS=$("$bin/enqueuer" keys generate --id demo-key-1)
REPORTS_STATE_KEY=$("$bin/enqueuer" keys generate --state)
export REPORTS_TOKEN_KEYS REPORTS_STATE_KEY
say "generated a token-encryption key (id demo-key-1) and an OAuth state key; they live only in this run's environment"

api_port=$(free_port)
api="http://127.0.0.1:$api_port"
step "Starting the sandbox: Atlassian (Forge JWKS and FITs, GraphQL, Jira search, a Jira page hosting the app's UI) and Microsoft (OAuth, OneNote) on loopback"
start sandbox "$bin/sandbox" serve --port 0 --seed 7 --archive-issues 6000 --api-url "$api" --ui-dir deploy/forge/static/reports
wait_until 30 "the sandbox" grep -q "sandbox ready:" "$work/sandbox.log"
line=$(grep "sandbox ready:" "$work/sandbox.log")
for pair in ${line#sandbox ready: }; do export "${pair?}"; done
sandbox=${MS_GRAPH_BASE_URL%/}
say "sandbox at $sandbox (seeded projects OPS and WEB, 6,000 long archive issues in ARC, users sandbox-user-1 and sandbox-user-2)"
say "like OneNote, a new page answers 404 for 400 ms after its create (eventual consistency)"

step "Creating the database (enqueuer migrate: the only process that changes the schema)"
"$bin/enqueuer" migrate | sed 's/^/    /'

export MS_CLIENT_SECRET=sandbox-secret MS_REDIRECT_URI="$api/oauth/microsoft/callback"
step "Starting enqueuer serve ($api), enqueuer cron and two workers"
start api "$bin/enqueuer" serve --port "$api_port"
start cron "$bin/enqueuer" cron --interval 5
metrics=()
for name in demo-worker-1 demo-worker-2; do
  port=$(free_port); metrics+=("$port")
  start "$name" "$bin/worker" run --id "$name" --metrics-port "$port"
done
wait_until 30 "enqueuer serve" curl -sf "$api/healthz"
for port in "${metrics[@]}"; do wait_until 30 "a worker" curl -sf "http://127.0.0.1:$port/healthz"; done
say "API healthy: $(curl -s "$api/healthz")"
say "workers healthy on metrics ports ${metrics[*]}; cron checks for due reports every 5 s"

# Every call carries what Forge sends: a fresh FIT (signed by the sandbox's Forge key, verified by
# the API against the sandbox JWKS) and the app system token; UI calls also forward the user's token.
# The API keeps the system token only from Forge's own events (FITs without a user), never from a UI call.
fit_headers=()
mint() {
  local minted; minted=$(curl -sf -X POST "$sandbox/sandbox/fit" -d '{"accountId":"sandbox-user-1"}') || die "could not mint a FIT"
  fit_headers=(-H "Authorization: Bearer $(json "d['fit']" <<<"$minted")"
               -H "x-forge-oauth-system: $(json "d['systemToken']" <<<"$minted")"
               -H "x-forge-oauth-user: $(json "d['userToken']" <<<"$minted")"
               -H "Content-Type: application/json")
}
forge_event() { # path — a lifecycle event or scheduled trigger: a FIT without a principal, the system token
  local minted; minted=$(curl -sf -X POST "$sandbox/sandbox/fit" -d '{"trigger":true}') || die "could not mint a FIT"
  local status; status=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $(json "d['fit']" <<<"$minted")" \
    -H "x-forge-oauth-system: $(json "d['systemToken']" <<<"$minted")" -H "Content-Type: application/json" "$api$1")
  [[ $status == 2* ]] || die "POST $1 answered $status"
}
call() { # method, path, [curl args…] — a Forge call to the API; fails the demo on an HTTP error
  local method=$1 path=$2; shift 2
  mint
  local body status
  body=$(curl -s -w '\n%{http_code}' -X "$method" "${fit_headers[@]}" "$api$path" "$@")
  status=${body##*$'\n'}; body=${body%$'\n'*}
  [[ $status == 2* ]] || die "$method $path answered $status: $body"
  printf '%s' "$body"
}

step "Forge installs the app: the lifecycle event reaches the API with a FIT and the system token"
forge_event /forge/lifecycle
say "FIT verified; installation stored with its system token (AES-256-GCM encrypted at rest)"

step "sandbox-user-1 opens the app"
me=$(call GET /v1/me)
say "account $(json "d['accountId']" <<<"$me"), Microsoft: $(json "d['microsoft']['status']" <<<"$me")"

step "Connecting Microsoft (OAuth code with PKCE, a signed single-use state bound to this browser, confirmed by the user)"
start_url=$(call POST /v1/microsoft/connect | json "d['startUrl']")
say "the app opens a one-time start URL on our host: ${start_url%%\?*}?t=…"
source scripts/lib/connect-microsoft.sh
connect_microsoft "$start_url" >"$work/connected.html" || die "the connect flow did not finish"
say "it set the browser's __Host- connect cookie and sent it to Microsoft: ${CONNECT_AUTHORIZE%%\?*}?…"
say "the sandbox's login consents at once; the callback checked the state and the cookie, then asked:"
parties=$(python3 -c 'import html, re, sys
page = sys.stdin.read()
print(" · ".join(f"{k}: " + " ".join(html.unescape(re.sub("<[^>]+>", " ", v)).split())
                 for k, v in re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", page, re.S)))' <<<"$CONNECT_CONFIRMATION")
say "  \"Connect Microsoft OneNote to Jira?  $parties\""
say "the demo pressed Connect; only now is the refresh token stored"
grep -q "Connected" "$work/connected.html" || die "the confirmation did not connect"
me=$(call GET /v1/me)
say "Microsoft: $(json "d['microsoft']['status']" <<<"$me") as $(json "d['microsoft']['displayName']" <<<"$me")"

step "Choosing a OneNote section"
sections=$(call GET /v1/onenote/sections)
section_id=$(json "d['sections'][0]['id']" <<<"$sections")
say "$(json "len(d['sections'])" <<<"$sections") sections; using \"$(json "d['sections'][0]['notebookName']" <<<"$sections") / $(json "d['sections'][0]['name']" <<<"$sections")\""

step "Creating a report: project OPS, nine columns (custom fields: story points, sprint, team; a formatted description), grouped by status with story points added up, a Notes column, every weekday at 08:00 Europe/Berlin"
fields=$(call GET "/v1/jira/fields")
say "the column picker lists $(json "len(d['fields'])" <<<"$fields") fields, the site's custom ones among them: $(json "', '.join(f['name'] + ' (' + f['type'] + ')' for f in d['fields'] if f['custom'])" <<<"$fields")"
report=$(call POST /v1/reports -d "{\"name\":\"OPS status\",\"jql\":\"project = OPS ORDER BY key\",\"columns\":[\"key\",\"summary\",\"status\",\"assignee\",\"customfield_10016\",\"customfield_10020\",\"customfield_10021\",\"description\",\"updated\"],\"sectionId\":\"$section_id\",\"layout\":{\"groupBy\":\"status\",\"sumField\":\"customfield_10016\",\"notesColumn\":true},\"schedule\":{\"cron\":\"0 8 * * 1-5\",\"timeZone\":\"Europe/Berlin\"}}")
report_id=$(json "d['id']" <<<"$report")
say "report $report_id; next scheduled run $(json "d['nextRunAt']" <<<"$report") (enqueued by enqueuer cron)"

run_now() { # [report id] — prints the finished run's JSON
  local run run_id deadline=$((SECONDS + 120))
  run=$(call POST "/v1/reports/${1:-$report_id}/runs")
  run_id=$(json "d['id']" <<<"$run")
  say "run $run_id: $(json "d['status']" <<<"$run")" >&2
  while :; do
    run=$(call GET "/v1/runs/$run_id")
    case $(json "d['status']" <<<"$run") in succeeded|failed) break ;; esac
    (( SECONDS <= deadline )) || die "run $run_id did not finish within 120 s"
    sleep 0.1
  done
  printf '%s' "$run"
}
describe_run() {
  python3 -c '
import json, sys
from datetime import datetime
d = json.load(sys.stdin)
t = lambda k: datetime.fromisoformat(d[k].replace("Z", "+00:00"))
print("    outcome:    %s%s" % (d["status"], "" if not d["error"] else " (%s: %s)" % (d["error"]["code"], d["error"]["message"])))
print("    issues:     %s" % d["issueCount"])
print("    timings:    queued → started %.0f ms, started → finished %.0f ms" % ((t("startedAt") - t("queuedAt")).total_seconds() * 1000, (t("finishedAt") - t("startedAt")).total_seconds() * 1000))
print("    page URL:   %s" % d["pageUrl"])'
}

step "Run now: the API enqueues a job; a worker leases it, mints nothing (the user's forwarded token is fresh), searches Jira, renders and writes the page"
first=$(run_now)
describe_run <<<"$first"
[ "$(json "d['status']" <<<"$first")" = succeeded ] || die "the run failed"

step "The page in OneNote (the sandbox's copy) → $out/report.html"
mkdir -p "$out"
pages=$(curl -sf "$sandbox/sandbox/pages")
page_id=$(json "d[0]['id']" <<<"$pages")
json "d[0]['html']" <<<"$pages" >"$out/report.html"
check_page() { # expected issue count → prints the table's keys; fails unless they match
  python3 - "$out/report.html" "$1" <<'PY'
import re, sys, html
text = open(sys.argv[1], encoding="utf-8").read()
# An issue's row starts with its key, linked (a child row's key after its indent and "↳").
keys = re.findall(r'<tr><td>[\u2003\u21b3 ]*<a href="[^"]*">([A-Z][A-Z0-9]*-[0-9]+)</a>', text)
assert len(keys) == int(sys.argv[2]), "the tables have %d issue rows, the run reported %s issues" % (len(keys), sys.argv[2])
assert "<script" not in text.lower(), "a raw <script> tag reached the page"
header_row = re.search(r'<tr>(<td style="background-color:#D9D9D9">.*?)</tr>', text, re.S)
headers = re.findall(r"<td[^>]*><b>(.*?)</b></td>", header_row.group(1)) if header_row else []
print("    columns: %s" % ", ".join(html.unescape(h) for h in headers))
print("    table: %d issue rows (%s … %s); the seeded hostile summaries arrive as text (%d escaped '<', no raw <script>)" % (len(keys), keys[0], keys[-1], text.count("&lt;")))
PY
}
check_page "$(json "d['issueCount']" <<<"$first")" || die "the page does not hold the seeded issues"
say "page title: $(python3 -c 'import re,sys; print(re.search(r"<title>(.*?)</title>", open(sys.argv[1]).read()).group(1))' "$out/report.html")"

step "People type notes in OneNote; Jira changes; Run now again: the same page is updated in place, the notes kept, the changes named"
for row in OPS-3 OPS-5; do
  curl -sf -X POST "$sandbox/sandbox/pages/$page_id/cells" -d "{\"row\":\"$row\",\"column\":\"Notes\",\"text\":\"Discussed at standup: $row\"}" >/dev/null \
    || die "could not type a note into $row's row"
done
say "notes typed into the rows of OPS-3 and OPS-5 (the sandbox's stand-in for a person in OneNote)"
curl -sf -X POST "$sandbox/sandbox/issues/OPS-2" -d '{"summary":"Renamed during the demo","status":"Done"}' >/dev/null
say "OPS-2 renamed and moved to Done in the sandbox's Jira"
second=$(run_now)
describe_run <<<"$second"
pages=$(curl -sf "$sandbox/sandbox/pages")
[ "$(json "len(d)" <<<"$pages")" = 1 ] && [ "$(json "d[0]['id']" <<<"$pages")" = "$page_id" ] || die "expected the same single page"
json "d[0]['html']" <<<"$pages" >"$out/report.html"
grep -q "Renamed during the demo" "$out/report.html" || die "the page does not show the change"
for row in OPS-3 OPS-5; do
  grep -q "Discussed at standup: $row</p></td></tr>" "$out/report.html" || die "the note on $row did not survive the refresh"
done
grep -q "<b>Moved:</b> OPS-2 " "$out/report.html" || die "the changes block does not name OPS-2's move"
say "both notes are beside their issues again; the page says: $(python3 -c 'import re,sys,html; m = re.search(r"<p><b>Since the last update</b>(.*?)</p>", open(sys.argv[1]).read()); print(html.unescape(re.sub(r"<[^>]+>", "", m.group(1))).strip() if m else "?")' "$out/report.html")"
check_page "$(json "d['issueCount']" <<<"$second")" || die "the updated page does not hold the issues"
say "same page ($page_id), now showing the change"
say "the page as its readers see it (the page link in a browser): $sandbox/sandbox/pages/$page_id"
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -n "$browser" ]; then
  "$browser" --headless=new --no-sandbox --disable-gpu --hide-scrollbars --window-size=1360,900 \
    --screenshot="$PWD/$out/page.png" "$sandbox/sandbox/pages/$page_id" >/dev/null 2>&1 \
    && say "a screenshot of it: $out/page.png" || say "(no screenshot: $browser could not take one)"
fi

step "A report too big for one OneNote request: the ARC archive (Graph refuses requests over 4 MB)"
big=$(call POST /v1/reports -d "{\"name\":\"ARC archive\",\"jql\":\"project = ARC ORDER BY key\",\"columns\":[\"key\",\"summary\",\"status\",\"assignee\",\"updated\"],\"sectionId\":\"$section_id\"}")
big_id=$(json "d['id']" <<<"$big")
say "report $big_id: every issue of ARC, capped at the worker's 5,000 (REPORTS_ISSUE_CAP)"
third=$(run_now "$big_id")
describe_run <<<"$third"
[ "$(json "d['status']" <<<"$third")" = succeeded ] || die "the big run failed"
pages=$(curl -sf "$sandbox/sandbox/pages")
[ "$(json "len(d)" <<<"$pages")" = 2 ] || die "expected two pages: one per report"
json "[p for p in d if p['id'] != '$page_id'][0]['html']" <<<"$pages" >"$out/archive.html"
python3 - "$out/archive.html" "$(json "d['issueCount']" <<<"$third")" <<'PY' || die "the big page is not one complete page"
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
tables = re.findall(r'data-id="(jira-report(?:-[0-9]+)?)"', text)
keys = re.findall(r">(ARC-[0-9]+)</a>", text)
assert len(tables) >= 2, "expected the report in several parts, found %d table(s)" % len(tables)
assert len(keys) == int(sys.argv[2]) == len(set(keys)), "%d keys on the page, %s issues in the run" % (len(keys), sys.argv[2])
print("    one page of %.1f MB: %d parts (%s), %d issues (%s … %s), each once" % (len(text.encode()) / 1e6, len(tables), ", ".join(tables), len(keys), keys[0], keys[-1]))
PY
say "written as one page: the create carried the first part, each further part was appended (its page id stored first)"

step "What reached the stand-ins (the sandbox's counters)"
curl -s "$sandbox/sandbox/counters" | json "'\\n'.join('    %-20s %d' % (k, v) for k, v in sorted(d.items()))"
say "offline user tokens minted through GraphQL: $(curl -s "$sandbox/sandbox/counters" | json "d.get('graphql', 0)") (Run now uses the user's forwarded token; scheduled runs mint one)"

step "What the workers report (Prometheus, loopback only)"
for port in "${metrics[@]}"; do
  say "metrics port $port: $(curl -s "http://127.0.0.1:$port/metrics" | awk '/^reports_worker_job_attempts_total/ && /run-report/ { s += $NF } END { printf "%d run-report attempts", s }')"
done

step "The app in a browser"
say "open $sandbox/jira/app : the sandbox's Jira page hosts the Custom UI (deploy/forge/static/reports)"
say "and carries out its calls as Forge would; switch accounts at the top right"
say "open $sandbox/jira/app?account=sandbox-admin&page=admin : the admin page (Manage apps → Configure) as a Jira administrator"
if [ -t 0 ] && [ -t 1 ] && [ -z "${CI:-}" ]; then
  read -r -p "    Everything keeps running until you press Enter. " _ || true
fi

step "Stopping every process (SIGTERM: workers finish or release their jobs and exit 0)"
for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
  kill -TERM "${pids[$i]}" 2>/dev/null || true
  status=0; wait "${pids[$i]}" || status=$?
  say "${names[$i]} exited with status $status"
done
pids=()
step "Done in $((SECONDS - started)) s: open $out/report.html and $out/archive.html to see the pages"
