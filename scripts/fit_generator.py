"""Fit the synthetic generator's parameters to a real Telco CSV.

Writes churn/generator_params.json.

Usage: python scripts/fit_generator.py "$CHURN_REAL_DATA"   (the public IBM Telco CSV)

Only aggregate statistics leave the real data: category frequencies, per-contract tenure histograms,
a linear model of MonthlyCharges, and a logistic model of churn on the encoded features.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression, LogisticRegression

from churn.data import load_clean
from churn.features import COLUMN_NAMES, ChurnEncoder
from churn.generator import ADDON_TENURE_BANDS, MAX_TENURE, PARAMS_PATH, charge_design
from churn.schema import FEATURE_NAMES, FEATURES_BY_NAME, INTERNET_ADDONS, TARGET


def freqs(values: pd.Series, categories: tuple[str, ...]) -> list[float]:
    counts = values.value_counts().reindex(list(categories), fill_value=0).to_numpy(float) + 0.5
    return [round(float(x), 6) for x in counts / counts.sum()]


def p_yes(values: pd.Series) -> float:
    return round(float(((values == "Yes").sum() + 0.5) / (len(values) + 1)), 6)


def fit(df: pd.DataFrame) -> dict:
    cats = {name: FEATURES_BY_NAME[name].categories for name in FEATURE_NAMES}
    contracts, internets = cats["Contract"], cats["InternetService"]
    params: dict = {
        "p_male": p_yes(df["gender"].map({"Male": "Yes", "Female": "No"})),
        "p_senior": round(float(df["SeniorCitizen"].mean()), 6),
        "p_partner": p_yes(df["Partner"]),
        "p_dependents_given_partner": {
            v: p_yes(df.loc[df["Partner"] == v, "Dependents"]) for v in ("No", "Yes")
        },
        "contract": freqs(df["Contract"], contracts),
        "tenure_hist": {},
        "internet_given_contract": {},
        "phone_given_internet": {},
        "multiple_given_internet": {},
        "addons": {},
        "paperless_given_internet": {},
        "payment_given_contract": {},
    }
    for c in contracts:
        sub = df[df["Contract"] == c]
        hist = np.bincount(sub["tenure"], minlength=MAX_TENURE + 1)[: MAX_TENURE + 1] + 0.5
        params["tenure_hist"][c] = [round(float(x), 6) for x in hist / hist.sum()]
        params["internet_given_contract"][c] = freqs(sub["InternetService"], internets)
        params["payment_given_contract"][c] = freqs(sub["PaymentMethod"], cats["PaymentMethod"])
    for i in internets:
        sub = df[df["InternetService"] == i]
        params["phone_given_internet"][i] = p_yes(sub["PhoneService"])
        params["multiple_given_internet"][i] = p_yes(
            sub.loc[sub["PhoneService"] == "Yes", "MultipleLines"]
        )
        params["paperless_given_internet"][i] = p_yes(sub["PaperlessBilling"])
        if i == "No":
            continue
        band = np.digitize(sub["tenure"], ADDON_TENURE_BANDS)
        params["addons"][i] = {
            a: [p_yes(sub.loc[band == b, a]) for b in range(len(ADDON_TENURE_BANDS) + 1)]
            for a in INTERNET_ADDONS
        }
    design = charge_design(df)
    reg = LinearRegression().fit(design, df["MonthlyCharges"])
    resid = df["MonthlyCharges"] - reg.predict(design)
    params["charges"] = {
        "intercept": round(float(reg.intercept_), 6),
        "coef": [round(float(x), 6) for x in reg.coef_],
        "resid_std": round(float(resid.std()), 6),
        "min": float(df["MonthlyCharges"].min()),
        "max": float(df["MonthlyCharges"].max()),
    }
    billed = df[df["tenure"] > 0]
    ratio = billed["TotalCharges"] / (billed["tenure"] * billed["MonthlyCharges"])
    params["total_ratio_std"] = round(float(ratio.std()), 6)

    X = df[list(FEATURE_NAMES)]
    enc = ChurnEncoder().fit(X)
    model = LogisticRegression(C=1.0, max_iter=5000).fit(enc.transform(X), df[TARGET])
    params["churn"] = {
        "columns": COLUMN_NAMES,
        "encoder_mean": [round(float(x), 8) for x in enc.mean_],
        "encoder_scale": [round(float(x), 8) for x in enc.scale_],
        "coef": [round(float(x), 8) for x in model.coef_[0]],
        "intercept": round(float(model.intercept_[0]), 8),
    }
    params["fitted_on"] = {"rows": len(df), "churn_rate": round(float(df[TARGET].mean()), 6)}
    return params


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    params = fit(load_clean(argv[0]))
    Path(PARAMS_PATH).write_text(json.dumps(params, indent=1) + "\n")
    print(f"wrote {PARAMS_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
