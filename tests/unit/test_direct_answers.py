"""bentos/direct.py's pure parts: which requests the guard answers, and its error answers.

The answers themselves are compared with BentoML's dispatch over HTTP in
tests/serving/test_direct_routes.py; these cover the branches a live service does not reach
(an unexpected exception, a BentoML 4xx, an authorization error)."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import ClassVar

import pytest
from bentoml.exceptions import BentoMLException, InvalidArgument, NotFound, ServiceUnavailable
from pydantic import BaseModel, ValidationError

from bentos.direct import GENERIC_500, DirectRoutes, error_answer


class _Api:
    def __init__(self, spec: type[BaseModel]) -> None:
        self.input_spec = spec


class _Service:
    name = "svc"
    apis: ClassVar[dict[str, _Api]] = {"predict": _Api(BaseModel), "predict_batch": _Api(BaseModel)}


def test_which_requests_are_answered_directly() -> None:
    routes = DirectRoutes(_Service, batch_direct_records=3)
    assert routes.takes("/predict", None)
    assert routes.takes("/predict_batch", {"customers": [{}, {}, {}]})
    assert not routes.takes("/predict_batch", {"customers": [{}, {}]})
    assert not routes.takes("/predict_batch", {"customers": "x" * 10})
    assert not routes.takes("/predict_batch", [1, 2, 3])
    assert not routes.takes("/explain", None)
    assert routes.server_header == b"BentoML Service/svc"


def test_a_validation_error_is_a_400_with_pydantic_errors() -> None:
    class Input(BaseModel):
        n: int

    with pytest.raises(ValidationError) as caught:
        Input.model_validate_json(b'{"n": "x"}')
    status, body = error_answer(caught.value)
    data = json.loads(body)
    assert status == 400
    assert data["error"] == "1 validation error for Input"
    assert [d["loc"] for d in data["detail"]] == [["n"]]
    assert "input" not in data["detail"][0] and "ctx" not in data["detail"][0]
    assert body == json.dumps(data, separators=(",", ":")).encode()  # compact, as Starlette's


@pytest.mark.parametrize(
    ("exc", "status", "message"),
    [
        (ServiceUnavailable("log full"), 503, GENERIC_500),
        (InvalidArgument("bad thing"), 400, "bad thing"),
        (NotFound("gone"), 404, "gone"),
        (BentoMLException("who", error_code=HTTPStatus.UNAUTHORIZED), 401, "Authorization error"),
        (RuntimeError("boom"), 500, GENERIC_500),
    ],
)
def test_other_errors_answer_as_bentoml_does(exc: Exception, status: int, message: str) -> None:
    got_status, body = error_answer(exc)
    assert got_status == status
    assert json.loads(body) == {"error": message}
    assert b"boom" not in body and b"log full" not in body  # no internals on a 5xx
