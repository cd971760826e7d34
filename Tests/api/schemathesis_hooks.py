"""Schemathesis hooks for `Tests/api/schemathesis.sh`: every generated request carries a fresh Forge
Invocation Token minted by the sandbox (they last 25 s, so one is fetched per request), plus the
system and user tokens Forge sends, unless the case already generated its own header values."""
import json
import os
import urllib.request

import schemathesis

SANDBOX = os.environ["ST_SANDBOX"]


@schemathesis.auth()
class ForgeInvocationToken:
    def get(self, case, context):
        request = urllib.request.Request(f"{SANDBOX}/sandbox/fit", data=b'{"accountId":"sandbox-user-1"}', method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data['fit']}"
        case.headers.setdefault("x-forge-oauth-system", data["systemToken"])
        case.headers.setdefault("x-forge-oauth-user", data["userToken"])
