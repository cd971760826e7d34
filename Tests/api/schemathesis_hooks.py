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
        # The admin routes answer only the admin page's calls by a Jira administrator: those get the
        # sandbox's administrator on the admin module, the rest user 1 on the app's page.
        def mint(body):
            request = urllib.request.Request(f"{SANDBOX}/sandbox/fit", data=body, method="POST")
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read())
        return {"user": mint(b'{"accountId":"sandbox-user-1"}'),
                "admin": mint(b'{"accountId":"sandbox-admin","module":"admin"}')}

    def set(self, case, tokens, context):
        data = tokens["admin" if case.path.startswith("/v1/admin/") else "user"]
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data['fit']}"
        case.headers.setdefault("x-forge-oauth-system", data["systemToken"])
        case.headers.setdefault("x-forge-oauth-user", data["userToken"])
