"""WTForms built from `churn.schema.FEATURES`, so the form always has every field of the schema."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from pydantic import ValidationError
from wtforms import Field, FloatField, IntegerField, SelectField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from churn.schema import (
    EXAMPLE_RECORD,
    FEATURES,
    ID_COLUMN,
    CustomerRecord,
    Feature,
    consistency_problems,
)
from frontends.common.records import validation_messages

BINARY_CHOICES = [(0, "No"), (1, "Yes")]


def _field_for(feat: Feature) -> Field:
    label = f"{feat.name}"
    desc = feat.description
    if feat.kind == "categorical":
        return SelectField(
            label,
            choices=[(c, c) for c in feat.categories],
            validators=[InputRequired()],
            description=desc,
        )
    if feat.kind == "binary":
        return SelectField(
            label,
            choices=BINARY_CHOICES,
            coerce=int,
            validators=[InputRequired()],
            description=desc,
        )
    bounds = NumberRange(min=feat.minimum, max=feat.maximum)
    render = {"min": feat.minimum, "max": feat.maximum}
    if feat.kind == "integer":
        return IntegerField(
            label,
            validators=[InputRequired(message="enter a whole number"), bounds],
            render_kw={**render, "step": 1},
            description=desc,
        )
    return FloatField(
        label,
        validators=[InputRequired(message="enter a number"), bounds],
        render_kw={**render, "step": "0.01"},
        description=desc,
    )


class _CustomerFormBase(FlaskForm):
    """Form-level rules on top of the per-field ones: the schema's cross-field consistency."""

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        record = self.record()
        for name, message in consistency_problems(record):
            if not self[name].errors:
                self.add_error(name, message)
            ok = False
        if ok:
            try:
                CustomerRecord.model_validate(record)
            except ValidationError as exc:
                for name, message in validation_messages(exc):
                    self.add_error(name, message)
                ok = False
        return ok

    def add_error(self, name: str, message: str) -> None:
        """Attach a message beside `name` (or to the form when the field is unknown)."""
        field = self._fields.get(name)
        if field is None:
            self.form_errors.append(f"{name}: {message}" if name else message)
        else:
            field.errors = [*field.errors, message]

    def record(self) -> dict[str, Any]:
        data: dict[str, Any] = {f.name: self[f.name].data for f in FEATURES}
        customer_id = (self[ID_COLUMN].data or "").strip()
        if customer_id:
            data[ID_COLUMN] = customer_id
        return data

    @classmethod
    def feature_names(cls) -> list[str]:
        return [f.name for f in FEATURES]


CustomerForm: type[_CustomerFormBase] = type(
    "CustomerForm",
    (_CustomerFormBase,),
    {
        ID_COLUMN: StringField(
            "customerID", validators=[Optional(), Length(max=64)], description="optional"
        ),
        **{f.name: _field_for(f) for f in FEATURES},
    },
)


def example_defaults() -> dict[str, Any]:
    return dict(EXAMPLE_RECORD)


class BatchForm(FlaskForm):
    file = FileField(
        "Customer CSV",
        validators=[FileRequired("choose a CSV file"), FileAllowed(["csv"], "only .csv files")],
    )
