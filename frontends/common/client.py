"""The one HTTP client for the churn service (docs/CONTRACT.md), used by both frontends.

Timeouts on every call; retries by urllib3's `Retry` with exponential backoff on 503 (honouring
`Retry-After`, capped) and on connection errors (never on 4xx, never on a read timeout: a slow
service should fail fast to a friendly page, not hang a worker); a 4xx becomes `ServiceRejected`
carrying the service's field-level errors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from churn.schema import MAX_BATCH_RECORDS

CallObserver = Callable[[str, str], None]
"""Called after each service call with (endpoint, outcome); outcome is ok/rejected/unavailable."""

MAX_RETRY_AFTER_S = 5


@dataclass(frozen=True)
class FieldError:
    """One problem the service found in the input, e.g. loc=("customer", "tenure")."""

    loc: tuple[str | int, ...]
    msg: str

    @property
    def field(self) -> str:
        """The innermost named field (`tenure`), or '' when the error is about the whole body."""
        names = [part for part in self.loc if isinstance(part, str)]
        skip = {"body", "customer", "customers", "__root__"}
        named = [n for n in names if n not in skip]
        return named[-1] if named else ""

    @property
    def row(self) -> int | None:
        """The record index for batch errors (loc like ("customers", 3, "tenure"))."""
        ints = [part for part in self.loc if isinstance(part, int)]
        return ints[0] if ints else None

    def __str__(self) -> str:
        return f"{self.field}: {self.msg}" if self.field else self.msg


class ServiceError(Exception):
    """Any failure talking to the churn service."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class ServiceUnavailable(ServiceError):
    """The service is down, overloaded or too slow (connection error, timeout, 5xx)."""


@dataclass
class _Rejection:
    error: str
    detail: list[FieldError] = field(default_factory=list)


class ServiceRejected(ServiceError):
    """The service refused the input (4xx); `detail` names each field and its problem."""

    def __init__(self, message: str, status: int, detail: Sequence[FieldError] = ()) -> None:
        super().__init__(message, status)
        self.detail = list(detail)

    def field_errors(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for err in self.detail:
            out.setdefault(err.field or "__all__", []).append(err.msg)
        return out


def parse_rejection(response: requests.Response) -> _Rejection:
    """Read the contract's error body `{"error", "detail": [{"loc", "msg"}]}`, tolerating others."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()[:300]
        return _Rejection(text or f"HTTP {response.status_code}")
    if not isinstance(body, dict):
        return _Rejection(str(body)[:300])
    detail_raw = body.get("detail")
    detail: list[FieldError] = []
    if isinstance(detail_raw, list):
        for item in detail_raw:
            if isinstance(item, dict):
                loc = item.get("loc") or ()
                loc_t = tuple(p if isinstance(p, int | str) else str(p) for p in loc)
                detail.append(FieldError(loc_t, str(item.get("msg", ""))))
            else:
                detail.append(FieldError((), str(item)))
    elif isinstance(detail_raw, str):
        detail.append(FieldError((), detail_raw))
    error = str(body.get("error") or body.get("message") or f"HTTP {response.status_code}")
    return _Rejection(error, detail)


class ChurnClient:
    """A small, typed client for the service's HTTP API."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 10.0,
        retries: int = 2,
        backoff_s: float = 0.2,
        observer: CallObserver | None = None,
        session: requests.Session | None = None,
        token: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.observer = observer
        self.retry = retry_policy(retries, backoff_s)
        self.session = session or requests.Session()
        if token:  # the service's bearer token (CHURN_API_TOKEN); sent on every call
            self.session.headers["Authorization"] = f"Bearer {token}"
        adapter = HTTPAdapter(max_retries=self.retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    # -- the API -------------------------------------------------------------------------------

    def predict(self, customer: dict[str, Any]) -> dict[str, Any]:
        return self._post("predict", {"customer": customer})

    def predict_batch(self, customers: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """`{"predictions": [...], "model_version": ...}`, one prediction per customer, in order."""
        data = self._post("predict_batch", {"customers": list(customers)})
        if len(data.get("predictions", ())) != len(customers):
            raise ServiceUnavailable("the service answered the batch with an unexpected shape")
        return data

    def predict_many(
        self,
        customers: Sequence[dict[str, Any]],
        *,
        chunk_size: int = MAX_BATCH_RECORDS,
        progress: Callable[[int, int], None] | None = None,
    ) -> list[dict[str, Any]]:
        """Score any number of customers through `/predict_batch`, `chunk_size` at a time."""
        if not 1 <= chunk_size <= MAX_BATCH_RECORDS:
            raise ValueError(f"chunk_size must be in 1..{MAX_BATCH_RECORDS}, got {chunk_size}")
        out: list[dict[str, Any]] = []
        total = len(customers)
        for start in range(0, total, chunk_size):
            chunk = customers[start : start + chunk_size]
            out.extend(self.predict_batch(chunk)["predictions"])
            if progress is not None:
                progress(len(out), total)
        return out

    def explain(self, customer: dict[str, Any]) -> dict[str, Any]:
        return self._post("explain", {"customer": customer})

    def model_info(self) -> dict[str, Any]:
        """`GET /model_info` (docs/CONTRACT.md)."""
        return self._json(self._request("GET", "model_info"))

    def metrics_text(self) -> str:
        return self._request("GET", "metrics").text

    def is_ready(self) -> bool:
        """True when `/readyz` answers 200 within the timeout; never raises."""
        try:
            response = self.session.get(f"{self.base_url}/readyz", timeout=min(self.timeout_s, 3.0))
        except requests.RequestException:
            self._observe("readyz", "unavailable")
            return False
        ok = response.status_code == 200
        self._observe("readyz", "ok" if ok else "unavailable")
        return ok

    # -- plumbing ------------------------------------------------------------------------------

    def _post(self, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._json(self._request("POST", endpoint, json=body))

    def _json(self, response: requests.Response) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError as exc:
            raise ServiceUnavailable(
                "the service answered with something that is not JSON"
            ) from exc
        if not isinstance(data, dict):
            raise ServiceUnavailable("the service answered with an unexpected JSON shape")
        return data

    def _observe(self, endpoint: str, outcome: str) -> None:
        if self.observer is not None:
            self.observer(endpoint, outcome)

    def _request(self, method: str, endpoint: str, **kwargs: Any) -> requests.Response:
        """One call; the session's `Retry` does the retrying (see `retry_policy`)."""
        try:
            response = self.session.request(
                method, f"{self.base_url}/{endpoint}", timeout=self.timeout_s, **kwargs
            )
        except requests.ConnectionError as exc:
            self._observe(endpoint, "unavailable")
            raise ServiceUnavailable(
                f"the churn service at {self.base_url} is not reachable"
            ) from exc
        except requests.Timeout as exc:
            self._observe(endpoint, "unavailable")
            raise ServiceUnavailable(
                f"the churn service did not answer within {self.timeout_s:g} s"
            ) from exc
        except requests.RequestException as exc:
            self._observe(endpoint, "unavailable")
            raise ServiceUnavailable(f"the request to the churn service failed: {exc}") from exc
        return self._check(endpoint, response)

    def _check(self, endpoint: str, response: requests.Response) -> requests.Response:
        status = response.status_code
        if status < 400:
            self._observe(endpoint, "ok")
            return response
        if 400 <= status < 500:
            self._observe(endpoint, "rejected")
            rejection = parse_rejection(response)
            raise ServiceRejected(rejection.error, status, rejection.detail)
        self._observe(endpoint, "unavailable")
        what = "is overloaded" if status == 503 else f"failed (HTTP {status})"
        raise ServiceUnavailable(f"the churn service {what}; try again shortly", status)


def retry_policy(retries: int, backoff_s: float) -> Retry:
    """Retry connection failures and 503s (POSTs too: the service scores without side effects
    beyond its log), with exponential backoff or the 503's `Retry-After` (at most 5 s); a read
    timeout is re-raised at once; the last 503 is returned, for `_check` to name."""
    return Retry(
        total=retries,
        connect=retries,
        other=retries,
        read=False,
        status=retries,
        status_forcelist=(503,),
        allowed_methods=None,
        backoff_factor=backoff_s,
        respect_retry_after_header=True,
        retry_after_max=MAX_RETRY_AFTER_S,
        raise_on_status=False,
    )


def client_from_settings(observer: CallObserver | None = None) -> ChurnClient:
    """A client configured from `CHURN_SERVICE_URL` and `CHURN_REQUEST_TIMEOUT_S`."""
    from churn.settings import Settings

    settings = Settings()
    return ChurnClient(
        settings.service_url,
        timeout_s=settings.request_timeout_s,
        observer=observer,
        token=settings.api_token,
    )
