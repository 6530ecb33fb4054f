"""Seeded synthetic Telco customers, fitted to the real data, with drift knobs.

The process runs in the order a telco signs a customer up: demographics, contract, tenure given
the contract, internet and phone given the contract, add-ons given internet type and tenure, a bill
that is a fitted linear function of the services, and churn from a logistic model fitted on the
real data.
Parameters live in `generator_params.json` (written by `scripts/fit_generator.py`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from churn.features import ChurnEncoder
from churn.schema import (
    FEATURES_BY_NAME,
    ID_COLUMN,
    INTERNET_ADDONS,
    NO_INTERNET,
    NO_PHONE,
    RAW_COLUMNS,
    TARGET,
)

PARAMS_PATH = Path(__file__).with_name("generator_params.json")
MAX_TENURE = 72
ADDON_TENURE_BANDS = (12, 48)
_LETTERS = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))


@dataclass(frozen=True)
class Drift:
    """A change in the customer base, applied on top of the fitted parameters."""

    name: str = "none"
    description: str = "the training distribution"
    charges_factor: float = 1.0
    contract: dict[str, float] = field(default_factory=dict)
    internet: dict[str, float] = field(default_factory=dict)


DRIFTS: dict[str, Drift] = {
    d.name: d
    for d in (
        Drift(),
        Drift("price_rise", "every bill 20% higher", charges_factor=1.20),
        Drift(
            "contract_shift",
            "80% of customers on month-to-month contracts",
            contract={"Month-to-month": 0.80, "One year": 0.10, "Two year": 0.10},
        ),
        Drift(
            "fiber_surge",
            "70% of customers on fiber optic",
            internet={"DSL": 0.20, "Fiber optic": 0.70, "No": 0.10},
        ),
    )
}


@lru_cache(maxsize=1)
def load_params() -> dict[str, Any]:
    params: dict[str, Any] = json.loads(PARAMS_PATH.read_text())
    return params


def charge_design(df: pd.DataFrame) -> np.ndarray:
    """The services a bill is made of: phone, extra lines, DSL, fiber, and each add-on."""
    cols = [
        df["PhoneService"] == "Yes",
        df["MultipleLines"] == "Yes",
        df["InternetService"] == "DSL",
        df["InternetService"] == "Fiber optic",
        *(df[a] == "Yes" for a in INTERNET_ADDONS),
    ]
    return np.column_stack([c.to_numpy(dtype=np.float64) for c in cols])


def _choice(rng: np.random.Generator, cats: tuple[str, ...], p: list[float], n: int) -> np.ndarray:
    probs = np.asarray(p, dtype=np.float64)
    return np.asarray(cats, dtype=object)[rng.choice(len(cats), size=n, p=probs / probs.sum())]


def _by_group(
    rng: np.random.Generator,
    groups: np.ndarray,
    table: dict[str, list[float]],
    cats: tuple[str, ...],
) -> np.ndarray:
    out = np.empty(len(groups), dtype=object)
    for key, probs in table.items():
        mask = groups == key
        out[mask] = _choice(rng, cats, probs, int(mask.sum()))
    return out


def _yes(rng: np.random.Generator, p: np.ndarray | float, n: int) -> np.ndarray:
    return np.where(rng.random(n) < p, "Yes", "No").astype(object)


def _ids(rng: np.random.Generator, n: int) -> np.ndarray:
    digits = rng.integers(0, 10_000, size=n)
    letters = _LETTERS[rng.integers(0, 26, size=(n, 5))]
    ids = np.array([f"{d:04d}-{''.join(x)}" for d, x in zip(digits, letters, strict=True)])
    seen: set[str] = set()
    for i, value in enumerate(ids):  # vanishingly rare collisions, resolved deterministically
        while value in seen:
            value = f"{rng.integers(0, 10_000):04d}-{''.join(_LETTERS[rng.integers(0, 26, 5)])}"
        ids[i] = value
        seen.add(value)
    return ids


def generate(rows: int, seed: int = 0, drift: str | Drift = "none") -> pd.DataFrame:
    """`rows` customers in the 21-column Telco schema.

    Typed: Churn is 0/1 and TotalCharges is 0 at tenure 0 (`to_csv_text` writes the raw layout).
    """
    if rows < 1:
        raise ValueError(f"rows must be at least 1, got {rows}")
    spec = drift if isinstance(drift, Drift) else get_drift(drift)
    p = load_params()
    rng = np.random.default_rng(seed)
    cats = {name: f.categories for name, f in FEATURES_BY_NAME.items()}
    n = rows

    df = pd.DataFrame({ID_COLUMN: _ids(rng, n)})
    df["gender"] = np.where(rng.random(n) < p["p_male"], "Male", "Female").astype(object)
    df["SeniorCitizen"] = (rng.random(n) < p["p_senior"]).astype(np.int64)
    df["Partner"] = _yes(rng, p["p_partner"], n)
    dep_p = np.where(
        df["Partner"] == "Yes", *(p["p_dependents_given_partner"][k] for k in ("Yes", "No"))
    )
    df["Dependents"] = _yes(rng, dep_p, n)

    contract_p = [
        spec.contract.get(c, q) for c, q in zip(cats["Contract"], p["contract"], strict=True)
    ]
    contract = _choice(rng, cats["Contract"], contract_p, n)
    tenure = np.zeros(n, dtype=np.int64)
    for c, hist in p["tenure_hist"].items():
        mask = contract == c
        tenure[mask] = rng.choice(
            MAX_TENURE + 1, size=int(mask.sum()), p=np.asarray(hist) / sum(hist)
        )
    df["tenure"] = tenure

    internet_table = p["internet_given_contract"]
    if spec.internet:
        internet_table = {
            c: [spec.internet[i] for i in cats["InternetService"]] for c in internet_table
        }
    internet = _by_group(rng, contract, internet_table, cats["InternetService"])
    phone_p = np.array([p["phone_given_internet"][i] for i in internet])
    phone = _yes(rng, np.where(internet == "No", 1.0, phone_p), n)
    df["PhoneService"] = phone
    multi = _yes(rng, np.array([p["multiple_given_internet"][i] for i in internet]), n)
    df["MultipleLines"] = np.where(phone == "No", NO_PHONE, multi).astype(object)
    df["InternetService"] = internet

    band = np.digitize(tenure, ADDON_TENURE_BANDS)
    for addon in INTERNET_ADDONS:
        probs = np.zeros(n)
        for kind, table in p["addons"].items():
            mask = internet == kind
            probs[mask] = np.asarray(table[addon])[band[mask]]
        df[addon] = np.where(internet == "No", NO_INTERNET, _yes(rng, probs, n)).astype(object)

    df["Contract"] = contract
    df["PaperlessBilling"] = _yes(
        rng, np.array([p["paperless_given_internet"][i] for i in internet]), n
    )
    df["PaymentMethod"] = _by_group(
        rng, contract, p["payment_given_contract"], cats["PaymentMethod"]
    )

    ch = p["charges"]
    monthly = ch["intercept"] + charge_design(df) @ np.asarray(ch["coef"])
    monthly = np.clip(monthly + rng.normal(0.0, ch["resid_std"], n), ch["min"], ch["max"])
    monthly = np.round(monthly * spec.charges_factor, 2)
    df["MonthlyCharges"] = monthly
    ratio = np.clip(rng.normal(1.0, p["total_ratio_std"], n), 0.7, 1.3)
    ratio[tenure == 1] = 1.0
    df["TotalCharges"] = np.round(tenure * monthly * ratio, 2)

    df[TARGET] = (rng.random(n) < churn_probability(df)).astype(np.int64)
    return df[list(RAW_COLUMNS)]


def churn_probability(df: pd.DataFrame) -> np.ndarray:
    """The generator's true churn probability for each customer (the fitted logistic model)."""
    c = load_params()["churn"]
    enc = ChurnEncoder()
    enc.mean_ = np.asarray(c["encoder_mean"])
    enc.scale_ = np.asarray(c["encoder_scale"])
    logit = enc.transform(df) @ np.asarray(c["coef"]) + c["intercept"]
    return np.asarray(1.0 / (1.0 + np.exp(-logit)))


def get_drift(name: str) -> Drift:
    try:
        return DRIFTS[name]
    except KeyError:
        raise ValueError(f"unknown drift {name!r}; choose one of {sorted(DRIFTS)}") from None


def to_csv_text(df: pd.DataFrame) -> str:
    """The exact bytes `churn generate` writes: raw layout, blank TotalCharges at tenure 0."""
    out = df.copy()
    out[TARGET] = np.where(out[TARGET] == 1, "Yes", "No")
    total = out["TotalCharges"].map(lambda v: f"{v:.2f}".rstrip("0").rstrip("."))
    out["TotalCharges"] = total.where(out["tenure"] > 0, " ")
    out["MonthlyCharges"] = out["MonthlyCharges"].map(lambda v: f"{v:.2f}".rstrip("0").rstrip("."))
    text: str = out.to_csv(index=False, lineterminator="\n")
    return text
