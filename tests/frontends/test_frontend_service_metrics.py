"""Parsing the service's Prometheus text for the dashboard's live metrics."""

from __future__ import annotations

import pytest

from frontends.streamlit_app import service_metrics as sm

TEXT = """\
# TYPE bentoml_service_request_total counter
bentoml_service_request_total{endpoint="/predict",http_response_code="200",service_name="s"} 90
bentoml_service_request_total{endpoint="/predict",http_response_code="503",service_name="s"} 10
# TYPE bentoml_service_request_duration_seconds histogram
bentoml_service_request_duration_seconds_bucket{endpoint="/predict",le="0.01"} 50
bentoml_service_request_duration_seconds_bucket{endpoint="/predict",le="0.1"} 90
bentoml_service_request_duration_seconds_bucket{endpoint="/predict",le="+Inf"} 100
bentoml_service_request_duration_seconds_count{endpoint="/predict",http_response_code="200"} 100
bentoml_service_request_duration_seconds_sum{endpoint="/predict",http_response_code="200"} 2.0
# TYPE bentoml_service_adaptive_batch_size histogram
bentoml_service_adaptive_batch_size_bucket{le="1.0"} 10
bentoml_service_adaptive_batch_size_bucket{le="4.0"} 20
bentoml_service_adaptive_batch_size_bucket{le="+Inf"} 20
# TYPE churn_predictions_total counter
churn_predictions_total{decision="churn"} 30
churn_predictions_total{decision="stay"} 70
"""


def test_parse_collects_requests_errors_latency_batches_and_mix() -> None:
    snap = sm.parse(TEXT, taken_at=100.0)
    assert snap.requests == {"/predict": 100.0}
    assert snap.errors == {"/predict": 10.0}
    assert snap.latency["/predict"][0.01] == 50
    assert snap.predictions == {"churn": 30.0, "stay": 70.0}
    assert sm.batch_size_percentiles(snap)["p50"] == pytest.approx(1.0)


def test_quantile_interpolates_inside_the_bucket() -> None:
    hist = {0.01: 50.0, 0.1: 90.0, float("inf"): 100.0}
    assert sm.quantile(0.5, hist) == pytest.approx(0.01)
    assert sm.quantile(0.7, hist) == pytest.approx(0.01 + 0.09 * 0.5)
    assert sm.quantile(0.99, hist) == pytest.approx(0.1)  # beyond the last finite bound
    assert sm.quantile(0.5, {}) is None


def test_rates_between_two_snapshots() -> None:
    old = sm.parse(TEXT, taken_at=100.0)
    new = sm.parse(TEXT.replace("} 90\n", "} 140\n", 1), taken_at=110.0)
    assert sm.rates(new, old) == {"/predict": pytest.approx(5.0)}
    assert sm.rates(new, None) == {}
    table = sm.latency_table(new, old)
    assert table[0]["endpoint"] == "/predict"
    assert table[0]["p50_ms"] == pytest.approx(10.0)
