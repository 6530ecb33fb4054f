"""The OpenID provider's side of sign-in, framework-free: access tokens (JWT) for the API and the
mapping of a person's claims to a UI role.

Machines call the service with a provider access token (client-credentials flow) beside the
project's own `churn_...` tokens. `AccessTokenVerifier.verify` checks it with joserfc's public JWT
API: the signature against the issuer's JWKS (fetched through discovery, cached, fetched again
when a token names an unknown key id, at most every `refresh_min_s`), then issuer, audience and
expiry; the token's scopes (`scope` or Entra's `scp`) map to the service's predict/admin by
`CHURN_OIDC_SCOPE_MAP`. A refusal is a `TokenRejected` whose `reason` the 401 names.

The service guard makes one call: `verify_bearer(authorization_header)` -> `Grant` (or raises
`TokenRejected`), after its own project-token lookup failed and only for a JWT-shaped token
(`looks_like_jwt`).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet
from joserfc.jws import extract_compact

ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA")
"""Asymmetric only: a provider's token is never checked with a shared secret."""
MAX_JWT_CHARS = 8192
SCOPES = ("predict", "admin")
ROLES = ("viewer", "analyst", "admin")
LEEWAY_S = 30


class TokenRejected(ValueError):
    """A provider token the service refuses; `reason` is the 401's explanation."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Grant:
    scope: str
    """`predict` or `admin`: what the token may do at the service."""
    subject: str
    """`oidc:<sub or client_id>`: the audit trail's actor."""


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and len(token) <= MAX_JWT_CHARS


def bearer_jwt(authorization: str) -> str | None:
    parts = authorization.split()
    if len(parts) != 2 or parts[0].lower() != "bearer" or not looks_like_jwt(parts[1]):
        return None
    return parts[1]


def fetch_json(url: str, timeout_s: float = 5.0) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=timeout_s) as answer:
        data: dict[str, Any] = json.loads(answer.read(1_000_000))
        return data


class AccessTokenVerifier:
    """Checks access tokens of one issuer for one audience (see the module docstring)."""

    def __init__(
        self,
        issuer: str,
        audience: str,
        scope_map: Mapping[str, str],
        refresh_min_s: float = 30.0,
        fetch: Callable[[str], dict[str, Any]] = fetch_json,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.audience = audience
        self.scope_map = dict(scope_map)
        self.refresh_min_s = refresh_min_s
        self._fetch = fetch
        self._lock = threading.Lock()
        self._keys: KeySet | None = None
        self._fetched_at = float("-inf")
        self.fetches = 0
        """How many times the JWKS was fetched (tests read it)."""

    def _jwks_uri(self) -> str:
        meta = self._fetch(f"{self.issuer}/.well-known/openid-configuration")
        return str(meta["jwks_uri"])

    def _refresh(self, force: bool) -> KeySet:
        with self._lock:
            stale = time.monotonic() - self._fetched_at >= self.refresh_min_s
            if self._keys is None or (force and stale):
                try:
                    jwks: Any = self._fetch(self._jwks_uri())
                    self._keys = KeySet.import_key_set(jwks)
                except (OSError, ValueError, KeyError, JoseError) as exc:
                    if self._keys is None:
                        raise TokenRejected(f"the provider's keys are unavailable ({exc})") from exc
                self._fetched_at = time.monotonic()
                self.fetches += 1
            assert self._keys is not None
            return self._keys

    def _key_ids(self, keys: KeySet) -> set[str]:
        return {str(k.kid) for k in keys.keys if k.kid}

    def verify(self, token: str) -> Grant:
        if not looks_like_jwt(token):
            raise TokenRejected("not a JWT")
        try:
            header = extract_compact(token.encode()).headers()
        except (JoseError, ValueError) as exc:
            raise TokenRejected("malformed token") from exc
        if header.get("alg") not in ALGORITHMS:
            raise TokenRejected(f"algorithm {str(header.get('alg'))[:16]!r} is not accepted")
        kid = header.get("kid")
        keys = self._refresh(force=False)
        if kid and kid not in self._key_ids(keys):
            keys = self._refresh(force=True)  # the provider may have rotated its keys
            if kid not in self._key_ids(keys):
                raise TokenRejected("signed by a key the provider does not publish")
        try:
            decoded = jwt.decode(token, keys, algorithms=list(ALGORITHMS))
        except BadSignatureError as exc:
            raise TokenRejected("bad signature (not signed by the provider's key)") from exc
        except (JoseError, ValueError) as exc:
            raise TokenRejected(f"undecodable token ({type(exc).__name__})") from exc
        claims = decoded.claims
        registry = jwt.JWTClaimsRegistry(
            leeway=LEEWAY_S,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.audience},
            exp={"essential": True},
        )
        try:
            registry.validate(claims)
        except ExpiredTokenError as exc:
            raise TokenRejected("expired") from exc
        except MissingClaimError as exc:
            raise TokenRejected(f"missing claim: {exc.claim}") from exc
        except InvalidClaimError as exc:
            names = {"iss": "issuer", "aud": "audience"}
            raise TokenRejected(f"wrong {names.get(exc.claim, exc.claim)}") from exc
        except JoseError as exc:
            raise TokenRejected(f"invalid claims ({exc})") from exc
        scope = service_scope(claims, self.scope_map)
        if scope is None:
            raise TokenRejected(f"no scope of this service (one of {sorted(self.scope_map)})")
        who = claims.get("sub") or claims.get("client_id") or claims.get("azp") or "unknown"
        return Grant(scope, f"oidc:{str(who)[:120]}")


def _values(claim: Any) -> list[str]:
    if isinstance(claim, str):
        return claim.replace(",", " ").split()
    if isinstance(claim, Iterable):
        return [str(v) for v in claim]
    return []


def service_scope(claims: Mapping[str, Any], scope_map: Mapping[str, str]) -> str | None:
    """The highest service scope the token's `scope`/`scp` grants, or None."""
    granted = _values(claims.get("scope")) + _values(claims.get("scp"))
    mapped = [scope_map[g] for g in granted if scope_map.get(g) in SCOPES]
    return max(mapped, key=SCOPES.index) if mapped else None


def ui_role(claims: Mapping[str, Any], claim: str, role_map: Mapping[str, str]) -> str | None:
    """The highest UI role the person's `claim` values map to, or None (refused)."""
    mapped = [role_map[v] for v in _values(claims.get(claim)) if role_map.get(v) in ROLES]
    return max(mapped, key=ROLES.index) if mapped else None


_verifier: AccessTokenVerifier | None = None
_verifier_lock = threading.Lock()


def service_verifier() -> AccessTokenVerifier | None:
    """The process's verifier from the settings (`CHURN_OIDC_ISSUER`, `CHURN_OIDC_AUDIENCE`),
    or None when no provider is configured for the API."""
    global _verifier
    from churn.settings import get_settings

    settings = get_settings()
    if not settings.oidc_issuer or not settings.oidc_audience:
        return None
    with _verifier_lock:
        if _verifier is None:
            _verifier = AccessTokenVerifier(
                settings.oidc_issuer, settings.oidc_audience, settings.oidc_scope_map
            )
        return _verifier


def verify_bearer(authorization: str) -> Grant:
    """The one call of the service guard for a non-project bearer token (module docstring)."""
    verifier = service_verifier()
    if verifier is None:
        raise TokenRejected("unknown token")
    token = bearer_jwt(authorization)
    if token is None:
        raise TokenRejected("unknown token")
    return verifier.verify(token)
