"""The service's `CHURN_*` knobs (`Settings.service`): defaults, and a bad value named by its
variable."""

from __future__ import annotations

import pytest

from churn.schema import MAX_BATCH_RECORDS
from churn.settings import SettingsError, load_settings


def test_defaults_without_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SERVICE_WORKERS", "BATCHING", "BATCH_MAX_SIZE", "MAX_IN_FLIGHT", "TRACE_API"):
        monkeypatch.delenv(f"CHURN_{name}", raising=False)
    knobs = load_settings().service
    assert (knobs.service_workers, knobs.batching, knobs.trace_api) == (2, "on", "off")
    assert knobs.batch_max_size == MAX_BATCH_RECORDS


def test_values_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHURN_BATCHING", "off")
    monkeypatch.setenv("CHURN_MAX_IN_FLIGHT", "8")
    monkeypatch.setenv("CHURN_PREDICTION_DB", "sqlite:///elsewhere.db")  # a shared field
    knobs = load_settings().service
    assert (knobs.batching, knobs.max_in_flight) == ("off", 8)


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("CHURN_SERVICE_WORKERS", "two", "valid integer"),
        ("CHURN_MAX_IN_FLIGHT", "0", "greater than or equal to 1"),
        ("CHURN_BATCHING", "maybe", "'on' or 'off'"),
        ("CHURN_TRACE_API", "yes", "'on' or 'off'"),
    ],
)
def test_a_bad_value_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, says: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert f"{name}={value!r}" in str(caught.value) and says in str(caught.value)
