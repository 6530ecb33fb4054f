"""The no-BentoML ceiling: bare Starlette under uvicorn, same `Customer` check, constant answer.

`python benchmarks/serving/ceiling_starlette.py PORT WORKERS` (uvicorn workers, access log off).
It measures what uvicorn + one pydantic validation cost per request without BentoML's dispatch
(middlewares, context, serde), i.e. the bound for answering `/predict` outside BentoML.
"""

from __future__ import annotations

import sys

import uvicorn
from pydantic import BaseModel, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bentos.api_models import Customer, Prediction


class PredictRequest(BaseModel):
    customer: Customer


BODY = Prediction.model_construct(
    churn_probability=0.5, churn=True, risk_band="medium", threshold=0.5, model_version="ceiling"
).model_dump_json()


async def predict(request: Request) -> Response:
    try:
        PredictRequest.model_validate_json(await request.body())
    except ValidationError as exc:
        return JSONResponse({"error": "invalid", "detail": exc.errors()}, status_code=400)
    return Response(BODY, media_type="application/json")


async def readyz(request: Request) -> Response:
    return Response("ok")


app = Starlette(routes=[Route("/predict", predict, methods=["POST"]), Route("/readyz", readyz)])

if __name__ == "__main__":
    uvicorn.run(
        "benchmarks.serving.ceiling_starlette:app",
        host="127.0.0.1",
        port=int(sys.argv[1]),
        workers=int(sys.argv[2]),
        access_log=False,
        log_level="warning",
        timeout_worker_healthcheck=120,  # a worker imports for >5 s on the busy 2-core machine
    )
