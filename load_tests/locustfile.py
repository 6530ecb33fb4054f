"""Realistic traffic for the churn service: mostly single predictions, some small batches,
an occasional model_info. Payloads come from the synthetic generator (`churn.generator`).

Run through `make load-test` (headless, bounded, SLO-checked) or
`locust -f load_tests/locustfile.py`.
"""

from __future__ import annotations

import json
import random
from typing import Any

import gevent
from locust import FastHttpUser, between, task

from churn.generator import generate
from churn.schema import FEATURE_NAMES, ID_COLUMN
from churn.settings import load_settings

LOAD = load_settings().load  # CHURN_LOAD_POOL, CHURN_LOAD_WAIT_MIN, CHURN_LOAD_WAIT_MAX
POOL_SIZE = LOAD.pool
WAIT_MIN_S = LOAD.wait_min
WAIT_MAX_S = LOAD.wait_max


def customer_pool(rows: int = POOL_SIZE, seed: int = 11) -> list[dict[str, Any]]:
    """JSON-ready customer records, drawn once per Locust process."""
    frame = generate(rows, seed=seed)[[ID_COLUMN, *FEATURE_NAMES]]
    return json.loads(frame.to_json(orient="records"))


POOL = customer_pool()
# Building the pool blocks gevent's loop for seconds; refresh its cached clock, or Locust's
# --run-time timer (armed from the stale time) fires at once and the test ends with 0 requests.
gevent.get_hub().loop.update_now()


def auth_headers() -> dict[str, str]:
    """The bearer token from `CHURN_API_TOKEN` (settings, `.env` written by `make run`)."""
    from churn.settings import Settings

    token = Settings().api_token
    return {"Authorization": f"Bearer {token}"} if token else {}


HEADERS = auth_headers()


class ChurnClient(FastHttpUser):
    wait_time = between(WAIT_MIN_S, WAIT_MAX_S)
    default_headers = HEADERS

    @task(20)
    def predict(self) -> None:
        body = {"customer": random.choice(POOL)}
        with self.client.post("/predict", json=body, catch_response=True) as resp:
            if resp.status_code != 200:
                resp.failure(f"status {resp.status_code}: {resp.text[:200]}")
            elif not 0.0 <= resp.json()["churn_probability"] <= 1.0:
                resp.failure("probability out of range")

    @task(4)
    def predict_batch(self) -> None:
        customers = random.sample(POOL, random.randint(2, 20))
        with self.client.post(
            "/predict_batch", json={"customers": customers}, catch_response=True
        ) as resp:
            if resp.status_code != 200:
                resp.failure(f"status {resp.status_code}: {resp.text[:200]}")
            elif len(resp.json()["predictions"]) != len(customers):
                resp.failure("one prediction per record expected")

    @task(1)
    def model_info(self) -> None:
        with self.client.get("/model_info", catch_response=True) as resp:
            if resp.status_code != 200 or "model_version" not in resp.json():
                resp.failure(f"status {resp.status_code}")
