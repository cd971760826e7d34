#!/usr/bin/env bash
# TLS, checked with real parts (docs/design-notes.md §5, TLS). Run by `make test`.
#
# Outbound: `enqueuer check-upstream` (the product's own HTTP transport: URLSession → libcurl →
# OpenSSL, with the process's TLS 1.2 floor) against loopback `openssl s_server`s whose certificate is
# signed by a test CA. The process sees the test CA as its system trust store through a private mount
# namespace (needs root, as in CI), so nothing on the machine changes.
# Inbound: nginx with the shipped deploy/nginx/reports.conf and a self-signed chain in front of a real
# `enqueuer serve`. Skipped, saying so, when nginx is not installed (.ci/run installs it).
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=$(cd "${1:-.build/debug}" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/reports-tls-XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
failures=0
pass() { printf '  ok    %s\n' "$1"; }
fail() { printf '  FAIL  %s\n' "$1"; [ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/        /' | head -20; failures=$((failures + 1)); }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_for_port() { # port, what — polls until something listens, for up to 20 s
  local deadline=$((SECONDS + 20))
  until (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
    if (( SECONDS > deadline )); then echo "timed out waiting for $2 on port $1" >&2; exit 1; fi
    sleep 0.05
  done
}
# expect NAME WANT_STATUS PATTERN -- command…: the command's exit status and output must match.
expect() {
  local name=$1 want=$2 pattern=$3; shift 4
  local output status=0
  output=$("$@" 2>&1) || status=$?
  if [ "$status" -eq "$want" ] && grep -qE -- "$pattern" <<<"$output"; then pass "$name"; else fail "$name (exit $status)" "$output"; fi
}

echo "==> certificates: a test CA and a server certificate for localhost / 127.0.0.1"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/ca.key" -out "$work/ca.pem" -days 2 -subj "/CN=onenote-reports test CA" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout "$work/server.key" -out "$work/server.csr" -subj "/CN=localhost" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$work/ext"
openssl x509 -req -in "$work/server.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial \
  -out "$work/server.pem" -days 2 -extfile "$work/ext" 2>/dev/null
cat "$work/server.pem" "$work/ca.pem" >"$work/fullchain.pem"

# A loopback TLS server with exactly the given protocol options.
serve_tls() { # port, openssl s_server options…
  local port=$1; shift
  openssl s_server -accept "127.0.0.1:$port" -cert "$work/server.pem" -key "$work/server.key" -www -quiet "$@" \
    >"$work/s_server-$port.log" 2>&1 &
  pids+=($!)
  wait_for_port "$port" "openssl s_server"
}

echo "==> outbound: the product's transport against servers offering one TLS version each"
ca_bundle=$(curl-config --ca 2>/dev/null || echo /etc/ssl/certs/ca-certificates.crt)
if [ "$(id -u)" != 0 ]; then
  echo "  SKIP  outbound checks: they need root for a private mount namespace (CI runs as root)"
elif ! unshare -m --propagation private true 2>/dev/null || [ ! -f "$ca_bundle" ]; then
  fail "outbound checks need a private mount namespace (unshare -m) and $ca_bundle"
else
  # The product's process, trusting only the test CA (bind-mounted over the system bundle, privately).
  with_test_ca() { unshare -m --propagation private sh -c 'mount --bind "$1" "$2" && shift 2 && exec "$@"' sh "$work/ca.pem" "$ca_bundle" "$@"; }
  tls11_rsa=$(free_port); serve_tls "$tls11_rsa" -tls1_1 -cipher 'AES256-SHA:@SECLEVEL=0'
  tls11_ecdhe=$(free_port); serve_tls "$tls11_ecdhe" -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'
  tls12=$(free_port); serve_tls "$tls12" -tls1_2
  tls13=$(free_port); serve_tls "$tls13" -tls1_3
  # Controls: the TLS 1.1 servers really complete TLS 1.1 handshakes with a client that allows it,
  # and the system's curl (same libcurl and OpenSSL, without our floor) accepts the RSA one.
  expect "control: the TLS 1.1 (RSA key exchange) server speaks TLS 1.1" 0 'Protocol +: TLSv1\.1' -- \
    openssl s_client -connect "127.0.0.1:$tls11_rsa" -tls1_1 -cipher 'AES256-SHA:@SECLEVEL=0' -CAfile "$work/ca.pem" </dev/null
  expect "control: the TLS 1.1 (ECDHE) server speaks TLS 1.1" 0 'Protocol +: TLSv1\.1' -- \
    openssl s_client -connect "127.0.0.1:$tls11_ecdhe" -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' -CAfile "$work/ca.pem" </dev/null
  expect "control: plain curl (no floor) accepts the TLS 1.1 RSA server" 0 '.' -- \
    curl -sS --cacert "$work/ca.pem" "https://localhost:$tls11_rsa/"
  expect "transport refuses a server offering only TLS 1.1 (RSA key exchange)" 1 'could not reach localhost: .*protocol version' -- \
    with_test_ca "$bin/enqueuer" check-upstream "https://localhost:$tls11_rsa/"
  expect "transport refuses a server offering only TLS 1.1 (ECDHE)" 1 'could not reach localhost' -- \
    with_test_ca "$bin/enqueuer" check-upstream "https://localhost:$tls11_ecdhe/"
  expect "transport accepts a server offering TLS 1.2 (test CA trusted)" 0 'reachable: HTTP 200' -- \
    with_test_ca "$bin/enqueuer" check-upstream "https://localhost:$tls12/"
  expect "transport accepts a server offering TLS 1.3 (test CA trusted)" 0 'reachable: HTTP 200' -- \
    with_test_ca "$bin/enqueuer" check-upstream "https://localhost:$tls13/"
  expect "transport verifies certificates (TLS 1.2 server, test CA not trusted)" 1 'certificate' -- \
    "$bin/enqueuer" check-upstream "https://localhost:$tls12/"
  expect "transport refuses plain http:// outside sandbox mode" 1 'not HTTPS' -- \
    env REPORTS_SANDBOX=0 "$bin/enqueuer" check-upstream "http://127.0.0.1:$tls12/"
fi

echo "==> inbound: nginx with deploy/nginx/reports.conf in front of enqueuer serve"
nginx_bin=$(command -v nginx || true)
if [ -z "$nginx_bin" ] && [ -x /usr/sbin/nginx ]; then nginx_bin=/usr/sbin/nginx; fi
if [ -z "$nginx_bin" ]; then
  echo "  SKIP  nginx is not installed (apt-get install nginx; .ci/run does)"
else
  api=$(free_port); https=$(free_port); http=$(free_port)
  export REPORTS_DATABASE="$work/reports.sqlite" REPORTS_LOG_LEVEL=warning
  export REPORTS_TOKEN_KEYS=$("$bin/enqueuer" keys generate) REPORTS_STATE_KEY=$("$bin/enqueuer" keys generate --state)
  export FORGE_APP_ID=ari:cloud:ecosystem::app/00000000-0000-4000-8000-000000000000
  export FORGE_JWKS_URL=https://localhost:9/jwks.json MS_CLIENT_ID=00000000-0000-4000-8000-000000000000
  export MS_CLIENT_SECRET=tls-test-secret MS_REDIRECT_URI="https://localhost:$https/oauth/microsoft/callback"
  "$bin/enqueuer" migrate >/dev/null
  "$bin/enqueuer" serve --port "$api" >"$work/api.log" 2>&1 &
  api_pid=$!
  pids+=($!)
  wait_for_port "$api" "enqueuer serve"

  # The shipped file with only its ports, paths and upstream changed; each edit must hit exactly
  # one line, so a changed config fails here instead of testing something else.
  conf="$work/reports.conf"
  cp deploy/nginx/reports.conf "$conf"
  edit() { # sed expression, expected number of matching lines
    local before; before=$(grep -cE "$1" "$conf" || true)
    [ "$before" -eq "$2" ] || { fail "deploy/nginx/reports.conf: expected $2 line(s) matching '$1', found $before"; return; }
    sed -i -E "s#$1#$3#" "$conf"
  }
  edit '^    listen 80;$' 1 "    listen 127.0.0.1:$http;"
  edit '^    listen 443 ssl;$' 1 "    listen 127.0.0.1:$https ssl;"
  edit '^    listen \[::\]:(80|443 ssl);$' 2 ''
  edit '^    server 127\.0\.0\.1:8080;$' 1 "    server 127.0.0.1:$api;"
  edit '/etc/ssl/onenote-reports/fullchain\.pem' 1 "$work/fullchain.pem"
  edit '/etc/ssl/onenote-reports/privkey\.pem' 1 "$work/server.key"
  edit '/var/log/nginx/onenote-reports\.access\.log' 2 "$work/access.log"
  mkdir -p "$work/nginx"
  cat >"$work/nginx.conf" <<CONF
$( [ "$(id -u)" = 0 ] && echo "user root root;" )
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 64; }
http {
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  include $conf;
}
CONF
  if ! "$nginx_bin" -t -p "$work/nginx" -c "$work/nginx.conf" >"$work/nginx-t.log" 2>&1; then
    fail "nginx -t accepts the shipped config" "$(cat "$work/nginx-t.log")"
  else
    pass "nginx -t accepts the shipped config"
    "$nginx_bin" -p "$work/nginx" -c "$work/nginx.conf" -g 'daemon off;' >"$work/nginx.out" 2>&1 &
    pids+=($!)
    wait_for_port "$https" nginx
    health=$(curl -s "http://127.0.0.1:$api/healthz")
    [ -n "$health" ] || fail "the API answers /healthz directly"
    tls="curl -sS --cacert $work/ca.pem --resolve localhost:$https:127.0.0.1"
    expect "TLS 1.2 handshake reaches /healthz" 0 "^HTTP/1.1 200" -- $tls -i --tlsv1.2 --tls-max 1.2 "https://localhost:$https/healthz"
    expect "TLS 1.3 handshake reaches /healthz" 0 "^HTTP/1.1 200" -- $tls -i --tlsv1.3 "https://localhost:$https/healthz"
    expect "the body through nginx is the API's" 0 "^$(sed 's/[][\.*^$]/\\&/g' <<<"$health")$" -- $tls --tlsv1.2 "https://localhost:$https/healthz"
    expect "HSTS is sent" 0 "^[Ss]trict-[Tt]ransport-[Ss]ecurity: max-age=63072000" -- $tls -i "https://localhost:$https/healthz"
    # Refusals: the same client options do complete TLS 1.0 / 1.1 handshakes with a server that allows them.
    for version in 1 1_1; do
      control=$(free_port); serve_tls "$control" "-tls$version" -cipher 'DEFAULT:@SECLEVEL=0'
      expect "control: openssl s_client -tls$version completes against a TLS $version server" 0 'Protocol +: TLSv1' -- \
        openssl s_client -connect "127.0.0.1:$control" "-tls$version" -cipher 'DEFAULT:@SECLEVEL=0' </dev/null
      expect "nginx refuses a TLS ${version/_/.} handshake" 1 'alert protocol version|no protocols available|wrong version number|unsupported protocol' -- \
        openssl s_client -connect "127.0.0.1:$https" "-tls$version" -cipher 'DEFAULT:@SECLEVEL=0' </dev/null
    done
    expect "plain HTTP only redirects to HTTPS (no API data)" 0 '^HTTP/1.1 301' -- curl -sS -i "http://127.0.0.1:$http/healthz"
    body=$(curl -s "http://127.0.0.1:$http/v1/reports")
    if grep -q '"error"\|"status"' <<<"$body"; then fail "plain HTTP gets no API response" "$body"; else pass "plain HTTP gets no API response"; fi
    body=$(curl -s "http://127.0.0.1:$https/healthz")
    if [ "$body" = "$health" ]; then fail "plain HTTP on the TLS port gets no API data"; else pass "plain HTTP on the TLS port gets no API data"; fi
    expect "control: the API itself serves /metrics on loopback" 0 '^# (TYPE|HELP)' -- curl -sS "http://127.0.0.1:$api/metrics"
    expect "/metrics is not reachable through nginx" 0 '^HTTP/1.1 404' -- $tls -i "https://localhost:$https/metrics"
    expect "/metrics/ and other paths are not proxied either" 0 '^HTTP/1.1 404' -- $tls -i "https://localhost:$https/metrics/../metrics?x=1"
    expect "API routes are proxied (a FIT-less call is the API's 401)" 0 '"code":"' -- $tls "https://localhost:$https/v1/reports"
    head -c 100000 /dev/zero | tr '\0' 'a' >"$work/big"
    expect "bodies over 64 KB are refused at nginx" 0 '^HTTP/1.1 413' -- $tls -i -X POST --data-binary "@$work/big" "https://localhost:$https/v1/reports"
    # A client that never finishes its headers is cut off (client_header_timeout 10 s) instead of
    # holding a connection for ever (the API behind has its own request deadline as well).
    slow=$(python3 - "$https" "$work/ca.pem" <<'PY'
import socket, ssl, sys, time
context = ssl.create_default_context(cafile=sys.argv[2])
raw = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
conn = context.wrap_socket(raw, server_hostname="localhost")
conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
started = time.time()
conn.settimeout(30)
try:
    data = conn.recv(1)
except (ssl.SSLError, ConnectionError, socket.timeout) as error:
    data = repr(error).encode()
print(f"{time.time() - started:.1f} {data!r}")
PY
)
    if awk '{ exit !($1 >= 9 && $1 <= 15) }' <<<"$slow"; then pass "a client that never finishes its headers is cut off at 10 s ($slow)"
    else fail "a client that never finishes its headers is cut off at 10 s" "$slow"; fi
    $tls -o /dev/null "https://localhost:$https/oauth/microsoft/callback?code=CANARY-CODE-42&state=CANARY-STATE-42" || true
    if grep -q "CANARY" "$work/access.log"; then fail "the access log leaves out query strings" "$(grep CANARY "$work/access.log")"
    elif grep -q "/oauth/microsoft/callback" "$work/access.log"; then pass "the access log leaves out query strings"
    else fail "the access log records requests" "$(cat "$work/access.log")"; fi
    # With the API down nginx logs every failed proxy attempt, request line and query included: the
    # callback's location must not. A /v1 request shows the error log does get such lines.
    kill "$api_pid"; wait "$api_pid" 2>/dev/null || true
    $tls -o /dev/null "https://localhost:$https/v1/reports?probe=ERRORLOG-VISIBLE" || true
    $tls -o /dev/null "https://localhost:$https/oauth/microsoft/callback?code=CANARY-CODE-43&state=CANARY-STATE-43" || true
    $tls -o /dev/null "https://localhost:$https/oauth/microsoft/start?t=CANARY-START-44" || true
    if ! grep -q "ERRORLOG-VISIBLE" "$work/nginx-error.log"; then
      fail "nginx's error log records a failed proxy attempt (else the next check proves nothing)" "$(tail -5 "$work/nginx-error.log")"
    elif grep -q "CANARY" "$work/nginx-error.log" "$work/access.log"; then
      fail "no nginx log holds the callback's query string" "$(grep -h "CANARY" "$work/nginx-error.log" "$work/access.log")"
    else
      pass "no nginx log holds the connect flow's query strings (the API down: errors logged for /v1, none with a code, state or start token)"
    fi
  fi
fi

if [ "$failures" -ne 0 ]; then echo "TLS checks: $failures failed"; exit 1; fi
echo "TLS checks: all passed"
