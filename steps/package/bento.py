"""Package: save the newly promoted model to the BentoML store, point the serving state at it
(running services switch to it live) and build the Bento."""

from __future__ import annotations

import logging
from typing import Annotated

from sklearn.pipeline import Pipeline
from zenml import log_metadata, step

from churn.model_card import ModelCard
from churn.settings import REPO_ROOT
from steps.promote.registry import (
    delete_from_model_store,
    save_to_model_store,
    set_production_state,
)

logger = logging.getLogger(__name__)
BENTOFILE = REPO_ROOT / "bentofile.yaml"


def build_bento() -> str | None:
    """Build the Bento from the root bentofile.yaml; None (logged) when there is none yet."""
    if not BENTOFILE.exists():
        logger.warning("bentofile.yaml not found at %s: skipping the Bento build", BENTOFILE)
        return None
    import bentoml

    bento = bentoml.bentos.build_bentofile(str(BENTOFILE), build_ctx=str(REPO_ROOT))
    logger.info("built Bento %s", bento.tag)
    return str(bento.tag)


def publish(model_tag: str, card: ModelCard) -> None:
    """Point the serving state at the new model (running services switch to it); when that
    fails, the saved model is removed again so the store's latest stays the served one."""
    from churn.db import serving_state

    try:
        with serving_state.transaction(None) as conn:
            set_production_state(conn, card.model_name, model_tag, card.model_version)
    except BaseException:
        delete_from_model_store(model_tag)
        raise


@step(enable_cache=False)
def package(
    model: Pipeline, model_card: ModelCard, promoted: bool
) -> tuple[Annotated[str, "bento_model_tag"], Annotated[str, "bento_tag"]]:
    """Only a promoted model is packaged; the store's latest `telco_churn` is production."""
    if not promoted:
        logger.info("not promoted: the BentoML store and the Bento are left as they are")
        return "", ""
    model_tag = save_to_model_store(model, model_card)
    logger.info("saved %s to the BentoML model store", model_tag)
    publish(model_tag, model_card)
    bento_tag = build_bento() or ""
    log_metadata(
        metadata={"bento_model_tag": model_tag, "bento_tag": bento_tag},
        model_name=model_card.model_name,
        model_version=model_card.model_version,
    )
    return model_tag, bento_tag
