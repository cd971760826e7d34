#!/usr/bin/env python3
"""Independent fixtures for the security core, made with Python's `cryptography` and PyJWT.

Run once (`pip install pyjwt cryptography; python3 make_fixtures.py`); the JSON files it writes are
committed and read by the Swift tests. Nothing here shares code with the Swift implementation: if the
two disagree on a format, the tests fail.

Writes:
  forge-fits.json   an RSA JWKS and Forge Invocation Tokens, each with the result the verifier must give
  vault.json        token-vault ciphertexts in the documented format (docs/security.md "Token vault")
  oauth-state.json  OAuth state values in the documented format (docs/security.md "OAuth state")
"""
import base64
import hashlib
import hmac
import json
import os
import time

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

HERE = os.path.dirname(os.path.abspath(__file__))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(obj) -> str:
    return b64url(json.dumps(obj, separators=(",", ":")).encode())


def jwk_of(public_key, kid):
    numbers = public_key.public_numbers()
    n = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
    e = numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")
    return {"kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid, "n": b64url(n), "e": b64url(e)}


# ---------------------------------------------------------------- Forge Invocation Tokens
APP_ID = "ari:cloud:ecosystem::app/8db33809-1f32-48bb-8c52-5877dab48107"
OTHER_APP = "ari:cloud:ecosystem::app/00000000-0000-4000-8000-000000000000"
INSTALLATION = "ari:cloud:ecosystem::installation/0a3a7799-53ae-4a5b-9e7e-03338980abb5"
CLOUD_ID = "d0d52620-3203-4cfa-8db5-f2587155f0dd"
ACCOUNT = "655362:312d3308-8954-42b0-aa38-771a10c88656"
KID = "forge/invocation-token/wf-f641e7a7-d1b6-472a-806b-5e4b03912149"
T = 1_800_000_000  # iat of the fixtures; the tests verify at T + 5

key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
other_pem = other_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
public_pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def claims(**overrides):
    body = {
        "app": {
            "id": APP_ID,
            "version": "16",
            "appVersion": "16.0.1",
            "installationId": INSTALLATION,
            "apiBaseUrl": f"https://api.atlassian.com/ex/jira/{CLOUD_ID}",
            "environment": {"type": "PRODUCTION", "id": f"ari:cloud:ecosystem::environment/8db33809/aa911f10"},
            "module": {"type": "core:endpoint", "key": "reports-endpoint"},
            "installation": {"id": INSTALLATION, "contexts": []},
        },
        "context": {"cloudId": CLOUD_ID, "moduleKey": "reports-endpoint", "siteUrl": "https://example.atlassian.net"},
        "principal": ACCOUNT,
        "aud": APP_ID,
        "iss": "forge/invocation-token",
        "iat": T,
        "nbf": T,
        "exp": T + 25,
        "jti": "d8a496253ec8c18a54631e4c82cbedd5d0ae8570",
    }
    for path, value in overrides.items():
        target = body
        parts = path.split(".")
        for part in parts[:-1]:
            target = target[part]
        if value is DELETE:
            del target[parts[-1]]
        else:
            target[parts[-1]] = value
    return body


DELETE = object()


def rs256(body, signing_key=private_pem, kid=KID, alg="RS256"):
    return jwt.encode(body, signing_key, algorithm=alg, headers={"kid": kid})


valid = rs256(claims())
header_b64, payload_b64, signature_b64 = valid.split(".")
tampered_payload = b64url_json(claims(principal="557058:attacker"))
hs256_input = f"{b64url_json({'alg': 'HS256', 'typ': 'JWT', 'kid': KID})}.{payload_b64}"
hs256_confused = f"{hs256_input}.{b64url(hmac.new(public_pem, hs256_input.encode(), hashlib.sha256).digest())}"

fits = [
    ("valid", valid, "ok"),
    ("audience as an array", rs256(claims(aud=[OTHER_APP, APP_ID])), "ok"),
    ("scheduled trigger without principal", rs256(claims(principal=DELETE, **{"app.module": {"type": "core:trigger", "key": "report-trigger"}})), "ok"),
    ("expired beyond the leeway", rs256(claims(iat=T - 40, nbf=T - 40, exp=T - 6)), "expired"),
    ("expired within the leeway", rs256(claims(iat=T - 30, nbf=T - 30, exp=T - 4)), "ok"),
    ("nbf in the future", rs256(claims(nbf=T + 20, exp=T + 45)), "notYetValid"),
    ("iat in the future", rs256(claims(iat=T + 30, exp=T + 55)), "notYetValid"),
    ("wrong audience", rs256(claims(aud=OTHER_APP)), "wrongAudience"),
    ("wrong issuer", rs256(claims(iss="forge/other-token")), "wrongIssuer"),
    ("app.id differs from aud", rs256(claims(**{"app.id": OTHER_APP})), "wrongAudience"),
    ("unknown kid", rs256(claims(), kid="forge/invocation-token/wf-unknown"), "unknownKey"),
    ("alg none", f"{b64url_json({'alg': 'none', 'kid': KID})}.{payload_b64}.", "unsupportedAlgorithm"),
    ("HS256 keyed with the public key (algorithm confusion)", hs256_confused, "unsupportedAlgorithm"),
    ("RS512", rs256(claims(), alg="RS512"), "unsupportedAlgorithm"),
    ("payload tampered after signing", f"{header_b64}.{tampered_payload}.{signature_b64}", "badSignature"),
    ("signed by another key", rs256(claims(), signing_key=other_pem), "badSignature"),
    ("truncated to two parts", f"{header_b64}.{payload_b64}", "malformed"),
    ("truncated signature", valid[:-10], "badSignature"),
    ("20 KB of padding", rs256(claims(padding="x" * 20_000)), "malformed"),
    ("non-JSON header", f"{b64url(b'this is not json')}.{payload_b64}.{signature_b64}", "malformed"),
    ("four parts", f"{valid}.extra", "malformed"),
    ("not base64url", f"{header_b64}.{payload_b64}.sig+with/slashes=", "malformed"),
    ("missing kid", jwt.encode(claims(), private_pem, algorithm="RS256"), "malformed"),
    ("empty", "", "malformed"),
]

# Key rotation: a second key that the JWKS server starts to publish later, and a token signed with it.
ROTATED_KID = "forge/invocation-token/wf-0b7c2d4e-rotated"
rotated_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
rotated_pem = rotated_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())

with open(os.path.join(HERE, "forge-fits.json"), "w") as f:
    json.dump({
        "appId": APP_ID,
        "installationId": INSTALLATION,
        "cloudId": CLOUD_ID,
        "accountId": ACCOUNT,
        "apiBaseUrl": f"https://api.atlassian.com/ex/jira/{CLOUD_ID}",
        "verifyAt": T + 5,
        "jwks": {"keys": [jwk_of(key.public_key(), KID)]},
        "privateKeyPEM": private_pem.decode(),
        "rotatedJWK": jwk_of(rotated_key.public_key(), ROTATED_KID),
        "rotatedToken": rs256(claims(), signing_key=rotated_pem, kid=ROTATED_KID),
        "cases": [{"name": n, "token": t, "expect": e} for n, t, e in fits],
    }, f, indent=1)

# ---------------------------------------------------------------- token vault
# Format (docs/security.md "Token vault"): 0x01 | len(keyId) | keyId | 12-byte nonce | ciphertext | 16-byte tag.
# Associated data: the header bytes (0x01 | len | keyId) followed by the UTF-8 context.
vault_keys = {"k2026a": os.urandom(32), "k2026b": os.urandom(32)}


def seal(key_id, plaintext, context):
    header = bytes([1, len(key_id)]) + key_id.encode()
    nonce = os.urandom(12)
    sealed = AESGCM(vault_keys[key_id]).encrypt(nonce, plaintext.encode(), header + context.encode())
    return header + nonce + sealed


context = f"ms-refresh|{INSTALLATION}|{ACCOUNT}"
good = seal("k2026a", "0.AXEA-refresh-token-canary-7f3a", context)
flipped = bytearray(good)
flipped[-20] ^= 0x01
unknown = seal("k2026a", "secret", context).replace(b"k2026a", b"k2026z", 1)
vault_cases = [
    {"name": "sealed under the first key", "ciphertext": b64url(good), "context": context,
     "expect": "ok", "plaintext": "0.AXEA-refresh-token-canary-7f3a"},
    {"name": "sealed under the second key", "ciphertext": b64url(seal("k2026b", "system-token-\u00e9\u6f22", "atl-system|" + INSTALLATION)),
     "context": "atl-system|" + INSTALLATION, "expect": "ok", "plaintext": "system-token-\u00e9\u6f22"},
    {"name": "empty plaintext", "ciphertext": b64url(seal("k2026a", "", context)), "context": context, "expect": "ok", "plaintext": ""},
    {"name": "a flipped bit", "ciphertext": b64url(bytes(flipped)), "context": context, "expect": "fail"},
    {"name": "other associated data", "ciphertext": b64url(good), "context": f"ms-refresh|{INSTALLATION}|557058:someone-else", "expect": "fail"},
    {"name": "unknown key id", "ciphertext": b64url(unknown), "context": context, "expect": "fail"},
    {"name": "unknown version", "ciphertext": b64url(b"\x02" + good[1:]), "context": context, "expect": "fail"},
    {"name": "too short", "ciphertext": b64url(good[:20]), "context": context, "expect": "fail"},
]
with open(os.path.join(HERE, "vault.json"), "w") as f:
    json.dump({
        "keys": ",".join(f"{k}:{base64.b64encode(v).decode()}" for k, v in vault_keys.items()),
        "cases": vault_cases,
    }, f, indent=1)

# ---------------------------------------------------------------- OAuth state
# Format (docs/security.md "OAuth state"): base64url(payload) "." base64url(HMAC-SHA256(stateKey, payload)),
# payload = JSON {"accountId","exp","installationId","nonce"}; exp in seconds since the epoch.
state_key = os.urandom(32)


def state(payload: dict, key=state_key) -> str:
    raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    return f"{b64url(raw)}.{b64url(hmac.new(key, raw, hashlib.sha256).digest())}"


fields = {"accountId": ACCOUNT, "exp": T + 600, "installationId": INSTALLATION, "nonce": b64url(os.urandom(16))}
valid_state = state(fields)
raw_payload, mac = valid_state.split(".")
forged_payload = b64url(json.dumps(dict(fields, accountId="557058:attacker"), separators=(",", ":"), sort_keys=True).encode())
state_cases = [
    {"name": "valid", "state": valid_state, "expect": "ok", "fields": fields},
    {"name": "expired", "state": state(dict(fields, exp=T - 1)), "expect": "expired"},
    {"name": "payload tampered", "state": f"{forged_payload}.{mac}", "expect": "invalid"},
    {"name": "MAC of another key", "state": state(fields, key=os.urandom(32)), "expect": "invalid"},
    {"name": "MAC truncated", "state": f"{raw_payload}.{mac[:-4]}", "expect": "invalid"},
    {"name": "no separator", "state": raw_payload, "expect": "invalid"},
]
with open(os.path.join(HERE, "oauth-state.json"), "w") as f:
    json.dump({"stateKey": base64.b64encode(state_key).decode(), "verifyAt": T, "cases": state_cases}, f, indent=1)

# ---------------------------------------------------------------- NIST AES-GCM known answer (checked here too)
# McGrew & Viega, "The Galois/Counter Mode of Operation", test case 16 (256-bit key, AAD, 96-bit IV).
K = bytes.fromhex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308")
P = bytes.fromhex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39")
A = bytes.fromhex("feedfacedeadbeeffeedfacedeadbeefabaddad2")
IV = bytes.fromhex("cafebabefacedbaddecaf888")
out = AESGCM(K).encrypt(IV, P, A)
assert out.hex() == ("522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
                     "76fc6ece0f4e1768cddf8853bb2d551b"), out.hex()
print("fixtures written; NIST GCM test case 16 agrees with cryptography", time.strftime("%Y-%m-%d"))
