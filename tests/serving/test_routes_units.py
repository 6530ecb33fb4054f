"""The error contract (bentos/errors.py) and the route declarations (bentos/routes.py) as parts.

Over HTTP the same answers are checked on the live service (tests/serving/test_service_http.py,
tests/security/test_security_hostile_service.py); these cover the bounds on inputs too costly to
send there and the branches a live service does not reach (a framework body over 1 MB)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from bentos import errors, middleware
from bentos.api_models import Customers, OneCustomer
from bentos.auth import needed_scope
from churn.schema import EXAMPLE_RECORD


def _refused(model: Any, body: Any) -> dict[str, Any]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate_json(json.dumps(body))
    out = json.loads(errors.validation_body(caught.value))
    assert set(out) == {"error", "detail"}
    assert all(set(d) == {"loc", "msg"} and d["msg"] for d in out["detail"])
    return out


def test_thirty_thousand_unknown_fields_name_the_first_and_count_the_rest() -> None:
    record = {**EXAMPLE_RECORD, **{f"extra{i}": i for i in range(30_000)}}
    out = _refused(OneCustomer, {"customer": record})
    assert out["error"] == "invalid request: 30000 problems"
    assert len(out["detail"]) == errors.MAX_ERRORS + 1
    assert out["detail"][0] == {
        "loc": ["customer", "extra0"],
        "msg": "unknown field: not part of the schema",
    }
    assert out["detail"][-1] == {"loc": [], "msg": "29980 more errors not shown (first 20 above)"}


def test_a_thousand_invalid_records_name_the_first_and_count_the_rest() -> None:
    out = _refused(Customers, {"customers": [{**EXAMPLE_RECORD, "tenure": "x"}] * 1000})
    assert out["error"] == "invalid request: 1000 problems"
    assert out["detail"][3]["loc"] == ["customers", 3, "tenure"]
    assert "1000" not in json.dumps(out["detail"][:-1])  # no record beyond the first 20 listed


def test_whole_body_problems_name_the_body() -> None:
    assert _refused(OneCustomer, [EXAMPLE_RECORD])["detail"][0]["loc"] == ["body"]
    for neither in ({}, {"customerID": None}, {"customer": None}):  # the record or an ID, not none
        (problem,) = _refused(OneCustomer, neither)["detail"]
        assert problem["loc"] == ["body"] and '"customer"' in problem["msg"], neither
    other = _refused(OneCustomer, {"customer": EXAMPLE_RECORD, "other": 1})
    assert other["detail"] == [{"loc": ["other"], "msg": "unknown field: not part of the schema"}]
    inconsistent = _refused(OneCustomer, {"customer": {**EXAMPLE_RECORD, "MultipleLines": "Yes"}})
    assert "MultipleLines" in inconsistent["detail"][0]["msg"]


def test_error_lists_are_bounded_and_names_cut() -> None:
    body = errors.error_body("e", [(["customer", "k" * 10_000], "m" * 5000)] * 250)
    out = json.loads(body)
    assert len(out["detail"]) == errors.MAX_ERRORS + 1
    assert out["detail"][-1]["msg"].startswith("230 more errors")
    first = out["detail"][0]
    assert len(first["loc"][1]) < 100 and "(10000 chars)" in first["loc"][1]
    assert len(first["msg"]) < 400


def _bentoml_400(n: int) -> bytes:
    """A body in the shape BentoML's endpoint wrapper gives a pydantic error."""
    detail = [
        {"type": "int_parsing", "loc": ["customers", i, "tenure"], "msg": "bad", "url": "u" * 80}
        for i in range(n)
    ]
    return json.dumps({"error": f"{n} validation errors for Input", "detail": detail}).encode()


def test_framework_answers_are_reshaped_even_past_a_megabyte() -> None:
    small = json.loads(errors.reshape(400, _bentoml_400(3), len(_bentoml_400(3))))
    assert small["detail"][2] == {"loc": ["customers", 2, "tenure"], "msg": "bad"}
    raw = _bentoml_400(20_000)
    assert len(raw) > errors.MAX_INSIDE_ERROR_BYTES
    big = json.loads(errors.reshape(400, raw[: errors.MAX_INSIDE_ERROR_BYTES], len(raw)))
    assert big["error"] == "invalid request: 20000 problems"
    assert big["detail"][0]["loc"] == ["customers", 0, "tenure"]
    assert big["detail"][-1]["msg"].startswith("19980 more errors")
    text = json.loads(errors.reshape(404, b"Not Found", 9))
    assert text == {"error": "not found", "detail": [{"loc": ["path"], "msg": "Not Found"}]}
    ours = errors.one_error("bad request", ["body"], "x")
    assert errors.reshape(400, ours, len(ours)) == ours  # already in the contract: unchanged


def test_json_syntax_errors_name_the_position() -> None:
    parsed, bad = middleware.strict_json(b'{"customer": {')
    assert parsed is middleware.NOT_PARSED and bad is not None
    out = json.loads(bad)
    assert out["detail"][0]["loc"] == ["body"] and "char 14" in out["detail"][0]["msg"]


def test_redirects_never_carry_the_requests_host() -> None:
    assert middleware.relative(b"http://evil.example:3000/predict?x=1") == b"/predict?x=1"
    assert middleware.relative(b"//evil.example/predict") == b"/predict"
    assert middleware.relative(b"/predict") == b"/predict"


def test_the_guard_and_the_token_scopes_are_read_from_the_declarations() -> None:
    from bentos.service import ROUTES, ChurnService

    guard = middleware.ContractGuard(lambda *a: None, routes=ROUTES, max_in_flight=1, auth=None)
    assert guard.methods == {
        "/predict": ("POST",), "/predict_batch": ("POST",), "/explain": ("POST",),
        "/model_info": ("GET", "POST"), "/outcomes": ("POST",), "/predict_ids": ("POST",),
    }  # fmt: skip
    scopes = ROUTES.scopes()
    assert needed_scope("/outcomes", False, scopes) == "admin"
    assert needed_scope("//predict/", False, scopes) == "predict"
    assert needed_scope("/docs.json", False, scopes) == "predict"  # closed by default
    assert needed_scope("/readyz", True, scopes) is None
    assert ROUTES.wholes == {"/predict_batch": "/predict_batch/whole"}  # its unbatched twin
    twins = {"predict_batch_whole": "/predict_batch/whole"}
    assert {r.handler: r.path for r in ROUTES} | twins == {
        name: api.route for name, api in ChurnService.apis.items()
    }
