#!/usr/bin/env bash
# Outbound transport benchmark: the service's libcurl transport against the URLSession transport it
# replaced, on loopback against nginx serving static answers (a 2 KB and a 1 MB JSON document), in
# the same run. Prints a Markdown table for BENCHMARKS.md. Needs nginx (Debian's `nginx`).
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${1:-.build/release}
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
work=$(mktemp -d "${TMPDIR:-/tmp}/reports-transport-XXXXXX")
trap '[ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$work/www" "$work/tmp"
python3 -c 'import json, sys; print(json.dumps({"issues": [{"key": f"OPS-{i}", "summary": "x" * 12} for i in range(60)]}))' >"$work/www/small.json"
python3 -c 'import json; print(json.dumps({"issues": [{"key": f"OPS-{i}", "summary": "y" * 180} for i in range(5000)]}))' >"$work/www/page.json"
cat >"$work/nginx.conf" <<CONF
$( [ "$(id -u)" = 0 ] && echo "user root root;" )
worker_processes 1;
pid $work/nginx.pid;
error_log $work/error.log warn;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path $work/tmp; proxy_temp_path $work/tmp; fastcgi_temp_path $work/tmp;
  uwsgi_temp_path $work/tmp; scgi_temp_path $work/tmp;
  keepalive_requests 100000;
  server { listen 127.0.0.1:$port; root $work/www; default_type application/json; }
}
CONF
"$nginx_bin" -p "$work" -c "$work/nginx.conf"
for _ in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/small.json" && break; sleep 0.05; done
echo "transport-bench: $(nproc) cores, $(date -u +%Y-%m-%d), answers of $(wc -c <"$work/www/small.json") and $(wc -c <"$work/www/page.json") bytes"
"$bin/transport-bench" --base "http://127.0.0.1:$port"
