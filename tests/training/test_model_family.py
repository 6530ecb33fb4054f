"""The model-family recipe (docs/ARCHITECTURE.md, "Add a model family") followed in a test: one
`Family` entry, and the run config, the search and the fitted pipeline take it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sklearn.naive_bayes import GaussianNB

from churn.generator import generate
from churn.schema import FEATURE_NAMES, TARGET
from churn.training import candidates
from churn.training.candidates import FAMILIES, Family, build_pipeline, grids_for, param_grid
from churn.training.config import validate_params
from churn.training.search import tune

TOY = Family("naive_bayes", lambda seed: GaussianNB(), {"var_smoothing": [1e-9, 1e-6]})


@pytest.fixture
def toy_family() -> Iterator[Family]:
    """The recipe's one step: the entry in `candidates.FAMILIES` (removed after the test)."""
    candidates.FAMILIES[TOY.name] = TOY
    try:
        yield TOY
    finally:
        del candidates.FAMILIES[TOY.name]


def test_a_new_family_is_one_entry(toy_family: Family) -> None:
    params = validate_params({"grids": {"naive_bayes": {"var_smoothing": [1e-9, 1e-6]}}})
    assert set(params.grids) == {"naive_bayes"}
    assert "naive_bayes" in grids_for({})  # its default grid when the config names none
    assert param_grid("naive_bayes", {"var_smoothing": [1e-9]}) == {"model__var_smoothing": [1e-9]}
    frame = generate(600, seed=5)
    y = frame[TARGET].map({"Yes": 1, "No": 0}) if frame[TARGET].dtype == object else frame[TARGET]
    result = tune("naive_bayes", {"var_smoothing": [1e-9, 1e-6]}, frame, cv_folds=2, seed=1)
    assert result.name == "naive_bayes" and 0.5 < result.cv_roc_auc <= 1.0
    assert set(result.best_params) == {"var_smoothing"}
    pipeline = build_pipeline("naive_bayes").fit(frame[list(FEATURE_NAMES)], y)
    assert pipeline.predict_proba(frame[list(FEATURE_NAMES)].head(3)).shape == (3, 2)


def test_an_undeclared_family_is_refused_by_name() -> None:
    assert "ridge" not in FAMILIES
    with pytest.raises(ValueError, match="unknown candidates"):
        validate_params({"grids": {"ridge": {"alpha": [1.0]}}})
    with pytest.raises(ValueError, match="unknown candidate 'ridge'"):
        build_pipeline("ridge")
