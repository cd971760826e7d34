"""What the Python benchmark drivers share (chaos, fairness): JSON over HTTP to the API and the
sandbox, and a free loopback port."""
import json, socket, urllib.error, urllib.request


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
