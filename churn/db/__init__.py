"""The project's database (`CHURN_PREDICTION_DB`): its tables change only by Alembic migrations.

`upgrade(engine)` brings any database to the newest revision: an empty one gets every table, and a
prediction log written before migrations existed is adopted as the baseline with all its rows.
"""

from churn.db.migrate import HEAD, current_revision, upgrade

__all__ = ["HEAD", "current_revision", "upgrade"]
