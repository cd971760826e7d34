#!/usr/bin/env python3
"""Fairness under a heavy user: two default workers against the sandbox, Microsoft's real
per-user OneNote limits (120 a minute, 400 an hour). User A Run-nows HEAVY (200) reports; one second
later users B-F Run-now one report each. Prints B-F's time from their 202 to their run's end (p50,
p95, max), A's drain (OneNote calls a minute against the limit) and the longest run of OneNote 429s
any user saw in a row. Each user is a Jira account connected to a Microsoft user of its own
(`login_hint` at the sandbox's authorize). The sandbox always comes from SANDBOX_DIR (today's, with
per-user limits); the API and workers from BIN_DIR, so an older build is the baseline.
"""
import json, os, socket, sqlite3, statistics, subprocess, sys, tempfile, time, urllib.error, urllib.request
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from benchlib import api_up, connect_microsoft, http, service_env, stop_all  # noqa: E402

SECTION = "1-0b7a9d2e-5c3f-4e1a-9b8d-2f6c4a1e7d30!11-7F3A2C1B"


def main():
    bin_dir, sandbox_dir = sys.argv[1], sys.argv[2]
    heavy = int(os.environ.get("HEAVY", "200"))
    work = tempfile.mkdtemp(prefix="reports-fairness-")
    procs = []

    def start(name, argv, env=None):
        log = open(f"{work}/{name}.log", "a")
        procs.append(subprocess.Popen(argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL, env=env))

    def wait_for(condition, limit, what):
        deadline = time.time() + limit
        while time.time() < deadline:
            value = condition()
            if value:
                return value
            time.sleep(0.05)
        raise SystemExit(f"timed out: {what}")

    try:
        start("sandbox", [f"{sandbox_dir}/sandbox", "serve", "--port", "0", "--seed", "13", "--issues", "40", "--extra-accounts", "4"])
        line = wait_for(lambda: next((l for l in open(f"{work}/sandbox.log") if l.startswith("sandbox ready:")), None), 30, "sandbox")
        env, sandbox, api = service_env(work, bin_dir, line)
        env.update(REPORTS_MAX_REPORTS_PER_USER=str(heavy + 10), REPORTS_RUN_NOW_PER_MINUTE=str(heavy + 10),
                   REPORTS_REPORT_WRITES_PER_MINUTE=str(heavy + 100))
        subprocess.run([f"{bin_dir}/enqueuer", "migrate"], env=env, check=True, capture_output=True)
        start("api", [f"{bin_dir}/enqueuer", "serve", "--port", api.rsplit(":", 1)[1]], env)
        wait_for(lambda: api_up(api), 30, "API")
        for name in ["fair-w1", "fair-w2"]:
            start(name, [f"{bin_dir}/worker", "run", "--id", name], env)

        def headers(account):
            # account None: what Forge sends a scheduled trigger (no principal; the system token's only source)
            _, minted = http("POST", f"{sandbox}/sandbox/fit", body={"accountId": account} if account else {"trigger": True})
            fields = {"Authorization": f"Bearer {minted['fit']}", "x-forge-oauth-system": minted["systemToken"], "Content-Type": "application/json"}
            if account:  # a user's call carries the user token Forge forwards (a report's JQL is checked with it)
                fields["x-forge-oauth-user"] = minted["userToken"]
            return fields

        users = {user: f"sandbox-user-{index + 1}" for index, user in enumerate("ABCDEF")}
        status, _ = http("POST", f"{api}/forge/trigger", headers(None))
        assert status == 200, status
        for user, account in users.items():
            _, connect = http("POST", f"{api}/v1/microsoft/connect", headers(account))
            page = connect_microsoft(connect["startUrl"], login_hint=f"{user.lower()}@example.com")
            assert "Connected" in page, page[:200]
        reports = {user: [] for user in users}
        for user, account in users.items():
            count = heavy if user == "A" else 1
            h = headers(account)
            for index in range(count):
                status, body = http("POST", f"{api}/v1/reports", h, {"name": f"{user} {index}", "jql": "project = OPS ORDER BY key",
                                                                     "columns": ["key", "summary", "status"], "sectionId": SECTION})
                assert status == 201, (status, body)
                reports[user].append(body["id"])

        h = headers(users["A"])
        started = time.time()
        a_runs = []
        for report in reports["A"]:
            status, body = http("POST", f"{api}/v1/reports/{report}/runs", h)
            assert status == 202, (status, body)
            a_runs.append(body["id"])
        time.sleep(max(0, started + 1 - time.time()))  # the scenario: the others come one second later
        small = {}
        for user in "BCDEF":
            status, body = http("POST", f"{api}/v1/reports/{reports[user][0]}/runs", headers(users[user]))
            assert status == 202, (status, body)
            small[user] = (body["id"], time.time())

        def ended(account, run):
            status, body = http("GET", f"{api}/v1/runs/{run}", headers(account))
            return body.get("status") in ("succeeded", "failed"), body

        small_times, small_status = [], []
        pending = dict(small)
        deadline = time.time() + 600
        while pending and time.time() < deadline:
            for user, (run, at) in list(pending.items()):
                done, body = ended(users[user], run)
                if done:
                    small_times.append(time.time() - at)
                    small_status.append(body["status"])
                    del pending[user]
            time.sleep(0.05)
        db = lambda: sqlite3.connect(env["REPORTS_DATABASE"], timeout=30)
        wait_for(lambda: db().execute("SELECT count(*) FROM runs WHERE status IN ('succeeded','failed')").fetchone()[0] == heavy + 5, 900, "A's drain")
        rows = db().execute("""SELECT runs.status, runs.finished_at FROM runs JOIN reports ON reports.id = runs.report_id
                               WHERE reports.owner_account_id = ? ORDER BY runs.finished_at""", (users["A"],)).fetchall()
        first_queued = db().execute("SELECT min(queued_at) FROM runs").fetchone()[0]
        a_ok = sum(1 for s, _ in rows if s == "succeeded")
        a_last = max(f for _, f in rows)
        usage = http("GET", f"{sandbox}/sandbox/onenote-usage")[1]["users"]
        a_user = next(u for u, v in usage.items() if v["admittedLastHour"] >= heavy // 2)
        calls = usage[a_user]["admittedLastHour"]
        elapsed = (a_last - first_queued) / 1000
        # OneNote allows 120 calls in any 60 s: the n-th call of a user can go no sooner than
        # 60 x floor((n - 1) / 120) s after the first, so that is the fastest possible drain.
        fastest = 60 * ((calls - 1) // 120)
        longest = max(v["longestThrottledRun"] for v in usage.values())
        throttled = sum(v["throttled"] for v in usage.values())
        attempts = db().execute("SELECT max(attempt) FROM jobs").fetchone()[0]
        print(f"fairness-bench: {bin_dir}, 2 workers x 8, user A {heavy} Run nows, B-F one each 1 s later, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d', time.gmtime())}")
        print(f"B-F from 202 to done: p50 {statistics.median(small_times):.2f} s, p95 {sorted(small_times)[max(0, int(len(small_times) * 0.95 + 0.5) - 1)]:.2f} s, max {max(small_times):.2f} s ({', '.join(small_status)})")
        print(f"A: {a_ok}/{heavy} succeeded in {elapsed:.1f} s from the first 202, {calls} OneNote calls = {calls / elapsed * 60:.0f} a minute "
              f"(limit 120); OneNote's windows allow it no sooner than {fastest} s"
              + (f" -> {100 * fastest / elapsed:.0f}% of the fastest possible" if fastest else ""))
        print(f"OneNote 429s: {throttled} in all, longest run in a row for one user: {longest}; most attempts of any job: {attempts}")
    finally:
        stop_all(procs, work)


if __name__ == "__main__":
    main()
