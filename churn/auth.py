"""Service API tokens and scopes: generation, hashing, and the scope rule (framework-free).

A token is 32 random bytes from `secrets` (256 bits), shown once and stored only as its SHA-256
hex digest. A fast hash is the right one here: slow password hashes (bcrypt, scrypt) exist to make
guessing a *low-entropy* secret expensive, and a 256-bit random token cannot be guessed at any hash
speed. A fast hash also lets the service keep the digests in memory and check a request with one
`sha256` and one dict lookup, with no database query per request.

Scopes are ordered: `predict` < `admin`; an admin token may do everything a predict token may.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from typing import Literal, cast

Scope = Literal["predict", "admin"]
SCOPES: tuple[Scope, ...] = ("predict", "admin")
"""Lowest first: a token's scope covers every scope at or below it."""
TOKEN_PREFIX = "churn_"
"""Makes a leaked token recognisable by secret scanners; not part of its entropy."""
TOKEN_BYTES = 32
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_TOKEN_CHARS = 128
"""Longer Authorization values are refused without hashing them."""


class TokenError(ValueError):
    """A bad token name or scope (the message says which and why)."""


def new_token() -> str:
    """A fresh 256-bit random token, URL-safe, with the project prefix."""
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    """SHA-256 hex digest of the token (see the module docstring for why not a slow hash)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


DURATION = re.compile(r"^(\d{1,5})([mhd])$")
UNIT_S = {"m": 60, "h": 3600, "d": 86400}
MAX_LIFETIME = dt.timedelta(days=3650)


def parse_lifetime(text: str) -> dt.timedelta:
    """`30d`, `12h` or `90m` (what `churn auth token create --expires-in` takes)."""
    match = DURATION.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise TokenError(
            f"--expires-in must be a whole number of minutes, hours or days like 90m, 12h or "
            f"30d, not {text[:32]!r}"
        )
    lifetime = dt.timedelta(seconds=int(match.group(1)) * UNIT_S[match.group(2)])
    if lifetime > MAX_LIFETIME:
        raise TokenError(f"--expires-in is at most {MAX_LIFETIME.days}d, not {text[:32]!r}")
    return lifetime


def check_scope(scope: str) -> Scope:
    if scope not in SCOPES:
        raise TokenError(f"scope must be one of {', '.join(SCOPES)}, not {scope[:32]!r}")
    return cast(Scope, scope)


def check_name(name: str) -> str:
    if not NAME_PATTERN.match(name):
        raise TokenError(
            f"token name {name[:70]!r} must be 1-64 characters: letters, digits, '_', '.', '-', "
            "starting with a letter or digit"
        )
    return name


def allows(granted: str, needed: str) -> bool:
    """True when a token with scope `granted` may use a route that needs `needed`."""
    if granted not in SCOPES or needed not in SCOPES:
        return False
    return SCOPES.index(granted) >= SCOPES.index(needed)


def bearer_token(authorization: str) -> str | None:
    """The token of an `Authorization: Bearer <token>` value, or None when it is not one."""
    parts = authorization.split()
    if len(parts) != 2 or parts[0].lower() != "bearer" or len(parts[1]) > MAX_TOKEN_CHARS:
        return None
    return parts[1]


def scope_of(authorization: str, hashes: dict[str, str]) -> str | None:
    """The scope the request's Authorization header grants, or None (missing or unknown token).

    `hashes` maps digest -> scope. The lookup is by digest, so the comparison is not on the
    secret itself (a timing difference reveals a digest prefix, which is of no use to forge one).
    """
    token = bearer_token(authorization)
    if token is None:
        return None
    return hashes.get(hash_token(token))
