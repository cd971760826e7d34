"""What the Python benchmark drivers share (chaos, fairness): JSON over HTTP to the API and the
sandbox, a free loopback port, and a browser's steps through the Microsoft connect flow."""
import json, os, re, socket, subprocess, urllib.error, urllib.parse, urllib.request


def http(method, url, headers=None, body=None, timeout=30):
    """(status, JSON or text) of one request; an HTTP error status is returned, not raised."""
    data = json.dumps(body).encode() if isinstance(body, (dict, list)) else (body.encode() if body else None)
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read().decode()
            return response.status, (json.loads(text) if text.startswith(("{", "[")) else text)
    except urllib.error.HTTPError as error:
        text = error.read().decode()
        return error.code, (json.loads(text) if text.startswith(("{", "[")) else text)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_browser = urllib.request.build_opener(_NoRedirect)


def _raw(method, url, headers=None, body=None):
    """(status, headers, text) of one request, redirects not followed (a browser step by step)."""
    request = urllib.request.Request(url, data=body.encode() if body else None, method=method, headers=headers or {})
    try:
        with _browser.open(request, timeout=30) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


def connect_microsoft(start_url, login_hint=None):
    """The browser's part of the Microsoft connect flow against the sandbox: open the start URL (it
    sets the connect cookie), consent at the sandbox's Microsoft, land on the callback with the cookie,
    press Connect on the confirmation page. Returns the final page's text."""
    _, headers, _ = _raw("GET", start_url)
    cookie = headers["Set-Cookie"].split(";")[0]
    authorize = headers["Location"] + (f"&login_hint={urllib.parse.quote(login_hint)}" if login_hint else "")
    _, headers, _ = _raw("GET", authorize)
    callback = headers["Location"]
    _, _, page = _raw("GET", callback, {"Cookie": cookie})
    token = re.search(r'name="token" value="([^"]+)"', page).group(1)
    confirm = callback.split("/oauth/")[0] + "/oauth/microsoft/confirm"
    _, _, page = _raw("POST", confirm, {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
                      urllib.parse.urlencode({"token": token, "decision": "connect"}))
    return page



def api_up(api):
    """Whether the API answers its health check."""
    try:
        return http("GET", f"{api}/healthz", timeout=2)[0] == 200
    except OSError:
        return False


def stop_all(procs, work):
    """SIGTERM to every process a driver started, SIGKILL to those not gone in 30 s; the work folder
    is removed unless KEEP=1."""
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    if os.environ.get("KEEP") != "1":
        subprocess.run(["rm", "-rf", work])
    else:
        print(f"kept {work}")


def service_env(work, bin_dir, ready_line):
    """(environment, sandbox URL, API URL) for the API and workers against the sandbox that printed
    `ready_line`: its endpoints, fresh keys, a database in `work`, warnings-only logs, no OTel export."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
    for pair in ready_line.strip().split("sandbox ready: ", 1)[1].split():
        key, value = pair.split("=", 1)
        env[key] = value
    api = f"http://127.0.0.1:{free_port()}"
    generate = lambda *flag: subprocess.run([f"{bin_dir}/enqueuer", "keys", "generate", *flag],
                                            capture_output=True, text=True, check=True).stdout.strip()
    env.update(REPORTS_DATABASE=f"{work}/reports.sqlite", REPORTS_LOG_LEVEL="warning", REPORTS_TOKEN_KEYS=generate(),
               REPORTS_STATE_KEY=generate("--state"), MS_CLIENT_SECRET="sandbox-secret",
               MS_REDIRECT_URI=f"{api}/oauth/microsoft/callback")
    return env, env["MS_GRAPH_BASE_URL"].rstrip("/"), api
