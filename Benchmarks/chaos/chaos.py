#!/usr/bin/env python3
"""Chaos run: the product as an operator runs it, abused.

Three workers, `enqueuer serve` and `enqueuer cron` against the sandbox, for N minutes: random
SIGKILL / SIGTERM / SIGSTOP+SIGCONT of workers (restarted with the same id), restarts of the API and
cron, and sandbox faults (a create's answer held back, slow reads, 503s, 429s) while Run nows and
scheduled runs flow. Then it heals everything, changes one issue per project, runs every report once
more and checks: exactly one page per report, each showing the final data, no job waiting or running,
every run terminal, `PRAGMA integrity_check` ok. Exit 0 only if every check holds.

Usage: chaos.py BIN_DIR [--minutes N] [--seed S]. Not part of `make test` (see docs/testing.md, `make chaos`).
"""
import argparse, json, os, random, signal, sqlite3, subprocess, sys, tempfile, time, urllib.request
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from benchlib import connect_microsoft, free_port, http  # noqa: E402

SECTIONS = ["1-0b7a9d2e-5c3f-4e1a-9b8d-2f6c4a1e7d30!11-7F3A2C1B"]
REPORTS = [  # (name, jql, schedule); ARC needs several OneNote requests per write
    ("Ops all", "project = OPS ORDER BY key", "*/5 * * * *"),
    ("Ops mine", "project = OPS AND assignee = currentUser() ORDER BY key", None),
    ("Web all", "project = WEB ORDER BY key", "*/7 * * * *"),
    ("Web open", "project = WEB AND status != Done ORDER BY key", None),
    ("Archive", "project = ARC ORDER BY key", "*/10 * * * *"),
    ("Ops by status", "project = OPS ORDER BY status, key", None),
]
FINAL_EDIT = {"OPS": "OPS-1", "WEB": "WEB-2", "ARC": "ARC-1"}


class Stack:
    def __init__(self, bin_dir, work, seed):
        self.bin, self.work, self.procs, self.logs = bin_dir, work, {}, {}
        self.random = random.Random(seed)
        self.events = {}
        self.start("sandbox", [f"{bin_dir}/sandbox", "serve", "--port", "0", "--seed", str(seed), "--issues", "200", "--archive-issues", "3000"])
        line = self.wait_for_line("sandbox", "sandbox ready:")
        self.env = dict(os.environ)
        for pair in line.split("sandbox ready: ", 1)[1].split():
            key, value = pair.split("=", 1)
            self.env[key] = value
        self.sandbox = self.env["MS_GRAPH_BASE_URL"].rstrip("/")
        self.port = free_port()
        self.api = f"http://127.0.0.1:{self.port}"
        keys = subprocess.run([f"{bin_dir}/enqueuer", "keys", "generate"], capture_output=True, text=True, check=True).stdout.strip()
        state = subprocess.run([f"{bin_dir}/enqueuer", "keys", "generate", "--state"], capture_output=True, text=True, check=True).stdout.strip()
        self.env.update(REPORTS_DATABASE=f"{work}/reports.sqlite", REPORTS_LOG_LEVEL="info", REPORTS_TOKEN_KEYS=keys,
                        REPORTS_STATE_KEY=state, MS_CLIENT_SECRET="sandbox-secret", MS_REDIRECT_URI=f"{self.api}/oauth/microsoft/callback",
                        # The chaos schedules fire every few minutes on purpose (more runs per hour to break).
                        REPORTS_MIN_SCHEDULE_MINUTES="1", REPORTS_RUN_NOW_PER_MINUTE="10000",
                        REPORTS_REPORT_WRITES_PER_MINUTE="10000")
        subprocess.run([f"{bin_dir}/enqueuer", "migrate"], env=self.env, check=True, capture_output=True)
        self.start_api()
        self.start_cron()
        self.workers = ["chaos-w1", "chaos-w2", "chaos-w3"]
        self.paused = set()
        for name in self.workers:
            self.start_worker(name)

    def start(self, name, argv, env=None):
        log = open(f"{self.work}/{name}.log", "a")
        self.procs[name] = subprocess.Popen(argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL, env=env)

    def start_api(self):
        self.start("api", [f"{self.bin}/enqueuer", "serve", "--port", str(self.port)], self.env)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if http("GET", f"{self.api}/healthz", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise SystemExit("the API did not start")

    def start_cron(self):
        self.start("cron", [f"{self.bin}/enqueuer", "cron", "--interval", "5"], self.env)

    def start_worker(self, name):
        self.start(name, [f"{self.bin}/worker", "run", "--id", name, "--lease-seconds", "5", "--grace-seconds", "2"], self.env)

    def wait_for_line(self, name, prefix, limit=30):
        deadline = time.time() + limit
        while time.time() < deadline:
            for line in open(f"{self.work}/{name}.log"):
                if line.startswith(prefix):
                    return line.strip()
            time.sleep(0.05)
        raise SystemExit(f"{name} did not print '{prefix}'")

    def headers(self):
        _, minted = http("POST", f"{self.sandbox}/sandbox/fit", body={"accountId": "sandbox-user-1"})
        return {"Authorization": f"Bearer {minted['fit']}", "x-forge-oauth-system": minted["systemToken"],
                "x-forge-oauth-user": minted["userToken"], "Content-Type": "application/json"}

    def trigger_headers(self):
        # What Forge sends a scheduled trigger: no principal, the system token (the only source of it).
        _, minted = http("POST", f"{self.sandbox}/sandbox/fit", body={"trigger": True})
        return {"Authorization": f"Bearer {minted['fit']}", "x-forge-oauth-system": minted["systemToken"], "Content-Type": "application/json"}

    def call(self, method, path, body=None):
        return http(method, f"{self.api}{path}", self.trigger_headers() if path.startswith("/forge/") else self.headers(), body)

    def count(self, event):
        self.events[event] = self.events.get(event, 0) + 1

    def db(self):
        return sqlite3.connect(self.env["REPORTS_DATABASE"], timeout=30)

    # Chaos actions
    def chaos_step(self, reports):
        # Run nows are rationed: every OneNote request draws from the sandbox user's 400 an hour.
        action = "runnow" if self.random.random() < 0.08 else self.random.choice(["kill", "kill", "term", "pause", "pause", "api", "cron", "fault", "fault", "fault"])
        worker = self.random.choice(self.workers)
        if action == "kill" and worker not in self.paused:
            self.procs[worker].send_signal(signal.SIGKILL); self.procs[worker].wait()
            time.sleep(self.random.uniform(0.5, 4)); self.start_worker(worker); self.count("worker SIGKILL + restart")
        elif action == "term" and worker not in self.paused:
            self.procs[worker].send_signal(signal.SIGTERM); self.procs[worker].wait(timeout=60)
            self.start_worker(worker); self.count("worker SIGTERM + restart")
        elif action == "pause" and worker not in self.paused:
            self.procs[worker].send_signal(signal.SIGSTOP); self.paused.add(worker)
            time.sleep(self.random.uniform(2, 12))  # often past the 5 s lease
            self.procs[worker].send_signal(signal.SIGCONT); self.paused.discard(worker); self.count("worker SIGSTOP/SIGCONT")
        elif action == "api":
            self.procs["api"].send_signal(self.random.choice([signal.SIGTERM, signal.SIGKILL])); self.procs["api"].wait(timeout=60)
            self.start_api(); self.count("API restart")
        elif action == "cron":
            self.procs["cron"].send_signal(self.random.choice([signal.SIGTERM, signal.SIGKILL])); self.procs["cron"].wait(timeout=60)
            self.start_cron(); self.count("cron restart")
        elif action == "fault":
            fault = self.random.choice([
                {"route": "/v1.0/me/onenote/sections/*", "method": "POST", "holdResponseMs": self.random.randint(2000, 8000), "count": 1},
                {"route": "/v1.0/me/onenote/pages/*/content", "method": "GET", "latencyMs": self.random.randint(500, 4000), "count": 2},
                {"route": "/v1.0/me/onenote/pages/*/content", "method": "PATCH", "holdResponseMs": self.random.randint(1000, 6000), "count": 1},
                {"route": "/v1.0/me/onenote/", "status": 503, "count": 2},
                {"route": "/v1.0/me/onenote/", "status": 429, "count": 3},
                {"route": "/ex/jira/", "status": 429, "count": 1, "retryAfter": 1},
            ])
            http("POST", f"{self.sandbox}/sandbox/faults", body=fault); self.count(f"fault {fault.get('status') or ('hold' if 'holdResponseMs' in fault else 'latency')}")
        elif action == "runnow":
            for report in self.random.sample(reports, 2):
                status, _ = self.call("POST", f"/v1/reports/{report}/runs")
                self.count(f"Run now ({status})")

    def heal(self):
        for worker in self.workers:
            if worker in self.paused:
                self.procs[worker].send_signal(signal.SIGCONT)
            if self.procs[worker].poll() is not None:
                self.start_worker(worker)
        self.paused.clear()
        http("DELETE", f"{self.sandbox}/sandbox/faults")

    def stop(self):
        for name, proc in self.procs.items():
            if proc.poll() is None:
                proc.send_signal(signal.SIGCONT); proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()


def wait_runs(stack, run_ids, limit):
    deadline = time.time() + limit
    pending = set(run_ids)
    while pending and time.time() < deadline:
        for run_id in list(pending):
            status, run = stack.call("GET", f"/v1/runs/{run_id}")
            if status == 200 and run["status"] in ("succeeded", "failed"):
                pending.discard(run_id)
        time.sleep(0.5)
    return pending


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("bin_dir")
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="reports-chaos-")
    print(f"chaos: {args.minutes} min, seed {args.seed}, work folder {work}", flush=True)
    stack = Stack(os.path.abspath(args.bin_dir), work, args.seed)
    failures = []
    try:
        assert stack.call("POST", "/forge/trigger")[0] == 200
        _, connect = stack.call("POST", "/v1/microsoft/connect")
        assert "Connected" in connect_microsoft(connect["startUrl"])
        reports = []
        for name, jql, cron in REPORTS:
            body = {"name": name, "jql": jql, "columns": ["key", "summary", "status", "assignee", "updated"], "sectionId": SECTIONS[0]}
            if cron:
                body["schedule"] = {"cron": cron, "timeZone": "Europe/Berlin"}
            status, report = stack.call("POST", "/v1/reports", body)
            assert status == 201, report
            reports.append(report["id"])
        started = time.time()
        while time.time() - started < args.minutes * 60:
            try:
                stack.chaos_step(reports)
            except Exception as error:  # a restarted API may refuse a call for a moment
                stack.count(f"chaos step error {type(error).__name__}")
            time.sleep(stack.random.uniform(1, 6))
        print("chaos over; healing and draining", flush=True)
        stack.heal()
        drained_by = time.time() + 600
        while time.time() < drained_by:
            with stack.db() as db:
                busy = db.execute("SELECT count(*) FROM jobs WHERE state IN ('available', 'running')").fetchone()[0]
            if busy == 0:
                break
            time.sleep(1)
        # The final data: one changed issue per project, then a Run now of every report.
        marker = f"final-{args.seed}-{int(time.time())}"
        for project, key in FINAL_EDIT.items():
            http("POST", f"{stack.sandbox}/sandbox/issues/{key}", body={"summary": f"{marker} {project}"})
        final_runs = [stack.call("POST", f"/v1/reports/{report}/runs")[1]["id"] for report in reports]
        unfinished = wait_runs(stack, final_runs, 900)
        if unfinished:
            failures.append(f"{len(unfinished)} final runs did not finish")
        for run_id in final_runs:
            status, run = stack.call("GET", f"/v1/runs/{run_id}")
            if run.get("status") != "succeeded":
                failures.append(f"final run {run_id}: {run.get('status')} {run.get('error')}")
        # Checks.
        _, pages = http("GET", f"{stack.sandbox}/sandbox/pages")
        with stack.db() as db:
            for report, (name, jql, _) in zip(reports, REPORTS):
                mine = [p for p in pages if f'data-id="onenote-reports-{report}"' in p["html"]]
                stored = db.execute("SELECT page_id FROM reports WHERE id = ?", (report,)).fetchone()[0]
                if len(mine) != 1:
                    failures.append(f"report '{name}' has {len(mine)} pages")
                elif mine[0]["id"] != stored:
                    failures.append(f"report '{name}': stored page id is not its page")
                project = jql.split()[2]
                expects_edit = not ("currentUser" in jql)  # the edited issue may not be the user's
                if mine and expects_edit and f"{marker} {project}" not in mine[0]["html"]:
                    failures.append(f"report '{name}': the page does not show the final data")
            if len(pages) != len(reports):
                failures.append(f"{len(pages)} pages for {len(reports)} reports")
            busy = db.execute("SELECT count(*) FROM jobs WHERE state IN ('available', 'running')").fetchone()[0]
            if busy:
                failures.append(f"{busy} jobs still waiting or running")
            open_runs = db.execute("SELECT count(*) FROM runs WHERE status IN ('queued', 'running')").fetchone()[0]
            if open_runs:
                failures.append(f"{open_runs} runs not terminal")
            integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
            if integrity != "ok":
                failures.append(f"integrity_check: {integrity}")
            outcomes = db.execute("SELECT status, coalesce(error_code, ''), count(*) FROM runs GROUP BY 1, 2 ORDER BY 3 DESC").fetchall()
            jobs = db.execute("SELECT state, count(*) FROM jobs GROUP BY 1").fetchall()
        print("events: " + ", ".join(f"{k} ×{v}" for k, v in sorted(stack.events.items())))
        print("runs: " + ", ".join(f"{s}{'/' + c if c else ''} ×{n}" for s, c, n in outcomes))
        print("jobs: " + ", ".join(f"{s} ×{n}" for s, n in jobs))
        print(f"pages: {len(pages)} for {len(reports)} reports; sandbox calls: {http('GET', f'{stack.sandbox}/sandbox/counters')[1]}")
    finally:
        stack.stop()
    if failures:
        print("CHAOS CHECKS FAILED:\n  " + "\n  ".join(failures) + f"\nlogs kept in {work}")
        return 1
    print("chaos checks: all passed (one page per report, final data on every page, no stuck job, every run terminal, integrity ok)")
    subprocess.run(["rm", "-rf", work])
    return 0


if __name__ == "__main__":
    sys.exit(main())
