"""Replay a customer CSV through the churn service at a steady rate, to watch drift appear.

    churn generate --rows 2000 --drift price_rise --seed 7 --out /tmp/price_rise.csv
    python load_tests/replay.py /tmp/price_rise.csv --rate 2 --batch-size 100
    churn monitor        # or watch the dashboard

HTTP only (the service's `/predict_batch`, or `/predict` with `--batch-size 1`). Loopback only,
bounded by `--max-requests` and `--max-seconds`. Prints one JSON summary line on stdout.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import requests

from churn.schema import FEATURE_NAMES, MAX_BATCH_RECORDS, validate_rows

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
MAX_SECONDS_CAP = 3600.0


class ReplayError(ValueError):
    """Bad input to the replay: names the argument or the CSV cell."""


@dataclass
class ReplaySummary:
    url: str
    records_sent: int = 0
    records_ok: int = 0
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    stopped_by: str = "end of file"
    last_error: str | None = None


def read_customers(path: Path) -> list[dict[str, Any]]:
    """Customer records from a Telco CSV (the `Churn` column, if any, is not sent).

    Rows are checked by `churn.schema.validate_rows`, so what is sent is what the service accepts;
    a file with bad rows is refused, naming their lines.
    """
    if not path.exists():
        raise ReplayError(f"no such CSV: {path}")
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [name for name in FEATURE_NAMES if name not in (reader.fieldnames or [])]
        if missing:
            raise ReplayError(f"{path}: missing column(s) {missing}")
        valid, problems = validate_rows(reader)
    if problems:
        shown = "; ".join(f"line {p.line}: {p.reason}" for p in problems[:3])
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise ReplayError(f"{path}: {len(problems)} invalid row(s): {shown}{more}")
    if not valid:
        raise ReplayError(f"{path}: no customer rows")
    return [row.record.model_dump(exclude_none=True) for row in valid]


def check_loopback(url: str) -> str:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or parsed.hostname not in LOOPBACK:
        raise ReplayError(f"--url must be a loopback http URL (127.0.0.1/localhost), got {url!r}")
    return url.rstrip("/")


def batches(records: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(records), size):
        yield records[start : start + size]


def replay(
    records: list[dict[str, Any]],
    url: str,
    rate: float,
    batch_size: int = 100,
    max_requests: int = 1000,
    max_seconds: float = 600.0,
    timeout: float = 30.0,
    token: str | None = None,
) -> ReplaySummary:
    """Send `records` in requests of `batch_size`, `rate` requests per second, within the bounds.

    `token` is the service's bearer token; by default `CHURN_API_TOKEN` (settings, `.env`)."""
    url = check_loopback(url)
    if token is None:
        from churn.settings import Settings

        token = Settings().api_token
    summary = ReplaySummary(url=url)
    started = time.monotonic()
    interval = 1.0 / rate
    with requests.Session() as session:
        if token:
            session.headers["Authorization"] = f"Bearer {token}"
        for i, chunk in enumerate(batches(records, batch_size)):
            if summary.requests >= max_requests:
                summary.stopped_by = "max_requests"
                break
            wait = started + i * interval - time.monotonic()
            if time.monotonic() - started + max(wait, 0) > max_seconds:
                summary.stopped_by = "max_seconds"
                break
            if wait > 0:
                time.sleep(wait)
            body: dict[str, Any]
            if batch_size == 1:
                endpoint, body = "/predict", {"customer": chunk[0]}
            else:
                endpoint, body = "/predict_batch", {"customers": chunk}
            summary.requests += 1
            summary.records_sent += len(chunk)
            try:
                resp = session.post(url + endpoint, json=body, timeout=timeout)
            except requests.RequestException as exc:
                summary.errors += 1
                summary.last_error = f"{type(exc).__name__}: {exc}"
                continue
            if resp.status_code == 200:
                summary.records_ok += len(chunk)
            else:
                summary.errors += 1
                summary.last_error = f"HTTP {resp.status_code}: {resp.text[:300]}"
    summary.seconds = round(time.monotonic() - started, 3)
    return summary


def _positive(kind: type, cap: float | None = None) -> Any:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value <= 0 or (cap is not None and value > cap):
            raise argparse.ArgumentTypeError(f"must be in (0, {cap or 'inf'}], got {text}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("csv", type=Path, help="customers in the Telco CSV layout")
    parser.add_argument(
        "--url",
        default=None,
        help="service URL (loopback only; default: the settings' CHURN_SERVICE_URL)",
    )
    parser.add_argument("--rate", type=_positive(float, 1000), default=2.0, help="requests/s")
    parser.add_argument(
        "--batch-size",
        type=_positive(int, MAX_BATCH_RECORDS),
        default=100,
        help="records per /predict_batch request (1: use /predict)",
    )
    parser.add_argument("--max-requests", type=_positive(int), default=1000)
    parser.add_argument("--max-seconds", type=_positive(float, MAX_SECONDS_CAP), default=600.0)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        records = read_customers(args.csv)
        from churn.settings import Settings

        url = args.url or Settings().service_url
        summary = replay(
            records, url, args.rate, args.batch_size, args.max_requests, args.max_seconds
        )
    except ReplayError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    print(json.dumps(asdict(summary)))
    return 0 if summary.errors == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
