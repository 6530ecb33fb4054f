"""The pages: home, score one customer, batch scoring, model info, health."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    render_template,
    request,
    send_file,
    url_for,
)

from churn.schema import EXAMPLE_RECORD, FEATURE_NAMES, FEATURES, ID_COLUMN
from frontends.common.client import ChurnClient, ServiceRejected, ServiceUnavailable
from frontends.common.records import ParsedCustomers, UploadError, parse_csv
from frontends.flask_app.auth import requires
from frontends.flask_app.batch_store import BatchStore
from frontends.flask_app.charts import driver_chart
from frontends.flask_app.csv_safety import neutralise
from frontends.flask_app.forms import BatchForm, CustomerForm

bp = Blueprint("ui", __name__)

RESULT_COLUMNS = ["line", ID_COLUMN, "churn_probability", "churn", "risk_band"]


def service() -> ChurnClient:
    client: ChurnClient = current_app.extensions["churn_client"]
    return client


def batch_store() -> BatchStore:
    store: BatchStore = current_app.extensions["churn_batch_store"]
    return store


@bp.get("/")
def home() -> str:
    client = service()
    ready = client.is_ready()
    info: dict[str, Any] | None = None
    problem = ""
    if ready:
        try:
            info = client.model_info()
        except (ServiceUnavailable, ServiceRejected) as exc:
            problem = exc.message
    return render_template(
        "index.html", ready=ready, info=info, problem=problem, service_url=client.base_url
    )


Page = tuple[str, int] | str


def _form_page(template: str, form: Any, handle: Callable[[Any], Page], **context: Any) -> Page:
    """GET: the page with the form; POST: `handle(form)`, for an analyst and a valid form (an
    invalid one gets the page again, with its errors, as 400)."""
    if not _is_post():
        return render_template(template, form=form, **context)
    return _posted(template, form, handle, **context)


@requires("analyst")
def _posted(template: str, form: Any, handle: Callable[[Any], Page], **context: Any) -> Page:
    if not form.validate_on_submit():
        return render_template(template, form=form, **context), 400
    return handle(form)


@bp.route("/score", methods=["GET", "POST"])
def score() -> Page:
    form = CustomerForm(data=None if _is_post() else EXAMPLE_RECORD)
    return _form_page("score.html", form, _score_customer, features=FEATURES)


def _score_customer(form: Any) -> Page:
    record = form.record()
    client = service()
    try:
        prediction = client.predict(record)
        explanation = client.explain(record)
    except ServiceRejected as exc:
        for err in exc.detail:
            form.add_error(err.field, err.msg)
        if not exc.detail:
            form.add_error("", exc.message)
        return render_template("score.html", form=form, features=FEATURES), 400
    chart = driver_chart(explanation.get("contributions", []))
    return render_template(
        "result.html",
        record=record,
        prediction=prediction,
        explanation=explanation,
        chart=chart,
    )


@bp.route("/batch", methods=["GET", "POST"])
def batch() -> Page:
    return _form_page("batch.html", BatchForm(), _score_upload, columns=FEATURE_NAMES)


def _score_upload(form: BatchForm) -> Page:
    cfg = current_app.config
    try:
        parsed = parse_csv(form.file.data.read(), max_rows=cfg["MAX_UPLOAD_ROWS"])
    except UploadError as exc:
        form.file.errors = [*form.file.errors, str(exc)]
        return render_template("batch.html", form=form, columns=FEATURE_NAMES), 400
    scored = _score_parsed(parsed)
    token = batch_store().save(neutralise(scored).to_csv(index=False)) if not scored.empty else ""
    shown = scored.head(cfg["RESULT_ROWS_SHOWN"])
    return render_template(
        "batch_result.html",
        rows=shown.to_dict("records"),
        n_scored=len(scored),
        n_shown=len(shown),
        problems=parsed.problems,
        ignored=parsed.ignored_columns,
        token=token,
        at_risk=int(scored["churn"].sum()) if not scored.empty else 0,
    )


def _score_parsed(parsed: ParsedCustomers) -> pd.DataFrame:
    """Score the valid rows; the result keeps the input columns and is sorted by risk."""
    if not parsed.records:
        return pd.DataFrame(columns=[*RESULT_COLUMNS, *FEATURE_NAMES])
    predictions = service().predict_many(
        parsed.records, chunk_size=current_app.config["MAX_BATCH_RECORDS"]
    )
    frame = pd.DataFrame(parsed.records)
    if ID_COLUMN not in frame.columns:
        frame[ID_COLUMN] = ""
    frame[ID_COLUMN] = frame[ID_COLUMN].fillna("")
    frame.insert(0, "line", parsed.lines)
    frame["churn_probability"] = [round(float(p["churn_probability"]), 4) for p in predictions]
    frame["churn"] = [bool(p["churn"]) for p in predictions]
    frame["risk_band"] = [p["risk_band"] for p in predictions]
    ordered = [*RESULT_COLUMNS, *FEATURE_NAMES]
    return frame[ordered].sort_values("churn_probability", ascending=False, kind="stable")


@bp.get("/batch/<token>.csv")
@requires("analyst")
def download(token: str) -> Response:
    path = batch_store().path(token)
    if path is None:
        abort(404)
    return send_file(
        path, mimetype="text/csv", as_attachment=True, download_name="churn_scores.csv"
    )


@bp.get("/model")
def model() -> str:
    info = service().model_info()
    return render_template("model.html", info=info, schema=[f.describe() for f in FEATURES])


@bp.get("/healthz")
def healthz() -> Response:
    """The app's own liveness: 200 while the app runs, whatever the service's state."""
    return jsonify(status="ok", service_ready=service().is_ready(), home=url_for("ui.home"))


def _is_post() -> bool:
    return request.method == "POST"
