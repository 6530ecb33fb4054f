"""Provider access tokens for the API (churn/oidc_tokens.py): keys from a JWKS served over HTTP on
loopback, signature, issuer, audience, expiry and scopes checked, each refusal named."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from churn.oidc_tokens import AccessTokenVerifier, TokenRejected, service_scope, ui_role

AUDIENCE = "https://churn.example/api"
SCOPE_MAP = {"churn.predict": "predict", "churn.admin": "admin"}


class Issuer:
    """A tiny issuer: discovery and a JWKS whose keys the test can rotate."""

    def __init__(self) -> None:
        self.keys = [RSAKey.generate_key(2048, parameters={"kid": "k1"})]
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration":
                    body: Any = {"issuer": issuer.url, "jwks_uri": f"{issuer.url}/jwks"}
                else:
                    body = {"keys": [k.as_dict(private=False) for k in issuer.keys]}
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def token(self, key: RSAKey | None = None, **claims: Any) -> str:
        key = key or self.keys[0]
        now = int(time.time())
        body = {"iss": self.url, "aud": AUDIENCE, "sub": "machine-1", "iat": now,
                "exp": now + 300, "scope": "churn.predict"}  # fmt: skip
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}  # None: leave the claim out
        return jwt.encode({"alg": "RS256", "kid": key.kid}, body, key)


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    found = Issuer()
    thread = threading.Thread(target=found.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        found.server.shutdown()
        found.server.server_close()


def _verifier(issuer: Issuer) -> AccessTokenVerifier:
    return AccessTokenVerifier(issuer.url, AUDIENCE, SCOPE_MAP, refresh_min_s=0)


def test_a_good_token_grants_its_mapped_scope(issuer: Issuer) -> None:
    verifier = _verifier(issuer)
    grant = verifier.verify(issuer.token())
    assert (grant.scope, grant.subject) == ("predict", "oidc:machine-1")
    assert verifier.verify(issuer.token(scope="openid churn.admin")).scope == "admin"
    assert verifier.verify(issuer.token(scope=None, scp=["churn.predict"])).scope == "predict"


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"aud": "https://another.example"}, "wrong audience"),
        ({"iss": "https://evil.example"}, "wrong issuer"),
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"exp": None}, "missing claim: exp"),
        ({"scope": "openid email"}, "no scope of this service"),
    ],
)
def test_each_bad_token_is_refused_naming_why(
    issuer: Issuer, claims: dict[str, Any], reason: str
) -> None:
    token = issuer.token(**claims)
    with pytest.raises(TokenRejected) as refused:
        _verifier(issuer).verify(token)
    assert refused.value.reason.startswith(reason)


def test_another_key_is_refused_and_a_rotated_key_is_fetched_once(issuer: Issuer) -> None:
    verifier = _verifier(issuer)
    verifier.verify(issuer.token())
    assert verifier.fetches == 1
    stranger = RSAKey.generate_key(2048, parameters={"kid": "k1"})  # same kid, other key
    with pytest.raises(TokenRejected, match="bad signature"):
        verifier.verify(issuer.token(key=stranger))
    unknown = RSAKey.generate_key(2048, parameters={"kid": "nobody"})
    with pytest.raises(TokenRejected, match="a key the provider does not publish"):
        verifier.verify(issuer.token(key=unknown))
    assert verifier.fetches == 2  # the unknown kid made it look again
    rotated = RSAKey.generate_key(2048, parameters={"kid": "k2"})
    issuer.keys.append(rotated)
    try:
        assert verifier.verify(issuer.token(key=rotated)).scope == "predict"
        assert verifier.fetches == 3
        verifier.verify(issuer.token(key=rotated))
        assert verifier.fetches == 3  # cached
    finally:
        issuer.keys.remove(rotated)
    for junk in ["a.b.c", "not-a-jwt", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."]:
        with pytest.raises(TokenRejected):
            verifier.verify(junk)


def test_claims_map_to_the_highest_role_and_scope() -> None:
    role_map = {"churn-admins": "admin", "churn-analysts": "analyst", "staff": "viewer"}
    assert ui_role({"groups": ["staff", "churn-analysts"]}, "groups", role_map) == "analyst"
    assert ui_role({"roles": "churn-admins staff"}, "roles", role_map) == "admin"
    assert ui_role({"groups": ["sales"]}, "groups", role_map) is None
    assert ui_role({}, "groups", role_map) is None
    assert service_scope({"scope": "churn.predict churn.admin"}, SCOPE_MAP) == "admin"
    assert service_scope({"scp": "other"}, SCOPE_MAP) is None
