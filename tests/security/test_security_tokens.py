"""Service tokens: the pure rules (churn/auth.py), the store (churn/db/tokens.py) and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from churn import auth
from churn.cli import main
from churn.db import audit, tokens


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'project.db'}"
    monkeypatch.setenv("CHURN_PREDICTION_DB", url)
    from churn.settings import get_settings

    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_tokens_are_random_prefixed_and_long() -> None:
    made = {auth.new_token() for _ in range(200)}
    assert len(made) == 200
    for token in made:
        assert token.startswith(auth.TOKEN_PREFIX)
        assert len(token) - len(auth.TOKEN_PREFIX) >= 43  # 32 bytes in url-safe base64


def test_hash_is_sha256_hex_and_not_the_token() -> None:
    token = auth.new_token()
    digest = auth.hash_token(token)
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert token not in digest and digest == auth.hash_token(token)
    assert digest != auth.hash_token(token + "x")


@pytest.mark.parametrize(
    ("granted", "needed", "ok"),
    [
        ("predict", "predict", True),
        ("admin", "predict", True),
        ("admin", "admin", True),
        ("predict", "admin", False),
        ("root", "predict", False),
        ("predict", "root", False),
    ],
)
def test_admin_implies_predict_and_nothing_else(granted: str, needed: str, ok: bool) -> None:
    assert auth.allows(granted, needed) is ok


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc", "abc"),
        ("bearer abc", "abc"),
        ("  Bearer   abc  ", "abc"),
        ("Basic abc", None),
        ("Bearer", None),
        ("Bearer ", None),
        ("Bearer a b", None),
        ("abc", None),
        ("Bearer " + "a" * 129, None),
    ],
)
def test_bearer_header_parsing(header: str, token: str | None) -> None:
    assert auth.bearer_token(header) == token


def test_scope_of_looks_up_by_digest() -> None:
    token = auth.new_token()
    hashes = {auth.hash_token(token): "predict"}
    assert auth.scope_of(f"Bearer {token}", hashes) == "predict"
    assert auth.scope_of(f"Bearer {token}x", hashes) is None
    assert auth.scope_of(f"Bearer {auth.hash_token(token)}", hashes) is None  # the digest is no key


@pytest.mark.parametrize("name", ["", " x", "a b", "x" * 65, "../etc", "naïve", "-lead"])
def test_bad_names_are_refused(name: str) -> None:
    with pytest.raises(auth.TokenError):
        auth.check_name(name)


def test_store_keeps_only_digests_and_audits(db: str) -> None:
    token = tokens.create("ci", "admin", actor="alice", url=db)
    engine = sa.create_engine(db)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("select * from api_tokens")).mappings().all()
    assert len(rows) == 1 and token not in json.dumps([dict(r) for r in rows], default=str)
    assert rows[0]["token_hash"] == auth.hash_token(token)
    assert tokens.active_hashes(engine) == {auth.hash_token(token): "admin"}

    with pytest.raises(tokens.TokenExists):
        tokens.create("ci", "predict", url=db)
    tokens.revoke("ci", actor="bob", url=db)
    assert tokens.active_hashes(engine) == {}
    with pytest.raises(tokens.TokenNotFound):
        tokens.revoke("ci", url=db)
    assert [t.revoked_at is not None for t in tokens.list_tokens(True, url=db)] == [True]
    assert tokens.list_tokens(url=db) == []
    tokens.create("ci", "predict", url=db)  # the name is free again after a revoke
    events = audit.recent(url=db)
    assert [(e.action, e.actor, e.to_version) for e in events][-2:] == [
        ("token_revoke", "bob", "ci"),
        ("token_create", "alice", "ci"),
    ]
    engine.dispose()


def test_a_token_is_not_kept_when_its_audit_row_fails(db: str) -> None:
    tokens.list_tokens(url=db)  # migrate
    engine = sa.create_engine(db)
    with engine.begin() as conn:
        conn.execute(sa.text("drop table audit_log"))
    with pytest.raises(sa.exc.OperationalError):
        tokens.create("lost", "admin", url=db)
    assert tokens.active_hashes(engine) == {}
    engine.dispose()


def test_cli_create_list_revoke(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["auth", "token", "create", "frontends", "--scope", "predict"]) == 0
    out = capsys.readouterr()
    token = out.out.strip()
    assert token.startswith(auth.TOKEN_PREFIX) and "shown only this once" in out.err
    assert main(["auth", "token", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(t["name"], t["scope"]) for t in listed] == [("frontends", "predict")]
    assert token not in json.dumps(listed)
    assert main(["auth", "token", "create", "frontends"]) == 1
    assert main(["auth", "token", "create", "bad name"]) == 2
    assert "must be 1-64 characters" in capsys.readouterr().err
    assert main(["auth", "token", "revoke", "frontends"]) == 0
    assert main(["auth", "token", "revoke", "frontends"]) == 1
    assert main(["auth", "token", "list"]) == 0
    assert "no API token yet" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["auth", "token", "create", "x", "--scope", "root"])
