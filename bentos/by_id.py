"""Customers by ID: their attributes from the feature store's online store (docs/features.md).

The routes that take a `customerID` (or `customerIDs`) resolve it here, then score the record
exactly as if the caller had posted it. A read that cannot be answered becomes the contract's
error body with a status of its own: an unknown ID 404 (every unknown ID named), attributes older
than `CHURN_FEATURE_MAX_AGE_HOURS` 409 (how old), a store that is down 503 with `Retry-After`
(the store named, never its password). Nothing is logged for a refused read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from starlette.responses import Response

from bentos.api_models import Customer
from bentos.errors import one_error
from churn.settings import Settings

BY_ID_ERRORS = {
    404: "An unknown customer ID (each named)",
    409: "Attributes older than CHURN_FEATURE_MAX_AGE_HOURS (how old)",
    503: "The feature store is down (named; Retry-After)",
}
"""What a by-ID route answers besides a prediction, for its declaration (the OpenAPI document)."""


class Refused(Exception):
    """A by-ID read answered with an error response instead of records."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def _refusal(status: int, error: str, field: str, msg: str, **headers: str) -> Refused:
    body = one_error(error, ["body", field], msg)
    return Refused(Response(body, status, headers, media_type="application/json"))


def resolve(
    ids: Sequence[str], settings: Settings, field: str = "customerID"
) -> tuple[list[Customer], list[str]]:
    """(the customers' records, validated as a posted record would be; each one's extract time
    in ISO 8601), or `Refused` with the answer to send."""
    from churn.feature_store.online import (
        StaleFeatures,
        StoreUnavailable,
        UnknownCustomer,
        online_records,
    )

    try:
        records, as_of = online_records(ids, settings)
    except UnknownCustomer as exc:
        raise _refusal(404, "unknown customer", field, str(exc)) from exc
    except StaleFeatures as exc:
        raise _refusal(409, "stale features", field, str(exc)) from exc
    except StoreUnavailable as exc:
        raise _refusal(
            503, "unavailable", field, str(exc), **{"Retry-After": str(exc.retry_after_s)}
        ) from exc
    customers = [Customer.model_validate(r) for r in records]
    return customers, [t.astimezone(dt.UTC).isoformat() for t in as_of]
