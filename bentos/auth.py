"""Who may call which route of the service: bearer tokens with scopes (churn/auth.py).

Called by `bentos.middleware.ContractGuard` before a request reaches BentoML. Closed by default:
only `/readyz` and `/livez` are open (and `/metrics` while `CHURN_METRICS_AUTH=off`); each
declared route needs the scope its declaration names (bentos/routes.py); any other path (the
docs, the UI, unknown paths) needs a `predict` token, so nothing is learnt without one.

Per request the cost is one SHA-256 and one dict lookup: the live token digests are kept in
memory and reloaded from the project database (`api_tokens`, churn/db/tokens.py) by a daemon
thread every `CHURN_AUTH_REFRESH_S` seconds, so a revoked token stops working within that bound
and no request ever waits on the database. If a reload fails the last known set stays (logged),
so a database hiccup does not lock every client out.

`CHURN_AUTH=off` turns the check off for local work only; each worker logs a WARNING at start.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping

from churn.auth import allows, bearer_token, scope_of
from churn.db.engine import make_engine
from churn.settings import Settings, get_settings

logger = logging.getLogger("churn.auth")

OPEN_PATHS = frozenset({"/readyz", "/livez"})
ADMIN_PREFIX = "/admin"
REALM = 'Bearer realm="churn"'
INVALID = f'{REALM}, error="invalid_token"'


def provider_scope(authorization: str) -> str:
    """The scope of the company provider's access token (a JWT: `churn.oidc_tokens`, set by
    CHURN_OIDC_ISSUER and CHURN_OIDC_AUDIENCE), or `Denied` naming why it is refused."""
    from churn.oidc_tokens import TokenRejected, verify_bearer

    try:
        return verify_bearer(authorization).scope
    except TokenRejected as exc:
        if exc.reason != "unknown token":
            raise Denied(401, f"token refused: {exc.reason}", INVALID) from exc
        if bearer_token(authorization) is None and not authorization.startswith("Bearer ey"):
            raise Denied(
                401,
                "malformed Authorization header: expected 'Bearer <token>'",
                f'{REALM}, error="invalid_request"',
            ) from exc
        raise Denied(401, "invalid or revoked token", INVALID) from exc


def canonical(path: str) -> str:
    """`path` without empty or `.` segments and without a trailing slash: `//predict/` and
    `/./predict` are checked as `/predict`, whatever the router behind makes of them."""
    return "/" + "/".join(p for p in path.split("/") if p not in ("", "."))


def needed_scope(
    path: str, metrics_auth: bool, scopes: Mapping[str, str] | None = None
) -> str | None:
    """The scope a path needs, or None when it is open (health; `/metrics` unless
    `metrics_auth`). `scopes`: the declared routes' (path -> scope); any other path: `predict`."""
    scopes = scopes or {}
    needed = scopes.get(path)
    if needed is not None:  # the common case skips the canonical form
        return needed
    path = canonical(path)
    if path in OPEN_PATHS:
        return None
    if path in scopes:
        return scopes[path]
    if path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/"):
        return "admin"
    if path == "/metrics" or path.startswith("/metrics/"):
        return "predict" if metrics_auth else None
    return "predict"


class Denied(Exception):
    """A request refused: `status` (401/403), the message and the WWW-Authenticate value."""

    def __init__(self, status: int, message: str, challenge: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.challenge = challenge


class TokenAuth:
    """The in-memory token set of one worker and the per-request decision."""

    def __init__(
        self,
        database_url: str,
        refresh_s: float = 5.0,
        metrics_auth: bool = False,
        scopes: Mapping[str, str] | None = None,
    ) -> None:
        self.database_url = database_url
        self.refresh_s = refresh_s
        self.metrics_auth = metrics_auth
        self.scopes = dict(scopes or {})
        self.hashes: dict[str, str] = {}
        self.loaded_at = 0.0
        self.reload_errors = 0
        self._engine = make_engine(database_url, "token_poll")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def from_settings(
        cls, settings: Settings | None = None, scopes: Mapping[str, str] | None = None
    ) -> TokenAuth | None:
        """The checker the settings ask for; None (and a WARNING) when `CHURN_AUTH=off`."""
        settings = settings or get_settings()
        if settings.auth == "off":
            logger.warning(
                "CHURN_AUTH=off: the service accepts requests WITHOUT a token; local use only"
            )
            return None
        auth = cls(
            settings.prediction_db, settings.auth_refresh_s, settings.metrics_auth == "on", scopes
        )
        auth.start()
        return auth

    def start(self) -> None:
        """Load the tokens once, then keep them fresh in a daemon thread. The schema is checked
        first (`churn.db.migrate.ready`): behind `HEAD` on a server, `SchemaNotCurrentError` says
        to run `churn db migrate`; the service never migrates a shared database itself."""
        from churn.db.migrate import ready

        ready(self._engine)
        self.reload()
        self._thread = threading.Thread(target=self._loop, name="churn-token-refresh", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def reload(self) -> None:
        from churn.db.tokens import active_hashes

        try:
            hashes = active_hashes(self._engine)
        except Exception:  # keep serving with the last known set; the next round retries
            self.reload_errors += 1
            logger.exception("could not reload API tokens; keeping the last %d", len(self.hashes))
            return
        self.hashes = hashes  # one reference swap: readers see the old or the new dict
        self.loaded_at = time.monotonic()

    def _loop(self) -> None:
        while not self._stop.wait(self.refresh_s):
            self.reload()

    def check(self, path: str, authorization: str) -> None:
        """Return when the request may go on; raise `Denied` (401 or 403) when it may not."""
        needed = needed_scope(path, self.metrics_auth, self.scopes)
        if needed is None:
            return
        if not authorization:
            raise Denied(401, "missing bearer token: send 'Authorization: Bearer <token>'", REALM)
        granted = scope_of(authorization, self.hashes) if bearer_token(authorization) else None
        if granted is None:
            granted = provider_scope(authorization)
        if not allows(granted, needed):
            raise Denied(
                403,
                f"this token's scope '{granted}' does not allow {path[:64]}; it needs '{needed}'",
                f'{REALM}, error="insufficient_scope", scope="{needed}"',
            )
