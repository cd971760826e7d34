#!/usr/bin/env python3
"""What a run costs, through real processes: the sandbox with a chosen latency on every upstream
call, `enqueuer serve`, WORKERS `worker run` processes of CONCURRENCY slots, USERS sandbox users each
connected to a Microsoft user of their own (so OneNote's per-user limits do not bind), REPORTS
reports spread over them.

MODE=runnow (default): every report is Run-now'd once; prints runs per second from the first 202 to
the last run's end, worker CPU milliseconds per run (utime + stime from /proc, before and after),
each worker's peak RSS, upstream calls per run, and the bound the fleet should reach: the smaller of
the latency bound, slots / (calls per run x latency), and the CPU bound, cores / worker CPU per run.

MODE=slot: every report is hourly at the same minute; once all exist, their next slot is moved to
the next minute boundary (as if they had been created for it) and `enqueuer cron --interval 1`
runs; prints the time from the slot to the last page written and the lateness of the runs (slot ->
started, slot -> finished: p50, p95, max), against the same bound.

BIN_DIR runs another build's API, workers and cron (the baseline); the sandbox is always SANDBOX_DIR's.
OTEL=1 exports the API's and workers' spans to a local OTLP/HTTP sink (the cost of tracing on).
"""
import concurrent.futures, http.server as otlp_http, json, os, sqlite3, statistics, subprocess, sys, tempfile, threading, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from benchlib import api_up, connect_microsoft, http, service_env, stop_all  # noqa: E402

SECTION = "1-0b7a9d2e-5c3f-4e1a-9b8d-2f6c4a1e7d30!11-7F3A2C1B"
COLUMNS = ["key", "summary", "status", "assignee", "priority", "updated"]


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def rss_mb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q * len(ordered) + 0.5)) - 1))] if ordered else 0.0


class Sink(otlp_http.BaseHTTPRequestHandler):
    """An OTLP/HTTP endpoint that takes and drops batches (what a local collector costs the service)."""
    batches = 0

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        Sink.batches += 1
        self.send_response(200)
        self.send_header("Content-Type", self.headers.get("Content-Type", "application/x-protobuf"))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def main():
    bin_dir, sandbox_dir = sys.argv[1], sys.argv[2]
    mode = os.environ.get("MODE", "runnow")
    users = int(os.environ.get("USERS", "80"))
    reports = int(os.environ.get("REPORTS", str(users)))
    workers = int(os.environ.get("WORKERS", "2"))
    concurrency = int(os.environ.get("CONCURRENCY", "8"))
    latency = int(os.environ.get("LATENCY_MS", "100"))
    issues = int(os.environ.get("ISSUES", "100"))
    work = tempfile.mkdtemp(prefix="reports-fleet-")
    procs = []

    def start(name, argv, env=None):
        log = open(f"{work}/{name}.log", "a")
        proc = subprocess.Popen(argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL, env=env)
        procs.append(proc)
        return proc

    def wait_for(condition, limit, what, every=0.05):
        deadline = time.time() + limit
        while time.time() < deadline:
            value = condition()
            if value:
                return value
            time.sleep(every)
        raise SystemExit(f"timed out: {what}")

    try:
        # OPS holds `issues` issues: each report reads them all (a 100-issue run).
        sandbox_proc = start("sandbox", [f"{sandbox_dir}/sandbox", "serve", "--port", "0", "--seed", "17", "--issues", str(issues),
                          "--extra-accounts", str(max(0, users - 2)),
                          # One section for every report; the sandbox shares its sections among users.
                          "--section-page-cap", str(reports + 100)])
        line = wait_for(lambda: next((l for l in open(f"{work}/sandbox.log") if l.startswith("sandbox ready:")), None), 60, "sandbox")
        env, sandbox, api = service_env(work, bin_dir, line)
        per_user = -(-reports // users)
        env.update(REPORTS_MAX_REPORTS_PER_USER=str(per_user + 10), REPORTS_MAX_REPORTS_PER_INSTALLATION=str(reports + 100),
                   REPORTS_RUN_NOW_PER_MINUTE=str(per_user + 10), REPORTS_REPORT_WRITES_PER_MINUTE=str(per_user + 100))
        sink = None
        if os.environ.get("OTEL") == "1":
            sink = otlp_http.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
            threading.Thread(target=sink.serve_forever, daemon=True).start()
            env["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://127.0.0.1:{sink.server_address[1]}"
        subprocess.run([f"{bin_dir}/enqueuer", "migrate"], env=env, check=True, capture_output=True)
        api_proc = start("api", [f"{bin_dir}/enqueuer", "serve", "--port", api.rsplit(":", 1)[1]], env)
        wait_for(lambda: api_up(api), 30, "API")
        accounts = [f"sandbox-user-{i + 1}" for i in range(users)]

        def headers(account):
            _, minted = http("POST", f"{sandbox}/sandbox/fit", body={"accountId": account} if account else {"trigger": True})
            fields = {"Authorization": f"Bearer {minted['fit']}", "x-forge-oauth-system": minted["systemToken"], "Content-Type": "application/json"}
            if account:
                fields["x-forge-oauth-user"] = minted["userToken"]
            return fields

        status, _ = http("POST", f"{api}/forge/trigger", headers(None))
        assert status == 200, status
        minute = (time.gmtime().tm_min + 30) % 60  # the slot mode moves the slot; this only makes reports hourly

        def set_up(index):
            account = accounts[index]
            h = headers(account)
            _, connect = http("POST", f"{api}/v1/microsoft/connect", h)
            page = connect_microsoft(connect["startUrl"], login_hint=f"fleet{index}@example.com")
            assert "Connected" in page, page[:200]
            ids = []
            for n in range(index, reports, users):
                body = {"name": f"Fleet {n}", "jql": "project = OPS ORDER BY key", "columns": COLUMNS, "sectionId": SECTION}
                if mode == "slot":
                    body["schedule"] = {"cron": f"{minute} * * * *", "timeZone": "UTC"}
                status, created = http("POST", f"{api}/v1/reports", h, body)
                assert status == 201, (status, created)
                ids.append((account, created["id"]))
            return ids

        t0 = time.time()
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            report_ids = [pair for ids in pool.map(set_up, range(users)) for pair in ids]
        setup_s = time.time() - t0
        # PROFILE=1: the first worker runs under `perf record` (user-space samples) into the work folder.
        prefix = lambda i: (["perf", "record", "-e", "cpu-clock:u", "-F", "1999", "-g", "-o", f"{work}/perf.data", "--"]
                            if os.environ.get("PROFILE") == "1" and i == 0 else [])
        worker_procs = [start(f"w{i}", prefix(i) + [f"{bin_dir}/worker", "run", "--id", f"fleet-w{i}", "--concurrency", str(concurrency)], env)
                        for i in range(workers)]
        db = lambda: sqlite3.connect(env["REPORTS_DATABASE"], timeout=60)
        # The workers' start-up (opening the database, the first lease) is not a run's cost: wait until
        # their CPU time stands still before taking the baseline.
        def settled():
            before = [cpu_seconds(p.pid) for p in worker_procs]
            time.sleep(0.3)
            return before == [cpu_seconds(p.pid) for p in worker_procs]
        wait_for(settled, 60, "the workers to be idle")
        http("POST", f"{sandbox}/sandbox/faults", body={"route": "/", "latencyMs": latency})
        calls_before = sum(http("GET", f"{sandbox}/sandbox/counters")[1].values())
        measured = worker_procs + [api_proc, sandbox_proc]
        idle_rss = {p.pid: rss_mb(p.pid) for p in worker_procs}
        cpu_before = {p.pid: cpu_seconds(p.pid) for p in measured}
        cron_proc = None
        if mode == "slot":
            slot = (int(time.time()) // 60 + 1) * 60
            if slot - time.time() < 5:
                slot += 60
            with db() as conn:
                conn.execute("UPDATE reports SET next_run_at = ?", (slot * 1000,))
            cron_proc = start("cron", [f"{bin_dir}/enqueuer", "cron", "--interval", "1"], env)
            started = slot
        else:
            by_account = {}
            for account, _ in report_ids:
                by_account.setdefault(account, headers(account))
            started = time.time()

            def run_now(pair):
                account, report = pair
                status, body = http("POST", f"{api}/v1/reports/{report}/runs", by_account[account])
                assert status == 202, (status, body)

            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                list(pool.map(run_now, report_ids))
        wait_for(lambda: db().execute("SELECT count(*) FROM runs WHERE status IN ('succeeded','failed')").fetchone()[0] >= reports,
                 7200, "every run to end", every=0.2)
        ended = db().execute("SELECT max(finished_at) FROM runs").fetchone()[0] / 1000
        elapsed = ended - started
        cpu = {p.pid: cpu_seconds(p.pid) - cpu_before[p.pid] for p in measured}
        cron_cpu = cpu_seconds(cron_proc.pid) if cron_proc else 0.0
        calls = sum(http("GET", f"{sandbox}/sandbox/counters")[1].values()) - calls_before
        failed = db().execute("SELECT count(*) FROM runs WHERE status = 'failed'").fetchone()[0]
        counts = db().execute("SELECT min(issue_count), max(issue_count) FROM runs").fetchone()
        attempts = db().execute("SELECT max(attempt) FROM jobs").fetchone()[0]
        worker_cpu = sum(cpu[p.pid] for p in worker_procs)
        cpu_per_run = max(worker_cpu / reports, 1e-6)  # PROFILE=1 measures perf, not the worker
        calls_per_run = calls / reports
        slots = workers * concurrency
        latency_bound = slots / (calls_per_run * latency / 1000)
        cores = os.cpu_count()
        cpu_bound = cores / cpu_per_run
        # Everything on this machine per run: the workers, the API, cron and the sandbox standing in for
        # Atlassian and Microsoft (which a real deployment does not carry).
        machine_cpu = (worker_cpu + cpu[api_proc.pid] + cpu[sandbox_proc.pid] + cron_cpu) / reports
        machine_bound = cores / machine_cpu
        bound = min(latency_bound, cpu_bound)
        rate = reports / elapsed
        print(f"fleet-bench: {bin_dir}, MODE={mode}, {users} users, {reports} reports of {counts[0]}-{counts[1]} issues, "
              f"{workers} workers x {concurrency}, {latency} ms upstream latency, {cores} cores, "
              f"tracing {'on (local OTLP sink, %d batches)' % Sink.batches if sink else 'off'}, {time.strftime('%Y-%m-%d', time.gmtime())}")
        print(f"set-up (connects and report creates): {setup_s:.0f} s")
        print(f"runs: {reports - failed} succeeded, {failed} failed, most attempts of any job {attempts}; "
              f"{rate:.1f} runs/s over {elapsed:.1f} s ({'from the slot' if mode == 'slot' else 'from the first Run now'} to the last page written)")
        print(f"worker CPU per run: {cpu_per_run * 1000:.1f} ms (all workers {worker_cpu:.1f} s); API CPU per run "
              f"{cpu[api_proc.pid] / reports * 1000:.1f} ms; upstream calls per run {calls_per_run:.2f}")
        print(f"bound: latency {latency_bound:.1f} runs/s ({slots} slots / ({calls_per_run:.2f} calls x {latency} ms)), "
              f"CPU {cpu_bound:.1f} runs/s ({cores} cores / {cpu_per_run * 1000:.1f} ms) -> {bound:.1f} runs/s; "
              f"measured {100 * rate / bound:.0f}% of it")
        print(f"this machine's CPU per run, every process: {machine_cpu * 1000:.1f} ms (sandbox {cpu[sandbox_proc.pid] / reports * 1000:.1f} ms, "
              f"cron {cron_cpu / reports * 1000:.1f} ms) -> {machine_bound:.1f} runs/s on {cores} cores; "
              f"measured {100 * rate / min(latency_bound, machine_bound):.0f}% of min(latency, machine)")
        print("peak RSS: " + ", ".join(f"w{i} {peak_rss_mb(p.pid):.0f} MB (idle {idle_rss[p.pid]:.0f})" for i, p in enumerate(worker_procs))
              + f", API {peak_rss_mb(api_proc.pid):.0f} MB; per run in flight "
              + f"{statistics.mean(peak_rss_mb(p.pid) - idle_rss[p.pid] for p in worker_procs) / concurrency:.1f} MB")
        if mode == "slot":
            rows = db().execute("SELECT started_at - slot_at, finished_at - slot_at FROM runs WHERE slot_at IS NOT NULL").fetchall()
            starts = [r[0] / 1000 for r in rows if r[0] is not None]
            ends = [r[1] / 1000 for r in rows if r[1] is not None]
            print(f"lateness over {len(rows)} scheduled runs: slot -> started p50 {statistics.median(starts):.1f} s, "
                  f"p95 {percentile(starts, 0.95):.1f} s, max {max(starts):.1f} s; slot -> finished p50 {statistics.median(ends):.1f} s, "
                  f"p95 {percentile(ends, 0.95):.1f} s, max {max(ends):.1f} s; the bound drains {reports} runs in {reports / bound:.0f} s")
            stats = subprocess.run([f"{bin_dir}/enqueuer", "queue", "stats"], env=env, capture_output=True, text=True).stdout
            for line in stats.splitlines():
                if line.startswith("scheduled runs"):
                    print(f"enq queue stats: {line}")
    finally:
        stop_all(procs, work)


if __name__ == "__main__":
    main()
