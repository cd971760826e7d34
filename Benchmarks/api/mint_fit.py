#!/usr/bin/env python3
"""Mints a Forge Invocation Token with the test key of Tests/Fixtures (for the API benchmark only).

usage: mint_fit.py FIXTURES_JSON INSTALLATION ACCOUNT  -> prints the token (valid for 25 s from now)
"""
import json
import sys
import time
import uuid

import jwt

fixtures = json.load(open(sys.argv[1]))
now = int(time.time())
claims = {
    "app": {
        "id": fixtures["appId"], "installationId": sys.argv[2], "apiBaseUrl": sys.argv[4] if len(sys.argv) > 4 else "https://api.atlassian.com/ex/jira/cloud-1",
        "environment": {"type": "DEVELOPMENT", "id": "ari:cloud:ecosystem::environment/x/y"},
        "module": {"type": "core:endpoint", "key": "reports"},
    },
    "context": {"cloudId": "cloud-1"}, "principal": sys.argv[3], "aud": fixtures["appId"], "iss": "forge/invocation-token",
    "iat": now, "nbf": now, "exp": now + 25, "jti": uuid.uuid4().hex,
}
print(jwt.encode(claims, fixtures["privateKeyPEM"], algorithm="RS256", headers={"kid": fixtures["jwks"]["keys"][0]["kid"]}))
