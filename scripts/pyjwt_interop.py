#!/usr/bin/env python3
"""PyJWT side of the JWT interop test (crates/jwt-server/tests/pyjwt_interop.rs).

PyJWT is an independent JOSE implementation: tokens the Rust server signs must verify here, and
tokens signed here must verify in the server, so that neither side's bugs cancel out.

Reads one JSON object from stdin, {"cases": [case, ...]}, and prints {"results": [...]}, one
result per case:

  {"op": "verify", "alg", "token", "issuer", "audience", and "jwks" (asymmetric) or "secret"}
      -> {"ok": true, "claims", "header", "thumbprint_matches_kid"} or {"ok": false, "error"}
  {"op": "sign", "alg", "kid", "claims", and "private_pem" or "secret"}
      -> {"token"}

Exits 3, saying what to install, when PyJWT or cryptography is missing.
"""

import base64
import hashlib
import json
import sys

try:
    import cryptography  # noqa: F401  (PyJWT needs it for RS256/ES256/EdDSA)
    import jwt
except ImportError as missing:
    print(
        f"missing Python package ({missing.name}): pip install 'pyjwt[crypto]'"
        " (scripts/test.sh does this)",
        file=sys.stderr,
    )
    sys.exit(3)

REQUIRED_CLAIMS = ["exp", "iat", "nbf", "iss", "aud", "sub", "jti"]
# RFC 7638 §3.2 and RFC 8037 §2: the members a thumbprint hashes, per key type.
THUMBPRINT_MEMBERS = {"RSA": ["e", "kty", "n"], "EC": ["crv", "kty", "x", "y"], "OKP": ["crv", "kty", "x"]}


def thumbprint(jwk):
    members = {name: jwk[name] for name in THUMBPRINT_MEMBERS[jwk["kty"]]}
    canonical = json.dumps(members, sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()


def verify(case):
    header = jwt.get_unverified_header(case["token"])
    thumbprint_matches = None
    if "jwks" in case:
        # The kid selects a key from the server's published set, as a real client does.
        by_kid = {jwk["kid"]: jwk for jwk in case["jwks"]["keys"]}
        jwk = by_kid[header["kid"]]
        thumbprint_matches = thumbprint(jwk) == jwk["kid"]
        key = jwt.PyJWK.from_dict(jwk).key
    else:
        key = case["secret"].encode()
    claims = jwt.decode(
        case["token"],
        key=key,
        algorithms=[case["alg"]],
        issuer=case["issuer"],
        audience=case["audience"],
        options={"require": REQUIRED_CLAIMS},
        leeway=0,
    )
    if header.get("typ") != "at+jwt":
        raise ValueError(f"typ is {header.get('typ')!r}, not at+jwt")
    return {"ok": True, "claims": claims, "header": header, "thumbprint_matches_kid": thumbprint_matches}


def sign(case):
    key = case["private_pem"] if "private_pem" in case else case["secret"].encode()
    token = jwt.encode(case["claims"], key, algorithm=case["alg"], headers={"kid": case["kid"], "typ": "at+jwt"})
    return {"token": token}


def run(case):
    if case["op"] == "sign":
        return sign(case)
    try:
        return verify(case)
    except Exception as error:  # noqa: BLE001  (any refusal is a result, reported by type)
        return {"ok": False, "error": f"{type(error).__name__}: {error}"}


def main():
    request = json.load(sys.stdin)
    json.dump({"results": [run(case) for case in request["cases"]]}, sys.stdout)


if __name__ == "__main__":
    main()
