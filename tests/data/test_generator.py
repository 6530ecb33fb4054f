"""Data tests: the synthetic generator is deterministic, schema-exact and realistic."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline

from churn.data import clean, load_clean
from churn.features import ChurnEncoder
from churn.generator import DRIFTS, generate, to_csv_text
from churn.schema import FEATURE_NAMES, INTERNET_ADDONS, NO_INTERNET, NO_PHONE, RAW_COLUMNS


def test_same_seed_same_bytes_other_seed_other_bytes() -> None:
    a = to_csv_text(generate(500, seed=7))
    b = to_csv_text(generate(500, seed=7))
    c = to_csv_text(generate(500, seed=8))
    assert hashlib.md5(a.encode()).digest() == hashlib.md5(b.encode()).digest()
    assert a != c


def test_output_fits_the_schema(tmp_path: Path, synthetic_frame: pd.DataFrame) -> None:
    path = tmp_path / "g.csv"
    path.write_text(to_csv_text(synthetic_frame))
    assert path.read_text().splitlines()[0].split(",") == list(RAW_COLUMNS)
    df = load_clean(path)
    assert len(df) == 7043 and df["customerID"].is_unique
    # blank TotalCharges written for new customers, like the real file
    assert (df.loc[df["tenure"] == 0, "TotalCharges"] == 0).all()


def test_service_columns_are_consistent(synthetic_frame: pd.DataFrame) -> None:
    df = synthetic_frame
    no_internet = df["InternetService"] == "No"
    for col in INTERNET_ADDONS:
        assert ((df[col] == NO_INTERNET) == no_internet).all()
    assert ((df["MultipleLines"] == NO_PHONE) == (df["PhoneService"] == "No")).all()


def test_total_charges_follow_tenure_times_monthly(synthetic_frame: pd.DataFrame) -> None:
    billed = synthetic_frame[synthetic_frame["tenure"] > 0]
    ratio = billed["TotalCharges"] / (billed["tenure"] * billed["MonthlyCharges"])
    assert ratio.between(0.69, 1.31).all()
    assert abs(ratio.median() - 1.0) < 0.02


def test_churn_rate_near_26_percent(synthetic_frame: pd.DataFrame) -> None:
    assert 0.23 <= synthetic_frame["Churn"].mean() <= 0.30


def _rate(df: pd.DataFrame, mask: pd.Series) -> float:
    return float(df.loc[mask, "Churn"].mean())


def test_known_churn_drivers_raise_churn(synthetic_frame: pd.DataFrame) -> None:
    df = synthetic_frame
    assert _rate(df, df["Contract"] == "Month-to-month") > 2 * _rate(df, df["Contract"] == "Two year")
    assert _rate(df, df["tenure"] < 12) > _rate(df, df["tenure"] >= 48)
    assert _rate(df, df["InternetService"] == "Fiber optic") > _rate(df, df["InternetService"] == "DSL")
    assert _rate(df, df["PaymentMethod"] == "Electronic check") > _rate(df, df["PaymentMethod"] == "Mailed check")
    high = df["MonthlyCharges"] > df["MonthlyCharges"].median()
    assert _rate(df, high) > _rate(df, ~high)


def test_marginals_close_to_real(synthetic_frame: pd.DataFrame, real_frame: pd.DataFrame) -> None:
    for col in ("Contract", "InternetService", "PaymentMethod", "PaperlessBilling"):
        gen = synthetic_frame[col].value_counts(normalize=True)
        real = real_frame[col].value_counts(normalize=True)
        assert (gen - real).abs().max() < 0.04, col
    assert abs(synthetic_frame["MonthlyCharges"].mean() - real_frame["MonthlyCharges"].mean()) < 3
    assert abs(synthetic_frame["tenure"].mean() - real_frame["tenure"].mean()) < 2


def _lr() -> Pipeline:
    return Pipeline([("encode", ChurnEncoder()), ("model", LogisticRegression(max_iter=2000))])


def test_model_trained_on_generated_data_scores_on_real(synthetic_frame: pd.DataFrame, real_frame: pd.DataFrame) -> None:
    cols = list(FEATURE_NAMES)
    gen_to_real = roc_auc_score(real_frame["Churn"], _lr().fit(synthetic_frame[cols], synthetic_frame["Churn"]).predict_proba(real_frame[cols])[:, 1])
    real_to_gen = roc_auc_score(synthetic_frame["Churn"], _lr().fit(real_frame[cols], real_frame["Churn"]).predict_proba(synthetic_frame[cols])[:, 1])
    assert gen_to_real >= 0.80
    assert real_to_gen >= 0.80


@pytest.mark.parametrize(
    ("drift", "column", "check"),
    [
        ("price_rise", "MonthlyCharges", lambda base, d: d["MonthlyCharges"].mean() > 1.15 * base["MonthlyCharges"].mean()),
        ("contract_shift", "Contract", lambda base, d: (d["Contract"] == "Month-to-month").mean() > 0.75),
        ("fiber_surge", "InternetService", lambda base, d: (d["InternetService"] == "Fiber optic").mean() > 0.65),
    ],
)
def test_drift_knobs_move_their_feature(drift: str, column: str, check: object) -> None:
    base = generate(3000, seed=3)
    drifted = generate(3000, seed=3, drift=drift)
    assert check(base, drifted)  # type: ignore[operator]
    assert not clean(drifted.assign(Churn=np.where(drifted["Churn"] == 1, "Yes", "No")).astype(str)).violations


def test_unknown_drift_and_bad_rows_are_errors() -> None:
    with pytest.raises(ValueError, match="unknown drift"):
        generate(10, drift="bogus")
    with pytest.raises(ValueError, match="at least 1"):
        generate(0)
    assert set(DRIFTS) >= {"none", "price_rise", "contract_shift", "fiber_surge"}
