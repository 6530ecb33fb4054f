"""The fixture itself: the real service answers the contract's /predict."""

from __future__ import annotations

import pytest
import requests

from churn.schema import EXAMPLE_RECORD

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def test_service_fixture_scores_a_customer(
    service_url: str, service_headers: dict[str, str]
) -> None:
    r = requests.post(
        f"{service_url}/predict",
        json={"customer": EXAMPLE_RECORD},
        timeout=10,
        headers=service_headers,
    )
    assert r.status_code == 200, r.text
    assert 0.0 <= r.json()["churn_probability"] <= 1.0
