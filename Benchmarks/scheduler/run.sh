#!/usr/bin/env bash
# Scheduler burst: REPORTS (default 100,000) hourly reports all due at once, then
# one `enqueuer cron --once` pass, timed. The reports are written straight into a migrated database
# (one installation, REPORTS owners spread over 1,000 accounts) so the measurement is the pass alone.
# Release build (BIN_DIR= runs another build's enqueuer, e.g. an older commit's, as a baseline).
# Results go to BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
reports=${REPORTS:-100000}
swift build -c release --product enqueuer >/dev/null
bin=${BIN_DIR:-.build/release}
work=$(mktemp -d "${TMPDIR:-/tmp}/reports-scheduler-bench-XXXXXX")
trap 'rm -rf "$work"' EXIT
export REPORTS_DATABASE="$work/reports.sqlite" REPORTS_LOG_LEVEL=error
"$bin/enqueuer" migrate >/dev/null
python3 - "$REPORTS_DATABASE" "$reports" <<'PY'
import sqlite3, sys, time, uuid, json
db = sqlite3.connect(sys.argv[1]); n = int(sys.argv[2])
now = int(time.time() * 1000)
db.execute("INSERT INTO installations (id, cloud_id, api_base_url, first_seen_at, last_seen_at) VALUES ('ari:cloud:ecosystem::installation/bench', 'cloud-bench', 'https://api.atlassian.com/ex/jira/cloud-bench', ?, ?)", (now, now))
rows = [(str(uuid.uuid4()), 'ari:cloud:ecosystem::installation/bench', f"557058:bench-{i % 1000}", f"Report {i}", "project = OPS ORDER BY key",
         json.dumps(["key", "summary", "status"]), "1-0b7a9d2e-5c3f-4e1a-9b8d-2f6c4a1e7d30!11-7F3A2C1B", "0 * * * *", "Europe/Berlin", now - 60_000, now, now)
        for i in range(n)]
db.executemany("""INSERT INTO reports (id, installation_id, owner_account_id, name, jql, columns, section_id, schedule_cron, schedule_time_zone, next_run_at, created_at, updated_at)
                  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""", rows)
db.commit()
PY
start=$(date +%s.%N)
out=$("$bin/enqueuer" cron --once)
end=$(date +%s.%N)
jobs=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM jobs').fetchone()[0])" "$REPORTS_DATABASE")
echo "scheduler-bench: $reports hourly reports due at once, one enqueuer cron --once pass, $(nproc) cores, release build, $(date -u +%F)"
python3 -c "print('pass: %.1f s with %d reports due; %s jobs enqueued by it' % ($end - $start, $reports, '$jobs'))"
echo "cron said: $out"
