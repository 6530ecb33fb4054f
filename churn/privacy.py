"""Customer IDs at rest: the raw ID, or a keyed hash of it when a secret is set.

With `CHURN_CUSTOMER_ID_KEY` set, the prediction log and the outcome store keep
HMAC-SHA256(key, customerID) instead of the ID itself. Both sides use this one function, so an
outcome still joins to the predictions made for the same customer, and the raw ID is never
written. Without a key the ID is stored as it came (the laptop default, documented in
docs/security.md). Rotating the key breaks the join between rows written before and after.
"""

from __future__ import annotations

import hashlib
import hmac

HASH_PREFIX = "h1:"
"""Marks a stored value as a keyed hash (version 1), so a reader never mistakes it for an ID."""
HASH_HEX_CHARS = 40
"""160 bits of the digest: fits the 64-character column with the prefix, and collisions among
millions of customers stay out of reach."""


def customer_key(customer_id: str | None, secret: str | None) -> str | None:
    """What to store for `customer_id`: itself without a secret, else its keyed hash."""
    if customer_id is None or not secret:
        return customer_id
    digest = hmac.new(secret.encode(), customer_id.encode(), hashlib.sha256).hexdigest()
    return HASH_PREFIX + digest[:HASH_HEX_CHARS]
