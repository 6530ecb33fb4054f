"""Package: build the Bento of the newly promoted model.

The promote step already saved the model to the BentoML store and pointed the serving state at it
(running services switch to it live), inside the same all-or-nothing change as the registries: a
failed Bento build leaves the registries consistent, with the previous Bento on disk."""

from __future__ import annotations

import logging
from typing import Annotated

from zenml import log_metadata, step

from churn.model_card import ModelCard
from churn.settings import REPO_ROOT

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


@step(enable_cache=False)
def package(model_card: ModelCard, promoted: bool, bento_model: str) -> Annotated[str, "bento_tag"]:
    """Only a promoted model is packaged: the promote step saved it to the BentoML store (its
    latest `telco_churn` is production) and pointed the serving state at it, in one change."""
    if not promoted:
        logger.info("not promoted: the BentoML store and the Bento are left as they are")
        return ""
    bento_tag = build_bento() or ""
    log_metadata(
        metadata={"bento_tag": bento_tag},
        model_name=model_card.model_name,
        model_version=model_card.model_version,
    )
    return bento_tag
