"""What each route of the service computes, on one worker's live models and prediction log.

`Answers.start(model)` is called by `ChurnService.__init__` (bentos/service.py), in the worker: it
checks where the project database is (a start-up error, never a 500 per request), opens the
prediction log, loads the embedded model and follows the serving state live (bentos/live_model.py,
docs/lifecycle.md). Each request reads one immutable snapshot (champion, challenger, experiment)
and names the version and arm that answered.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any

import bentoml
import pydantic_core
from bentoml.exceptions import ServiceUnavailable
from starlette.responses import Response

from bentos import metrics
from bentos.api_models import (
    Contribution,
    Customer,
    Explanation,
    ModelInfo,
    Prediction,
    batch_body,
)
from bentos.by_id import Refused, resolve
from bentos.live_model import LiveModel, ShadowScorer, Snapshot
from bentos.model_loader import LoadedModel, load, load_tag
from bentos.prediction_log import (
    PredictionLog,
    PredictionLogConfigError,
    PredictionLogFull,
    exit_on_fatal,
    require_database_location,
)
from churn.db import serving_state
from churn.db.audit import AuditEvent
from churn.db.audit import record as record_audit
from churn.experiment import CHAMPION
from churn.privacy import customer_key
from churn.schema import ID_COLUMN, CustomerRecord, risk_band, schema_description
from churn.settings import Settings


class Answers:
    """The live models, the prediction log and the shadow scorer of one worker."""

    def __init__(self, settings: Settings, log: PredictionLog, live: LiveModel) -> None:
        self.settings, self.log, self.live = settings, log, live
        self.shadow = ShadowScorer(self._append)

    @classmethod
    def start(cls, settings: Settings, model: bentoml.Model) -> Answers:
        require_database_location(settings)
        try:
            log = PredictionLog(
                settings.prediction_db,
                on_written=metrics.log_written_total.inc,
                on_backlog=metrics.log_backlog.set,
            )
        except PredictionLogConfigError as exc:  # a bad CHURN_PREDICTION_DB stops the server
            exit_on_fatal(exc)

        def read_state() -> serving_state.ServingState | None:
            with log.engine.connect() as conn:
                return serving_state.read_with(conn, settings.model_name)

        live = LiveModel(
            load(model), read_state, load_tag, on_switch=partial(_record_switch, settings)
        )
        answers = cls(settings, log, live)
        live.refresh()  # a serving_state row at start wins over the embedded model
        card = live.snapshot.champion.card
        metrics.record_model(card.model_version, card.model_type, card.trained_at.timestamp())
        live.start()
        return answers

    @property
    def ready(self) -> bool:
        """A model is loaded and the prediction log can write (not degraded)."""
        return self.live.snapshot is not None and self.log.ready

    def close(self) -> None:
        """Stop switching, score the queued shadow records, write every queued prediction."""
        self.live.stop()
        self.shadow.close()
        self.log.close()

    def _append(self, rows: list[dict[str, Any]]) -> None:
        """The shadow scorer's rows: dropped (and counted) when the log is full."""
        try:
            self.log.append(rows)
        except PredictionLogFull:
            raise RuntimeError("prediction log full: shadow rows dropped") from None

    def _log(self, rows: list[dict[str, Any]]) -> None:
        try:
            self.log.append(rows)
        except PredictionLogFull as exc:
            raise ServiceUnavailable(str(exc)) from None

    def _refuse_when_log_full(self) -> None:
        """A quick 503 (the guard adds Retry-After) before scoring what could not be logged."""
        if self.log.full:
            raise ServiceUnavailable("prediction log backlog is full; retry later")

    def _row(self, fields: dict[str, Any], request_id: str, created_at: datetime, version: str,
             probability: float, decision: bool, arm: str) -> dict[str, Any]:  # fmt: skip
        """One prediction log row; the customerID is stored as its keyed hash (churn.privacy)."""
        return {
            **fields,
            ID_COLUMN: customer_key(fields.get(ID_COLUMN), self.settings.customer_id_key),
            "request_id": request_id,
            "created_at": created_at,
            "model_version": version,
            "churn_probability": probability,
            "churn": decision,
            "arm": arm,
            "served": True,
        }

    def predictions(self, records: Sequence[CustomerRecord]) -> list[dict[str, Any]]:
        """Prediction dicts in the contract's shape, each from its arm's model, logged, counted."""
        snapshot = self.live.snapshot  # read once: this call ends on these models
        # validated pydantic fields as plain dicts (model_dump costs ~20 µs a record);
        # the encoder ignores customerID, the prediction log keeps its keyed hash
        self._refuse_when_log_full()
        fields = [r.__dict__ for r in records]
        routed = [snapshot.route(f.get(ID_COLUMN)) for f in fields]
        out: list[dict[str, Any]] = [{} for _ in fields]
        rows: list[dict[str, Any]] = []
        now, call_id = datetime.now(UTC), uuid.uuid4().hex
        for arm in {a for a, _ in routed}:
            index = [i for i, (a, _) in enumerate(routed) if a == arm]
            card = routed[index[0]][1].card
            probs = routed[index[0]][1].scorer.proba([fields[i] for i in index]).tolist()
            decisions = [p >= card.threshold for p in probs]
            for i, p, d in zip(index, probs, decisions, strict=True):
                out[i] = {
                    "churn_probability": p,
                    "churn": d,
                    "risk_band": risk_band(p),
                    "threshold": card.threshold,
                    "model_version": card.model_version,
                    "arm": arm,
                }
                request_id = call_id if len(fields) == 1 else f"{call_id}-{i}"
                rows.append(self._row(fields[i], request_id, now, card.model_version, p, d, arm))
            metrics.record_predictions(probs, decisions)
        self._log(rows)
        if snapshot.shadow is not None:
            self.shadow.submit(snapshot.shadow, fields, rows)
        return out

    def predict_one(self, customer: Customer) -> Prediction:
        """`/predict`: the single-record path (no arrays, one log row, two metric writes)."""
        snapshot = self.live.snapshot  # read once: this request ends on these models
        self._refuse_when_log_full()
        fields = customer.__dict__
        arm, model = snapshot.route(fields.get(ID_COLUMN))
        card = model.card
        p = model.scorer.proba_one(fields)
        decision = p >= card.threshold
        row = self._row(
            fields, uuid.uuid4().hex, datetime.now(UTC), card.model_version, p, decision, arm
        )
        self._log([row])
        if snapshot.shadow is not None:
            self.shadow.submit(snapshot.shadow, [fields], [row])
        metrics.record_predictions((p,), (decision,))
        return Prediction.model_construct(
            churn_probability=p,
            churn=decision,
            risk_band=risk_band(p),
            threshold=card.threshold,
            model_version=card.model_version,
            arm=arm,
        )

    def explain_one(self, customer: Customer) -> Explanation:
        """`/explain`: the probability and each input feature's contribution, largest first."""
        _, model = self.live.snapshot.route(customer.__dict__.get(ID_COLUMN))
        exp = model.scorer.explain(customer.features())
        return Explanation(
            churn_probability=exp.churn_probability,
            base_value=exp.base_value,
            method=exp.method,
            contributions=[Contribution(**vars(c)) for c in exp.contributions],
        )

    async def predict(
        self, customer: Customer | None, customer_id: str | None
    ) -> Prediction | Response:
        """`/predict`: the posted record, scored in the event loop (no I/O: a thread hop would
        cost more than the ~0.1 ms of work), or the customer's attributes from the online store
        (bentos/by_id.py), read in a thread, with `features_as_of`; scored and logged alike."""
        if customer_id is None:
            assert customer is not None  # OneCustomer: exactly one of the two
            return self.predict_one(customer)
        return await asyncio.to_thread(self._predict_by_id, customer_id)

    def _predict_by_id(self, customer_id: str) -> Response:
        try:
            (found,), (as_of,) = resolve([customer_id], self.settings)
        except Refused as refused:
            return refused.response
        answer = {**self.predict_one(found).__dict__, "features_as_of": as_of}
        return Response(pydantic_core.to_json(answer), media_type="application/json")

    def explain(self, customer: Customer | None, customer_id: str | None) -> Explanation | Response:
        """`/explain`: the posted record or the customer's attributes from the online store."""
        if customer_id is not None:
            try:
                (customer,), _ = resolve([customer_id], self.settings)
            except Refused as refused:
                return refused.response
        assert customer is not None  # OneCustomer: exactly one of the two
        return self.explain_one(customer)

    def predict_by_ids(self, ids: Sequence[str]) -> Response:
        """`/predict_ids`: the customers' attributes from the online store, then `predictions`."""
        try:
            customers, as_of = resolve(ids, self.settings, "customerIDs")
        except Refused as refused:
            return refused.response
        out = self.predictions(customers)
        for prediction, stamp in zip(out, as_of, strict=True):
            prediction["features_as_of"] = stamp
        return Response(batch_body(out), media_type="application/json")

    def model_info(self) -> ModelInfo:
        """`/model_info`: the card of the model this worker serves now, and the experiment."""
        snapshot = self.live.snapshot
        return card_info(snapshot.champion, CHAMPION, snapshot.describe())


def _record_switch(
    settings: Settings, old: Snapshot, new: Snapshot, state: serving_state.ServingState
) -> None:
    """On the poll thread: this worker's metrics; the audit row of the switch is written by the
    first worker of the service only (each worker switches, one row says the service did)."""
    before, after = old.champion.card, new.champion.card
    metrics.model_info.labels(model_version=before.model_version, model_type=before.model_type).set(
        0
    )
    metrics.record_model(after.model_version, after.model_type, after.trained_at.timestamp())
    if bentoml.server_context.worker_index not in (None, 1):
        return
    experiment = new.describe()
    reason = f"serving state: production {after.model_version} ({new.champion.tag})"
    if experiment["mode"] != "none":
        reason += f", {experiment['mode']} experiment with {experiment['challenger_version']}"
    record_audit(
        AuditEvent(
            action="switch",
            source="service",
            actor=f"{socket.gethostname()}/churn_service",
            model_name=settings.model_name,
            from_version=before.model_version,
            to_version=after.model_version,
            reason=reason,
        ),
        settings.prediction_db,
    )


def card_info(model: LoadedModel, arm: str, experiment: dict[str, Any]) -> ModelInfo:
    """Model name and version, MLflow run, training date, test metrics, threshold, schema."""
    card = model.card
    return ModelInfo(
        model_name=card.model_name,
        model_version=card.model_version,
        mlflow_run_id=card.mlflow_run_id,
        trained_at=card.trained_at.isoformat(),
        model_type=card.model_type,
        threshold=card.threshold,
        metrics=card.metrics,
        candidates=[c.model_dump(mode="json") for c in card.candidates],
        features=schema_description(),
        bentoml_tag=model.tag,
        arm=arm,
        experiment=experiment,
    )
