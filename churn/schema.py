"""The single source of truth for what a Telco customer record is.

Every other part (cleaning, the generator, the encoder, the API, the frontends, validation)
reads the field names, kinds, categories and ranges from here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

if TYPE_CHECKING:
    import pandas as pd

ID_COLUMN = "customerID"
TARGET = "Churn"

YES_NO = ("No", "Yes")
NO_PHONE = "No phone service"
NO_INTERNET = "No internet service"
INTERNET_ADDONS = (
    "OnlineSecurity",
    "OnlineBackup",
    "DeviceProtection",
    "TechSupport",
    "StreamingTV",
    "StreamingMovies",
)


@dataclass(frozen=True)
class Feature:
    """One input field: its kind and what values it may take."""

    name: str
    kind: Literal["categorical", "binary", "integer", "numeric"]
    categories: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    description: str = ""

    @property
    def is_numeric(self) -> bool:
        return self.kind in ("integer", "numeric")

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "description": self.description,
        }
        if self.categories:
            out["categories"] = list(self.categories)
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        return out


def _cat(name: str, categories: tuple[str, ...], description: str) -> Feature:
    return Feature(name, "categorical", categories, description=description)


FEATURES: tuple[Feature, ...] = (
    _cat("gender", ("Female", "Male"), "Customer gender"),
    Feature("SeniorCitizen", "binary", minimum=0, maximum=1, description="1 if 65 or older"),
    _cat("Partner", YES_NO, "Has a partner"),
    _cat("Dependents", YES_NO, "Has dependents"),
    Feature("tenure", "integer", minimum=0, maximum=120, description="Months as a customer"),
    _cat("PhoneService", YES_NO, "Has phone service"),
    _cat("MultipleLines", (*YES_NO, NO_PHONE), "Has multiple phone lines"),
    _cat("InternetService", ("DSL", "Fiber optic", "No"), "Internet service type"),
    *(_cat(name, (*YES_NO, NO_INTERNET), f"Internet add-on: {name}") for name in INTERNET_ADDONS),
    _cat("Contract", ("Month-to-month", "One year", "Two year"), "Contract term"),
    _cat("PaperlessBilling", YES_NO, "Paperless billing"),
    _cat(
        "PaymentMethod",
        (
            "Bank transfer (automatic)",
            "Credit card (automatic)",
            "Electronic check",
            "Mailed check",
        ),
        "Payment method",
    ),
    Feature("MonthlyCharges", "numeric", minimum=0, maximum=500, description="Monthly bill (USD)"),
    Feature(
        "TotalCharges", "numeric", minimum=0, maximum=100_000, description="Billed to date (USD)"
    ),
)

FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
FEATURES_BY_NAME: dict[str, Feature] = {f.name: f for f in FEATURES}
CATEGORICAL = tuple(f.name for f in FEATURES if f.kind == "categorical")
NUMERIC = tuple(f.name for f in FEATURES if f.is_numeric and f.kind != "binary")
RAW_COLUMNS: tuple[str, ...] = (ID_COLUMN, *FEATURE_NAMES, TARGET)
"""The 21 columns of the IBM Telco Customer Churn CSV, in its order."""

RISK_BANDS = ((0.3, "low"), (0.6, "medium"), (1.01, "high"))

MAX_BATCH_RECORDS = 1000
"""Most records in one `/predict_batch` request (docs/CONTRACT.md); clients chunk to it."""


def risk_band(probability: float) -> str:
    """low < 0.3 <= medium < 0.6 <= high."""
    for upper, name in RISK_BANDS:
        if probability < upper:
            return name
    return "high"


def consistency_problems(record: dict[str, Any]) -> list[tuple[str, str]]:
    """Cross-field rules of the Telco schema: add-ons exist only with the service they add to."""
    problems: list[tuple[str, str]] = []
    no_phone = record.get("PhoneService") == "No"
    if no_phone != (record.get("MultipleLines") == NO_PHONE):
        problems.append(
            ("MultipleLines", f"must be '{NO_PHONE}' exactly when PhoneService is 'No'")
        )
    no_internet = record.get("InternetService") == "No"
    for name in INTERNET_ADDONS:
        if no_internet != (record.get(name) == NO_INTERNET):
            problems.append((name, f"must be '{NO_INTERNET}' exactly when InternetService is 'No'"))
    return problems


class ConsistencyError(ValueError):
    """A broken cross-field rule; `problems` keeps the (field, message) pairs apart."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{field}: {msg}" for field, msg in problems))


def coerce_csv_cell(name: str, value: str, tenure: str = "") -> Any:
    """One CSV cell as the record field expects it: '3' -> 3 for whole-number fields, '29.85' ->
    29.85, blank TotalCharges at tenure 0 -> 0.0 (a first-month customer), blank -> None.

    Unparseable values are returned as they are, for `CustomerRecord` to reject with a message.
    """
    value = value.strip()
    feat = FEATURES_BY_NAME.get(name)
    if feat is None or feat.kind == "categorical":
        return value if value or name != ID_COLUMN else None
    if name == "TotalCharges" and value == "" and tenure.strip() == "0":
        return 0.0
    if value == "":
        return None
    try:
        number = float(value)
    except ValueError:
        return value
    if feat.kind in ("integer", "binary") and number.is_integer():
        return int(number)
    return number


def schema_description() -> list[dict[str, Any]]:
    return [f.describe() for f in FEATURES]


YesNo = Literal["No", "Yes"]
InternetAddon = Literal["No", "Yes", "No internet service"]

EXAMPLE_RECORD: dict[str, Any] = {
    "customerID": "7590-VHVEG",
    "gender": "Female",
    "SeniorCitizen": 0,
    "Partner": "Yes",
    "Dependents": "No",
    "tenure": 1,
    "PhoneService": "No",
    "MultipleLines": "No phone service",
    "InternetService": "DSL",
    "OnlineSecurity": "No",
    "OnlineBackup": "Yes",
    "DeviceProtection": "No",
    "TechSupport": "No",
    "StreamingTV": "No",
    "StreamingMovies": "No",
    "Contract": "Month-to-month",
    "PaperlessBilling": "Yes",
    "PaymentMethod": "Electronic check",
    "MonthlyCharges": 29.85,
    "TotalCharges": 29.85,
}


class CustomerRecord(BaseModel):
    """One customer, as the API, the frontends and batch scoring receive it."""

    model_config = ConfigDict(
        extra="forbid",
        strict=False,
        json_schema_extra={"examples": [EXAMPLE_RECORD]},
    )

    customerID: str | None = Field(
        default=None, max_length=64, description="Customer id (optional)"
    )
    gender: Literal["Female", "Male"]
    SeniorCitizen: Literal[0, 1]
    Partner: YesNo
    Dependents: YesNo
    tenure: int = Field(ge=0, le=120, strict=True, description="Months as a customer")
    PhoneService: YesNo
    MultipleLines: Literal["No", "Yes", "No phone service"]
    InternetService: Literal["DSL", "Fiber optic", "No"]
    OnlineSecurity: InternetAddon
    OnlineBackup: InternetAddon
    DeviceProtection: InternetAddon
    TechSupport: InternetAddon
    StreamingTV: InternetAddon
    StreamingMovies: InternetAddon
    Contract: Literal["Month-to-month", "One year", "Two year"]
    PaperlessBilling: YesNo
    PaymentMethod: Literal[
        "Bank transfer (automatic)",
        "Credit card (automatic)",
        "Electronic check",
        "Mailed check",
    ]
    MonthlyCharges: float = Field(ge=0, le=500, allow_inf_nan=False, strict=True)
    TotalCharges: float = Field(ge=0, le=100_000, allow_inf_nan=False, strict=True)

    # Strict numbers (issue 15): "12", 12.0 and true are not integers and "29.85" is not a number;
    # lax coercion would let a client's type bug through silently. CSV cells are typed by
    # `coerce_csv_cell` first, so files still work. A Literal takes no `strict`, hence this check.
    @field_validator("SeniorCitizen", mode="before")
    @classmethod
    def _exact_int(cls, value: Any) -> Any:
        if type(value) is not int:
            raise ValueError(f"must be the integer 0 or 1, not {type(value).__name__}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> CustomerRecord:
        problems = consistency_problems(self.__dict__)
        if problems:
            raise ConsistencyError(problems)
        return self

    def features(self) -> dict[str, Any]:
        """The 19 model inputs as a plain dict (no id)."""
        return self.model_dump(exclude={"customerID"})


# --------------------------------------------------------------------------- rows of a CSV

FIRST_DATA_LINE = 2
"""Rows are numbered as lines of the CSV file: the header is line 1, the first customer line 2."""


@dataclass(frozen=True)
class FieldError:
    """One problem of one field. `problem` names its kind in the schema's words (what `clean`
    counts per column); `message` is pydantic's sentence (what a person reads next to the row)."""

    field: str
    problem: str
    message: str
    value: Any = None


@dataclass(frozen=True)
class ValidRow:
    line: int
    """Line number in the file (the header is line 1)."""
    record: CustomerRecord


@dataclass(frozen=True)
class RowProblem:
    line: int
    """Line number in the file (the header is line 1)."""
    customer_id: str
    reason: str
    errors: tuple[FieldError, ...] = ()


def _problem_kind(field: str, error_type: str, value: Any) -> str:
    feat = FEATURES_BY_NAME.get(field)
    if error_type == "missing" or value is None or value == "":
        return "missing values"
    if feat is None or error_type == "extra_forbidden":
        return error_type.replace("_", " ")
    if feat.kind == "categorical":
        return "unknown categories"
    if isinstance(value, str):
        return "not a number"
    if feat.kind in ("integer", "binary") and not float(value).is_integer():
        return "not a whole number"
    return f"out of range [{feat.minimum}, {feat.maximum}]"


def field_errors(exc: ValidationError) -> list[FieldError]:
    """The one formatter of pydantic errors on a customer record: one `FieldError` per field
    problem, cross-field rules split into the fields they name ('' when no field is known)."""
    out: list[FieldError] = []
    for err in exc.errors():
        error = (err.get("ctx") or {}).get("error")
        if isinstance(error, ConsistencyError):
            out += [FieldError(f, "inconsistent", m) for f, m in error.problems]
            continue
        loc = [str(p) for p in err.get("loc", ())]
        field = loc[-1] if loc else ""
        message = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        value = err.get("input")
        out.append(FieldError(field, _problem_kind(field, err["type"], value), message, value))
    return out


def describe_errors(errors: Iterable[FieldError]) -> str:
    """'field: message; field: message' (a cross-field rule without a field: the message)."""
    return "; ".join(f"{e.field}: {e.message}" if e.field else e.message for e in errors)


def validate_rows(
    frame: pd.DataFrame | Iterable[Mapping[str, Any]],
) -> tuple[list[ValidRow], list[RowProblem]]:
    """Rows of strings in the Telco layout -> (records, problems): the one row validator.

    Each row goes through `coerce_csv_cell` and `CustomerRecord` (the model the service uses), so
    a row accepted here is a row the service accepts. Both lists are in row order and carry the
    row's file line; columns other than the 19 features and the id (such as `Churn`) are ignored.
    A `DataFrame` is read column by column, so this module does not import pandas.
    """
    rows: Iterable[Mapping[str, Any]]
    if hasattr(frame, "columns"):  # a DataFrame: plain lists are ~5x faster than to_dict()
        table = cast("pd.DataFrame", frame)
        names = [str(c) for c in table.columns]
        columns = [table[c].tolist() for c in table.columns]
        rows = (dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True))
    else:
        rows = cast("Iterable[Mapping[str, Any]]", frame)
    records: list[ValidRow] = []
    problems: list[RowProblem] = []
    for i, row in enumerate(rows):
        line = i + FIRST_DATA_LINE
        tenure = str(row.get("tenure", ""))
        candidate = {
            name: coerce_csv_cell(name, str(row[name]), tenure)
            for name in (ID_COLUMN, *FEATURE_NAMES)
            if name in row
        }
        try:
            record = CustomerRecord.model_validate(candidate)
        except ValidationError as exc:
            errors = tuple(field_errors(exc))
            customer_id = str(row.get(ID_COLUMN, "") or "")
            problems.append(RowProblem(line, customer_id, describe_errors(errors), errors))
            continue
        records.append(ValidRow(line, record))
    return records, problems
