"""`churn_service`: the BentoML service in front of the production `telco_churn` model.

Run it with `make serve` (or `bentoml serve bentos.service:ChurnService`). API shapes are fixed
by docs/CONTRACT.md; the design choices and measurements are in docs/serving.md. Which model
answers follows the serving state live (bentos/live_model.py, docs/lifecycle.md): each request
reads one immutable snapshot (champion, challenger, experiment) and names the version and arm
that answered.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import bentoml
from bentoml.exceptions import ServiceUnavailable

from bentos import metrics, middleware, routes
from bentos.api_models import (
    BatchPredictions,
    Contribution,
    Customer,
    CustomerList,
    Explanation,
    ModelInfo,
    Prediction,
)
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
from churn.schema import (
    ID_COLUMN,
    CustomerRecord,
    risk_band,
    schema_description,
)
from churn.settings import get_settings

SETTINGS = get_settings()
KNOBS = SETTINGS.service
"""Workers, batching, overload and tracing (`churn.settings.ServiceKnobs`)."""


@bentoml.service(
    name=SETTINGS.bento_name,
    workers=KNOBS.service_workers,
    traffic={"timeout": 30},
    logging={"access": {"enabled": False}},
    tracing={"excluded_urls": [] if KNOBS.trace_api == "on" else [".*"]},
)
class ChurnService:
    """Churn probability, decision, risk band and explanations for Telco customers."""

    model_ref = bentoml.models.BentoModel(f"{SETTINGS.model_name}:latest")

    def __init__(self) -> None:
        require_database_location(SETTINGS)  # a start-up error, never a 500 per request
        embedded = load(self.model_ref)
        try:
            self.log = PredictionLog(
                SETTINGS.prediction_db,
                on_written=metrics.log_written_total.inc,
                on_backlog=metrics.log_backlog.set,
            )
        except PredictionLogConfigError as exc:  # a bad CHURN_PREDICTION_DB stops the server
            exit_on_fatal(exc)
        self.live = LiveModel(embedded, self._read_state, load_tag, on_switch=self._switched)
        self.live.refresh()  # a serving_state row at start wins over the embedded model
        card = self.live.snapshot.champion.card
        metrics.record_model(card.model_version, card.model_type, card.trained_at.timestamp())
        self.live.start()
        self.shadow = ShadowScorer(self._append)

    def _read_state(self) -> serving_state.ServingState | None:
        with self.log.engine.connect() as conn:
            return serving_state.read_with(conn, SETTINGS.model_name)

    def _switched(self, old: Snapshot, new: Snapshot, state: serving_state.ServingState) -> None:
        """On the poll thread: metrics and the audit row of this worker's switch."""
        before, after = old.champion.card, new.champion.card
        metrics.model_info.labels(
            model_version=before.model_version, model_type=before.model_type
        ).set(0)
        metrics.record_model(after.model_version, after.model_type, after.trained_at.timestamp())
        experiment = new.describe()
        reason = f"serving state: production {after.model_version} ({new.champion.tag})"
        if experiment["mode"] != "none":
            reason += f", {experiment['mode']} experiment with {experiment['challenger_version']}"
        record_audit(
            AuditEvent(
                action="switch",
                source="service",
                actor=f"{socket.gethostname()}/pid-{os.getpid()}",
                model_name=SETTINGS.model_name,
                from_version=before.model_version,
                to_version=after.model_version,
                reason=reason,
            ),
            SETTINGS.prediction_db,
        )

    def __is_ready__(self) -> bool:
        """Ready when a model is loaded and the prediction log can write (not degraded)."""
        return self.live.snapshot is not None and self.log.ready

    @bentoml.on_shutdown
    def close_prediction_log(self) -> None:
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
            model = routed[index[0]][1]
            card = model.card
            probs = model.scorer.proba([fields[i] for i in index]).tolist()
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
                rows.append(_row(fields[i], request_id, now, card.model_version, p, d, arm))
            metrics.record_predictions(probs, decisions)
        self._log(rows)
        if snapshot.shadow is not None:
            self.shadow.submit(snapshot.shadow, fields, rows)
        return out

    def _log(self, rows: list[dict[str, Any]]) -> None:
        try:
            self.log.append(rows)
        except PredictionLogFull as exc:
            raise ServiceUnavailable(str(exc)) from None

    def _refuse_when_log_full(self) -> None:
        """A quick 503 (the middleware adds Retry-After) before scoring what could not be logged."""
        if self.log.full:
            raise ServiceUnavailable("prediction log backlog is full; retry later")

    def predict_one(self, customer: Customer) -> Prediction:
        """`/predict`'s answer (bentos/routes.py), logged and counted."""
        snapshot = self.live.snapshot  # read once: this request ends on these models
        # the single-record path: no arrays, one log row, two metric writes (docs/serving.md)
        self._refuse_when_log_full()
        fields = customer.__dict__
        arm, model = snapshot.route(fields.get(ID_COLUMN))
        card = model.card
        p = model.scorer.proba_one(fields)
        decision = p >= card.threshold
        row = _row(
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

    def model_info_body(self) -> bytes:
        """`GET /model_info`: the card of the model this worker serves now, and the experiment."""
        snapshot = self.live.snapshot
        body = model_info(snapshot.champion).model_dump(mode="json")
        body["arm"] = CHAMPION
        body["experiment"] = snapshot.describe()
        return json.dumps(body).encode()

    @bentoml.api(
        route="/predict_batch",
        batchable=KNOBS.batching == "on",
        max_batch_size=KNOBS.batch_max_size,
        max_latency_ms=KNOBS.batch_max_latency_ms,
        output_spec=BatchPredictions,
    )
    async def predict_batch(self, customers: CustomerList) -> list[dict[str, Any]]:
        """One prediction per record, in order (1..1000 records; concurrent requests are merged).

        Reached only through bentos/routes.py, which has validated the body and answers big
        batches itself: what comes here is for the adaptive batcher to merge."""
        return self.predictions(customers)

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


def _row(
    fields: dict[str, Any],
    request_id: str,
    created_at: datetime,
    version: str,
    probability: float,
    decision: bool,
    arm: str,
) -> dict[str, Any]:
    """One prediction log row; the customerID is stored as its keyed hash (churn.privacy)."""
    return {
        **fields,
        ID_COLUMN: customer_key(fields.get(ID_COLUMN), SETTINGS.customer_id_key),
        "request_id": request_id,
        "created_at": created_at,
        "model_version": version,
        "churn_probability": probability,
        "churn": decision,
        "arm": arm,
        "served": True,
    }


def model_info(model: LoadedModel) -> ModelInfo:
    """Model name and version, MLflow run, training date, test metrics, threshold, schema."""
    card = model.card
    candidates: list[dict[str, Any]] = [c.model_dump(mode="json") for c in card.candidates]
    return ModelInfo(
        model_name=card.model_name,
        model_version=card.model_version,
        mlflow_run_id=card.mlflow_run_id,
        trained_at=card.trained_at.isoformat(),
        model_type=card.model_type,
        threshold=card.threshold,
        metrics=card.metrics,
        candidates=candidates,
        features=schema_description(),
        bentoml_tag=model.tag,
    )


ChurnService.add_asgi_middleware(  # type: ignore[attr-defined]
    middleware.ContractGuard, max_in_flight=KNOBS.max_in_flight
)
ChurnService.add_asgi_middleware(  # type: ignore[attr-defined]
    routes.ServiceRoutes, service=ChurnService, batch_direct_records=KNOBS.batch_direct_records
)
"""The guard (request policy), then the project's routes (bentos/routes.py); BentoML's app
answers what they pass on: health, `/metrics`, the UI, and small batches for the batcher."""
