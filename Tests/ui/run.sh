#!/usr/bin/env bash
# The Custom UI in a real browser: Chromium driven by Selenium against the real sandbox
# (playing Jira's page and Forge's bridge, Atlassian and Microsoft), `enqueuer serve` and a worker.
# Part of `make test`; `.ci/run` installs chromium, chromium-driver and selenium. Screenshots go to
# demo-output/ui/. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=$(cd "${1:-.build/debug}" && pwd)
selenium_version=4.27.1
if ! python3 -c "import selenium, sys; sys.exit(selenium.__version__ != '$selenium_version')" 2>/dev/null; then
  echo "installing selenium $selenium_version (pip)"
  python3 -m pip install -q --disable-pip-version-check "selenium==$selenium_version"
fi
# axe-core 4 for the accessibility checks: axe-core-python bundles axe-core 4.4.3 (axe-selenium-python,
# the usual Selenium wrapper, still bundles axe-core 3.1.1); the test injects its axe.min.js itself.
axe_version=0.1.0
if ! python3 -c "import axe_core_python, sys; sys.exit(axe_core_python.__version__ != '$axe_version')" 2>/dev/null; then
  echo "installing axe-core-python $axe_version (pip)"
  python3 -m pip install -q --disable-pip-version-check "axe-core-python==$axe_version"
fi
command -v chromedriver >/dev/null || { echo "chromedriver is missing: apt-get install chromium chromium-driver" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/reports-ui-XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "${keep_logs:-0}" = 1 ]; then echo "logs kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

api_port=$(free_port)
"$bin/sandbox" serve --port 0 --seed 5 --consistency-delay-ms 0 --api-url "http://127.0.0.1:$api_port" \
  --ui-dir deploy/forge/static/reports >"$work/sandbox.log" 2>&1 & pids+=($!)
for _ in $(seq 1 600); do grep -q "sandbox ready:" "$work/sandbox.log" && break; sleep 0.05; done
line=$(grep "sandbox ready:" "$work/sandbox.log")
for pair in ${line#sandbox ready: }; do export "${pair?}"; done
# The app as a paid app in production: a licence is required, and the sandbox's tokens say whether it is active.
export REPORTS_DATABASE="$work/reports.sqlite" REPORTS_LOG_LEVEL=error REPORTS_REQUIRE_LICENSE=1
REPORTS_TOKEN_KEYS=$("$bin/enqueuer" keys generate); REPORTS_STATE_KEY=$("$bin/enqueuer" keys generate --state)
export REPORTS_TOKEN_KEYS REPORTS_STATE_KEY MS_CLIENT_SECRET=sandbox-secret
export MS_REDIRECT_URI="http://127.0.0.1:$api_port/oauth/microsoft/callback"
"$bin/enqueuer" migrate >/dev/null
"$bin/enqueuer" serve --port "$api_port" >"$work/api.log" 2>&1 & pids+=($!)
"$bin/worker" run --id ui-worker >"$work/worker.log" 2>&1 & pids+=($!)
for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$api_port/healthz" >/dev/null && break; sleep 0.05; done

mkdir -p demo-output/ui
set +e
UI_SANDBOX=${MS_GRAPH_BASE_URL%/} UI_SCREENSHOTS="$PWD/demo-output/ui" python3 Tests/ui/test_ui.py
status=$?
set -e
if [ "$status" != 0 ]; then
  keep_logs=1
  for log in sandbox api worker; do echo "--- $log.log (last lines)"; tail -n 20 "$work/$log.log"; done
fi
[ "$status" = 0 ] && echo "ui: all browser checks passed" || echo "ui: FAILED"
exit "$status"
