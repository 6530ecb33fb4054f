"""A minimal BentoML service that opens the prediction log the way ChurnService does, so the
fatal start-up path (`exit_on_fatal`) is tested under a real `bentoml serve`."""

from __future__ import annotations

import os

import bentoml

from bentos.prediction_log import PredictionLog, PredictionLogConfigError, exit_on_fatal


@bentoml.service(name="fatal_log_probe", workers=2)
class FatalLogProbe:
    def __init__(self) -> None:
        try:
            self.log = PredictionLog(os.environ["CHURN_PREDICTION_DB"])
        except PredictionLogConfigError as exc:
            exit_on_fatal(exc)

    @bentoml.api
    def ping(self) -> str:
        return "pong"
