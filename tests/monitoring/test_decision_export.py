"""Decision rules and the files other parts read (Prometheus textfile, history.jsonl)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from churn.monitoring.decision import ColumnDrift, DriftDecision, decide, too_few_rows
from churn.monitoring.export import append_history, read_history, report_path
from churn.monitoring.stattests import is_drifted
from steps.monitoring.prometheus import push_metrics, write_metrics


def _cols(drifted: set[str], n: int = 19) -> list[ColumnDrift]:
    names = [f"f{i}" for i in range(n - len(drifted))] + sorted(drifted)
    return [
        ColumnDrift(c, "wasserstein", 0.25, 0.4 if c in drifted else 0.05, c in drifted)
        for c in names
    ]


def test_score_direction_depends_on_the_method() -> None:
    assert is_drifted("wasserstein", 0.3, 0.25) and not is_drifted("wasserstein", 0.2, 0.25)
    assert is_drifted("ks", 0.01, 0.05) and not is_drifted("ks", 0.2, 0.05)


def test_features_are_ordered_by_how_far_past_their_threshold() -> None:
    cols = [
        ColumnDrift("tenure", "wasserstein", 0.25, 0.30, True),  # 1.2x
        ColumnDrift("Contract", "jensenshannon", 0.15, 0.30, True),  # 2x
        ColumnDrift("x", "ks", 0.05, 0.001, True),  # 50x
    ]
    assert decide(cols, None, 0.05, 10).drifted_features == ["x", "Contract", "tenure"]


def test_no_drift_below_the_share() -> None:
    decision = decide(_cols(set()), None, 0.05, 1500)
    assert decision.drift_detected is False
    assert decision.drift_share == 0.0
    assert decision.reasons[0].startswith("no drift")


def test_drift_names_the_features_most_moved_first() -> None:
    cols = [*_cols({"MonthlyCharges"}), ColumnDrift("tenure", "wasserstein", 0.25, 0.9, True)]
    decision = decide(cols, None, 0.05, 1500)
    assert decision.drift_detected is True
    assert decision.drifted_features == ["tenure", "MonthlyCharges"]
    assert "tenure (wasserstein 0.900 vs 0.25)" in decision.reasons[0]


def test_prediction_drift_alone_is_drift() -> None:
    pred = ColumnDrift("prediction", "wasserstein", 0.1, 0.2, True)
    decision = decide(_cols(set()), pred, 0.5, 1500)
    assert decision.drift_detected is True
    assert decision.drifted_features == []
    assert "predicted churn probability drifted" in decision.reasons[0]


def test_evidently_share_is_used_when_given() -> None:
    decision = decide(_cols({"a"}), None, 0.3, 1500, share=0.4)
    assert decision.drift_detected is True and decision.drift_share == 0.4


def test_too_few_rows_makes_no_decision() -> None:
    decision = too_few_rows(12, 500)
    assert decision.drift_detected is None
    assert "too few live rows: 12 < min_rows 500" in decision.reasons[0]


def test_round_trip() -> None:
    decision = decide(_cols({"x"}), ColumnDrift("prediction", "psi", 0.1, 0.01, False), 0.05, 9)
    assert DriftDecision.from_dict(decision.to_dict()) == decision


def test_metrics_textfile_parses_with_contract_names(tmp_path: Path) -> None:
    decision = decide(_cols({"x", "y"}), None, 0.05, 1000)
    decision = decision.model_copy(update={"timestamp": 1_700_000_000.5})  # frozen artifact
    path = write_metrics(tmp_path, decision)
    assert path == tmp_path / "drift" / "metrics.prom"
    values = {
        s.name: s.value
        for fam in text_string_to_metric_families(path.read_text())
        for s in fam.samples
    }
    assert values == {
        "churn_drift_share": round(2 / 19, 6),
        "churn_drift_detected": 1.0,
        "churn_drift_last_run_timestamp_seconds": 1_700_000_000.5,
    }
    write_metrics(tmp_path, too_few_rows(3, 500))
    assert "churn_drift_detected 0.0\n" in path.read_text()
    assert not list(path.parent.glob(".metrics.prom.*")), "temp files must be renamed away"


def test_history_appends_one_object_per_run(tmp_path: Path) -> None:
    first = decide(_cols({"x"}), None, 0.05, 1000)
    first = first.model_copy(update={"report_path": "r1.html", "timestamp": 1_700_000_000.0})
    append_history(tmp_path, first)
    append_history(tmp_path, too_few_rows(3, 500))
    rows = read_history(tmp_path)
    assert [r["drift_detected"] for r in rows] == [True, None]
    assert set(rows[0]) == {
        "timestamp",
        "drift_detected",
        "drift_share",
        "drift_share_threshold",
        "drifted_features",
        "n_rows",
        "report_path",
    }
    assert rows[0]["drift_share_threshold"] == 0.05  # the dashboard draws its line here
    assert rows[0]["timestamp"].startswith("2023-11-14T22:13:20")
    assert rows[0]["drifted_features"] == ["x"]


def test_report_names_are_timestamped(tmp_path: Path) -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert report_path(tmp_path, when).name == "drift_report_20260102T030405_000006Z.html"


def test_metrics_are_pushed_to_a_pushgateway_on_loopback() -> None:
    received: list[tuple[str, str, bytes]] = []

    class Gateway(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.command, self.path, body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    decision = decide(_cols({"x"}), None, 0.05, 1000)
    decision = decision.model_copy(update={"timestamp": 1_700_000_000.0})
    push_metrics(f"http://127.0.0.1:{server.server_port}/", decision)
    thread.join(timeout=10)
    server.server_close()
    assert received[0][:2] == ("PUT", "/metrics/job/churn-monitoring")
    samples = {
        s.name: s.value
        for fam in text_string_to_metric_families(received[0][2].decode())
        for s in fam.samples
    }
    assert samples["churn_drift_detected"] == 1.0


def test_an_unreachable_pushgateway_is_an_oserror() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(OSError):
        push_metrics(f"http://127.0.0.1:{port}", too_few_rows(3, 500), timeout_s=2)
