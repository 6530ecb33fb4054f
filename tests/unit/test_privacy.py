"""The keyed hash of customer IDs: stable per key, different across keys, never the raw ID."""

from __future__ import annotations

from churn.privacy import HASH_PREFIX, customer_key


def test_without_a_secret_the_id_is_kept() -> None:
    assert customer_key("7590-VHVEG", None) == "7590-VHVEG"
    assert customer_key("7590-VHVEG", "") == "7590-VHVEG"
    assert customer_key(None, "k") is None


def test_with_a_secret_the_id_is_replaced_by_a_stable_keyed_hash() -> None:
    a = customer_key("7590-VHVEG", "secret-1")
    assert a is not None and a.startswith(HASH_PREFIX)
    assert "7590" not in a
    assert len(a) <= 64  # the prediction log's column
    assert customer_key("7590-VHVEG", "secret-1") == a  # joins: same ID, same key, same value
    assert customer_key("7590-VHVEG", "secret-2") != a  # another key, another value
    assert customer_key("5575-GNVDE", "secret-1") != a
