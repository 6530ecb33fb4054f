"""OpenID Connect sign-in for the Flask UI, by Authlib's Flask client: the authorization code flow
with PKCE (S256), discovery, the provider's keys and the ID token's checks (issuer, audience,
expiry, nonce) all Authlib's. The role comes from `CHURN_OIDC_ROLES_CLAIM` mapped by
`CHURN_OIDC_ROLE_MAP` (churn.oidc_tokens.ui_role); a person with no mapped role is refused with a
page that says why. The session is then the same server-side session as a password sign-in.

Behind the TLS edge the redirect URI is built from the forwarded host and scheme (ProxyFix with
`CHURN_PROXY_HOPS`), so it is the public `https://<host>/oidc/callback` the provider knows.
"""

from __future__ import annotations

import logging
from typing import Any, cast

from authlib.integrations.flask_client import OAuth, OAuthError
from flask import Blueprint, Flask, current_app, redirect, render_template, request, session
from flask import url_for as flask_url_for

from churn.oidc_tokens import ui_role
from frontends.flask_app.auth import (
    AUDIT_SUBJECT,
    _safe_next,
    client_address,
    start_session,
    user_store,
)

log = logging.getLogger(__name__)

bp = Blueprint("oidc", __name__, url_prefix="/oidc")
PROVIDER = "company"
NEXT_KEY = "churn_oidc_next"


def _client() -> Any:
    return cast(OAuth, current_app.extensions["churn_oauth"]).create_client(PROVIDER)


@bp.get("/start")
def start() -> Any:
    """Off to the provider; it comes back to `callback` with a code for this browser only."""
    session[NEXT_KEY] = _safe_next(request.args.get("next"))
    redirect_uri = flask_url_for("oidc.callback", _external=True)
    return _client().authorize_redirect(redirect_uri)


def _refused(reason: str, status: int = 403) -> Any:
    return render_template("refused.html", reason=reason), status


@bp.get("/callback")
def callback() -> Any:
    if "error" in request.args:
        error = request.args.get("error_description") or request.args.get("error", "")
        return _refused(f"The identity provider did not sign you in: {error[:200]}", 401)
    try:
        token = _client().authorize_access_token()
    except OAuthError as exc:
        log.warning("OIDC callback refused: %s", exc.error)
        return _refused(f"The sign-in could not be completed ({exc.error}); start again.", 401)
    claims: dict[str, Any] = dict(token.get("userinfo") or {})
    config = current_app.config
    claim = str(config["OIDC_ROLES_CLAIM"])
    role_map: dict[str, str] = dict(config["OIDC_ROLE_MAP"])
    if claim not in claims:  # some providers put groups only in the userinfo endpoint's answer
        try:
            claims.update(_client().userinfo(token=token))
        except (OAuthError, ValueError):
            log.warning("OIDC userinfo unavailable")
    subject = f"oidc:{str(claims.get('sub', ''))[:150]}"
    name = str(claims.get("preferred_username") or claims.get("email") or claims.get("sub"))
    role = ui_role(claims, claim, role_map)
    address = client_address()
    if role is None:
        user_store().audit(AUDIT_SUBJECT, "sign_in_failed", subject, address, "no mapped role")
        values = ", ".join(sorted(role_map)) or "(none configured)"
        return _refused(
            f"You are signed in at your company's identity provider as {name[:80]}, but none of "
            f"your '{claim}' values is given a role in this application (it accepts: {values}). "
            "Ask an administrator to add you to one of those groups."
        )
    user = user_store().start_external(AUDIT_SUBJECT, subject, name[:128], role, address)
    next_url = session.pop(NEXT_KEY, None)
    start_session(user)
    log.info("signed in (oidc): %s as %s from %s", subject, role, address)
    return redirect(_safe_next(next_url))


def init_app(app: Flask) -> None:
    """Registers the provider when `OIDC_ON` (from `CHURN_SIGN_IN`; config.py)."""
    config = app.config
    if not config["OIDC_ON"]:
        return
    if not config["OIDC_ISSUER"] or not config["OIDC_CLIENT_ID"]:
        from frontends.flask_app.config import ConfigError

        raise ConfigError(
            "CHURN_SIGN_IN=oidc or both needs CHURN_OIDC_ISSUER and CHURN_OIDC_CLIENT_ID"
        )
    oauth = OAuth(app)
    oauth.register(
        PROVIDER,
        client_id=config["OIDC_CLIENT_ID"],
        client_secret=config["OIDC_CLIENT_SECRET"],
        server_metadata_url=f"{config['OIDC_ISSUER'].rstrip('/')}/.well-known/openid-configuration",
        client_kwargs={"scope": config["OIDC_SCOPES"], "code_challenge_method": "S256"},
    )
    app.extensions["churn_oauth"] = oauth
    app.register_blueprint(bp)
