"""The project's database (`CHURN_PREDICTION_DB`), the half of the control plane that is SQL.

One engine factory (`churn.db.engine.make_engine`, a named pool policy per use), every table
declared once (`churn.db.tables`), created and changed only by the Alembic migrations
(`churn/db/migrations`), and one store module per table: `serving_state`, `audit`, `tokens`,
`outcomes`, `users` (the service's `bentos/prediction_log.py` writes `prediction_log`).

`upgrade(engine)` brings any database to the newest revision: an empty one gets every table, and a
prediction log written before migrations existed is adopted as the baseline with all its rows.
"""

from churn.db.migrate import HEAD, current_revision, ready, upgrade

__all__ = ["HEAD", "current_revision", "ready", "upgrade"]
