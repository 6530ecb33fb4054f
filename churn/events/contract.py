"""The customer-event contract: one versioned JSON object per event, validated by pydantic.

Every event names its `kind`, `version` (1), `event_id` (unique, what makes handling idempotent),
`customerID` (also the Kafka message key, so one customer's events stay in order on one
partition) and `event_time` (with a time zone). The kinds and what each does to the customer's
19 model inputs (`churn.schema`):

- `plan_change`: `changes`, any of the plan's fields (contract, services, billing method,
  `MonthlyCharges`), typed as `CustomerRecord` types them; the merged record must pass the same
  record validator (an internet add-on without internet service is refused);
- `bill`: `amount` (-> `MonthlyCharges`), `total_to_date` (-> `TotalCharges`), `months_billed`
  (-> `tenure`);
- `support_contact`: `reason` (billing, technical, cancellation, moving, other) and `channel`;
- `usage_summary`: `period_days`, `data_gb`, `voice_minutes`;
- `contract_end`: `ends_on`, the date the current contract ends.

The last three change no model input (the production model has none for them); they are
re-scored and logged with their cause all the same, and a `cancellation` contact is itself an
alert. Every value an event sets is a state ("the total billed to date"), never an increment,
so applying an event twice leaves the record as applying it once.

`parse_event(raw, key)` answers the typed event or raises `BadEvent` with the reason, written by
the project's one formatter of pydantic errors (`churn.schema.field_errors`).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    create_model,
    model_validator,
)

from churn.schema import (
    FEATURE_NAMES,
    ID_COLUMN,
    CustomerRecord,
    FieldError,
    describe_errors,
    field_errors,
)

VERSION = 1
PLAN_FIELDS: tuple[str, ...] = (
    "PhoneService", "MultipleLines", "InternetService", "OnlineSecurity", "OnlineBackup",
    "DeviceProtection", "TechSupport", "StreamingTV", "StreamingMovies", "Contract",
    "PaperlessBilling", "PaymentMethod", "MonthlyCharges",
)  # fmt: skip
"""What a plan change may set: the customer's services, contract, billing method and price."""
SUPPORT_REASONS = ("billing", "technical", "cancellation", "moving", "other")
MAX_EVENT_BYTES = 64 * 1024

_Strict = ConfigDict(extra="forbid", frozen=True)

PlanChanges: type[BaseModel] = create_model(  # type: ignore[call-overload]
    "PlanChanges",
    __config__=_Strict,
    **{
        name: (CustomerRecord.model_fields[name].annotation | None, None)  # type: ignore[operator]
        for name in PLAN_FIELDS
    },
)
"""Each plan field optional, typed exactly as the record types it (`churn.schema`)."""

EventId = Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9._:-]+$")]
CustomerId = Annotated[str, Field(min_length=1, max_length=64)]


class _Event(BaseModel):
    model_config = _Strict

    version: Literal[1]
    event_id: EventId
    customerID: CustomerId
    event_time: AwareDatetime

    def apply(self, record: dict[str, Any]) -> dict[str, Any]:
        """The customer's 19 inputs after this event (a new dict; unchanged by default)."""
        return dict(record)

    @property
    def cause(self) -> str:
        """What the prediction log's cause says about this event."""
        return self.kind  # type: ignore[attr-defined]


class PlanChange(_Event):
    kind: Literal["plan_change"]
    changes: PlanChanges  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _something(self) -> PlanChange:
        if not self.changes.model_fields_set:  # type: ignore[attr-defined]
            raise ValueError("changes: name at least one of " + ", ".join(PLAN_FIELDS))
        return self

    def apply(self, record: dict[str, Any]) -> dict[str, Any]:
        return {**record, **self.changes.model_dump(exclude_unset=True)}  # type: ignore[attr-defined]

    @property
    def cause(self) -> str:
        return "plan_change: " + ", ".join(sorted(self.changes.model_fields_set))  # type: ignore[attr-defined]


class Bill(_Event):
    kind: Literal["bill"]
    amount: float = Field(ge=0, le=500, allow_inf_nan=False)
    total_to_date: float = Field(ge=0, le=100_000, allow_inf_nan=False)
    months_billed: int = Field(ge=0, le=120, strict=True)

    def apply(self, record: dict[str, Any]) -> dict[str, Any]:
        return {
            **record,
            "MonthlyCharges": float(self.amount),
            "TotalCharges": float(self.total_to_date),
            "tenure": self.months_billed,
        }


class SupportContact(_Event):
    kind: Literal["support_contact"]
    reason: Literal["billing", "technical", "cancellation", "moving", "other"]
    channel: Literal["phone", "chat", "store", "email"] = "phone"

    @property
    def cause(self) -> str:
        return f"support_contact: {self.reason}"


class UsageSummary(_Event):
    kind: Literal["usage_summary"]
    period_days: int = Field(ge=1, le=31, strict=True)
    data_gb: float = Field(ge=0, allow_inf_nan=False)
    voice_minutes: float = Field(ge=0, allow_inf_nan=False)


class ContractEnd(_Event):
    kind: Literal["contract_end"]
    ends_on: dt.date


Event = Annotated[
    PlanChange | Bill | SupportContact | UsageSummary | ContractEnd, Field(discriminator="kind")
]
KINDS = ("plan_change", "bill", "support_contact", "usage_summary", "contract_end")
_ADAPTER: TypeAdapter[Any] = TypeAdapter(Event)


class BadEvent(ValueError):
    """An event that breaks the contract; `reason` says which field and why."""

    def __init__(self, reason: str, errors: tuple[FieldError, ...] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.errors = errors


def _reason(exc: ValidationError) -> BadEvent:
    errors = tuple(field_errors(exc))
    return BadEvent(describe_errors(errors) or "invalid event", errors)


def parse_event(raw: bytes | str, key: bytes | str | None = None) -> Any:
    """The typed event of one message, or `BadEvent`. The message key, when given, must be the
    event's customerID (the key is what keeps one customer's events in order)."""
    if len(raw) > MAX_EVENT_BYTES:
        raise BadEvent(f"event is {len(raw)} bytes, more than {MAX_EVENT_BYTES}")
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadEvent(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadEvent(f"an event is a JSON object, not {type(data).__name__}")
    if data.get("version") != VERSION and "version" in data:
        raise BadEvent(f"version: unsupported event version {data['version']!r} (known: 1)")
    try:
        event = _ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise _reason(exc) from None
    if key is not None:
        text = key.decode(errors="replace") if isinstance(key, bytes) else key
        if text != event.customerID:
            raise BadEvent(f"key: the message key {text!r} is not the event's {ID_COLUMN}")
    return event


def checked_record(event: Any, record: dict[str, Any]) -> dict[str, Any]:
    """`event` applied to `record` (the 19 inputs), judged by the one record validator; a
    record it would break raises `BadEvent` naming the fields."""
    after = event.apply(record)
    try:
        valid = CustomerRecord.model_validate({ID_COLUMN: event.customerID, **after})
    except ValidationError as exc:
        raise _reason(exc) from None
    return {name: getattr(valid, name) for name in FEATURE_NAMES}


def to_json(event: Any) -> bytes:
    """The event as its producer sends it (compact JSON, UTF-8)."""
    return _ADAPTER.dump_json(event, exclude_none=True)


def json_schema() -> dict[str, Any]:
    """The contract as JSON Schema (`churn events schema`)."""
    return _ADAPTER.json_schema()
