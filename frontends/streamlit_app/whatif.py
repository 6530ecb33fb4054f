"""The what-if editor's rules: which choices a field offers given the others."""

from __future__ import annotations

from typing import Any

from churn.schema import FEATURES_BY_NAME, INTERNET_ADDONS, NO_INTERNET, NO_PHONE


def allowed_choices(name: str, record: dict[str, Any]) -> tuple[str, ...]:
    """The categories `name` may take given the record's other fields."""
    cats = FEATURES_BY_NAME[name].categories
    if name == "MultipleLines":
        return (NO_PHONE,) if record.get("PhoneService") == "No" else ("No", "Yes")
    if name in INTERNET_ADDONS:
        return (NO_INTERNET,) if record.get("InternetService") == "No" else ("No", "Yes")
    return cats


def reconcile(record: dict[str, Any]) -> dict[str, Any]:
    """Make dependent fields consistent after a parent changed (e.g. internet switched off)."""
    fixed = dict(record)
    for name in ("MultipleLines", *INTERNET_ADDONS):
        choices = allowed_choices(name, fixed)
        if fixed.get(name) not in choices:
            fixed[name] = choices[0]
    return fixed
