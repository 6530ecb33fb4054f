"""load_tests/replay.py: input checks, loopback only, bounded, against a tiny loopback server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from churn.generator import generate, to_csv_text
from load_tests.replay import ReplayError, check_loopback, main, read_customers, replay


class _Recorder(BaseHTTPRequestHandler):
    bodies: ClassVar[list[tuple[str, Any]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.bodies.append((self.path, body))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture()
def server() -> Iterator[str]:
    _Recorder.bodies = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture()
def customers_csv(tmp_path: Path) -> Path:
    path = tmp_path / "customers.csv"
    path.write_text(to_csv_text(generate(250, seed=3)))
    return path


def test_records_match_the_schema(customers_csv: Path) -> None:
    records = read_customers(customers_csv)
    assert len(records) == 250
    first = records[0]
    assert "Churn" not in first and isinstance(first["tenure"], int)
    assert isinstance(first["MonthlyCharges"], float) and isinstance(first["SeniorCitizen"], int)
    assert all(r["TotalCharges"] == 0.0 for r in records if r["tenure"] == 0)


def test_bad_inputs_name_the_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("customerID,gender\nx,Male\n")
    with pytest.raises(ReplayError, match=r"missing column\(s\) \['SeniorCitizen'"):
        read_customers(bad)
    with pytest.raises(ReplayError, match="no such CSV"):
        read_customers(tmp_path / "nope.csv")
    with pytest.raises(ReplayError, match="loopback"):
        check_loopback("http://10.0.0.1:3000")
    with pytest.raises(ReplayError, match="loopback"):
        check_loopback("http://example.com")


def test_batches_are_sent_and_bounded(server: str, customers_csv: Path) -> None:
    records = read_customers(customers_csv)
    summary = replay(records, server, rate=50, batch_size=100)
    assert (summary.requests, summary.records_ok, summary.errors) == (3, 250, 0)
    assert [len(body["customers"]) for _, body in _Recorder.bodies] == [100, 100, 50]
    assert {path for path, _ in _Recorder.bodies} == {"/predict_batch"}

    _Recorder.bodies = []
    summary = replay(records, server, rate=50, batch_size=1, max_requests=7)
    assert summary.stopped_by == "max_requests" and summary.requests == 7
    assert _Recorder.bodies[0][0] == "/predict" and "customer" in _Recorder.bodies[0][1]


def test_rate_is_kept(server: str, customers_csv: Path) -> None:
    summary = replay(read_customers(customers_csv), server, rate=10, batch_size=50)
    assert summary.requests == 5 and summary.seconds >= 0.39  # 5 requests at 10/s: t=0..0.4


def test_cli_prints_one_json_line(
    server: str, customers_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(customers_csv), "--url", server, "--rate", "100"]) == 0
    assert json.loads(capsys.readouterr().out)["records_ok"] == 250
    assert main([str(customers_csv), "--url", "http://192.168.1.1:3000"]) == 2
    assert "loopback" in capsys.readouterr().err
