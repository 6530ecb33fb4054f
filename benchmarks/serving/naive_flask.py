"""The tutorial baseline: Flask's server, one-row DataFrame, `pipeline.predict_proba`.

Run: `python benchmarks/serving/naive_flask.py PORT` (loads the latest telco_churn model).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import bentoml
import pandas as pd
from flask import Flask, jsonify, request

from churn.schema import FEATURE_NAMES


def create_app() -> Flask:
    pipeline = bentoml.sklearn.load_model("telco_churn:latest")
    app = Flask(__name__)

    @app.post("/predict")
    def predict() -> Any:
        frame = pd.DataFrame([request.get_json()["customer"]])[list(FEATURE_NAMES)]
        return jsonify({"churn_probability": float(pipeline.predict_proba(frame)[0, 1])})

    @app.get("/readyz")
    def readyz() -> str:
        return "ok"

    return app


if __name__ == "__main__":
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    create_app().run(host="127.0.0.1", port=int(sys.argv[1]), threaded=True)
