"""Retention on schedule: each monitoring run purges what is older than `CHURN_RETENTION_DAYS`.

A thin step around `churn.control.privacy.purge` (batched, audited with actor "monitoring"). The
pipeline adds it only when the setting is set, after the realized metrics and the rollback have
read the log, so a run never compares data it has just deleted.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from zenml import log_metadata, step

from churn.control.privacy import PurgeResult, purge, retention_note
from churn.db.engine import make_engine
from churn.db.migrate import ready
from churn.monitoring.config import parse_config
from churn.settings import get_settings

logger = logging.getLogger(__name__)
MONITORING_ACTOR = "monitoring"


@step(enable_cache=False)
def purge_expired(config: dict[str, Any], older_than_days: int) -> Annotated[PurgeResult, "purged"]:
    cfg = parse_config(config)
    note = retention_note(older_than_days, cfg.realized_window_days, cfg.outcome_lookback_days)
    if note:
        logger.warning("%s", note)
    # the job's role may not migrate a server: it checks the schema is current (churn db migrate)
    engine = make_engine(cfg.prediction_db or get_settings().prediction_db)
    try:
        ready(engine)
        deleted = purge(engine, older_than_days, MONITORING_ACTOR, source="pipeline")
    finally:
        engine.dispose()
    result = PurgeResult(older_than_days=older_than_days, deleted=deleted, note=note)
    log_metadata(metadata={"purged": result.as_json()})
    return result
