"""`churn db migrate|check`: the schema, changed by one one-shot command and checked by the rest.

`migrate` is the deployment's migration job (compose's `migrate` service, the Kubernetes Job); it
runs as the migration role, the only one that may change the schema (migration 0013). `check`
exits non-zero with one line unless the database is at this code's revision: what a part that may
not migrate does at start (`churn.db.migrate.ready`).
"""

from __future__ import annotations

import argparse

from churn.cli import EXIT_OK, add_db_argument, command_group, fail


def register(subparsers: argparse._SubParsersAction) -> None:
    actions = command_group(subparsers, "db", "the project database's schema: migrate, check")
    migrate = actions.add_parser("migrate", help="bring the database to this code's revision")
    add_db_argument(migrate)
    migrate.set_defaults(func=cmd_migrate)
    check = actions.add_parser("check", help="exit 0 only when the schema is at this revision")
    add_db_argument(check)
    check.set_defaults(func=cmd_check)


def _error(exc: Exception) -> str:
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]


def cmd_migrate(args: argparse.Namespace) -> int:
    import sqlalchemy as sa

    from churn.db.engine import make_engine, shown_url
    from churn.db.migrate import HEAD, DatabaseLocationError, current_revision, upgrade
    from churn.settings import get_settings

    where = shown_url(args.db or get_settings().prediction_db)
    try:
        engine = make_engine(args.db)
        try:
            before = current_revision(engine)
            upgrade(engine)
        finally:
            engine.dispose()
    except (sa.exc.SQLAlchemyError, DatabaseLocationError) as exc:
        return fail(f"cannot migrate {where}: {_error(exc)}")
    print(f"schema at {HEAD} (was {before or 'empty'})")
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    import sqlalchemy as sa

    from churn.db.engine import make_engine
    from churn.db.migrate import HEAD, SchemaNotCurrentError, current_revision

    try:
        engine = make_engine(args.db)
        try:
            found = current_revision(engine)
        finally:
            engine.dispose()
    except sa.exc.SQLAlchemyError as exc:
        return fail(f"cannot read the schema revision: {_error(exc)}")
    if found != HEAD:
        return fail(str(SchemaNotCurrentError(
            f"the schema is at revision {found or 'none (empty)'}, this code needs {HEAD}: "
            "run `churn db migrate` with the migration role first")))  # fmt: skip
    print(f"schema at {HEAD}")
    return EXIT_OK
