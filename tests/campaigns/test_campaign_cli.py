"""`churn campaign` as a user types it, with the session's production model (trained once by
the pipeline's own code), on SQLite and on a real PostgreSQL server: plan, simulated outcomes
imported through `churn outcomes import`, report, learn, an uplift plan, close; and bad input
refused with a one-line error and nothing written."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

import churn.campaigns.plan as plan_module
from churn.cli import main
from churn.db.campaigns import engine_for, treated_customers
from churn.privacy import HASH_PREFIX
from churn.settings import get_settings
from tests.fixtures.db_faults import break_inserts, count_rows, repair_inserts
from tests.fixtures.training import TrainedModel

pytestmark = [pytest.mark.integration, pytest.mark.slow]
EFFECTS = [
    "--segment-effect",
    "InternetService=DSL:0.6",
    "--segment-effect",
    "InternetService=Fiber optic:-0.2",
]
REPORT_KEYS = {
    "treated", "control", "uplift", "uplift_ci_low", "uplift_ci_high", "customers_saved",
    "net_value", "precision_top_n",
}  # fmt: skip


# The control group is drawn by a salted hash, the salt new per campaign, so which customers are
# held out differs from run to run, and a 95% interval misses the simulated truth in about one
# run in twenty-five (docs/campaigns.md): the suite fixes the salt, so its coverage check is the
# same every run instead of a coin that fails the suite now and then.
FIXED_SALT = "5a1f00d5a1f00d5a1f00d5a1f00d5a1f"


@pytest.fixture()
def keyed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Customer IDs stored as keyed hashes, as in production (docs/security.md); one salt."""
    monkeypatch.setattr(plan_module, "secrets", SimpleNamespace(token_hex=lambda n: FIXED_SALT))
    monkeypatch.setenv("CHURN_CUSTOMER_ID_KEY", "campaign-test-key")
    get_settings.cache_clear()
    yield
    monkeypatch.delenv("CHURN_CUSTOMER_ID_KEY")
    get_settings.cache_clear()


def _counts(url: str) -> tuple[int, int, int]:
    return tuple(  # type: ignore[return-value]
        count_rows(url, f"select count(*) from {t}")
        for t in ("campaigns", "campaign_assignments", "audit_log")
    )


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_campaign_end_to_end(
    trained_model: TrainedModel,
    migrated_db_url: str,
    keyed: None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    customers = str(trained_model.data_path)
    contacts = tmp_path / "contacts.csv"
    db = ("--db", migrated_db_url)
    code, _, err = _run(
        capsys, "campaign", "plan", "spring", "--customers", customers, "--budget", "3000",
        "--control-share", "0.5", "--out", str(contacts), "--actor", "ana", *db,
    )  # fmt: skip
    assert code == 0, err
    plan = pd.read_csv(contacts)
    assert list(plan.columns[:5]) == [
        "rank",
        "customerID",
        "arm",
        "churn_probability",
        "expected_value",
    ]
    assert len(plan) == 3000 and list(plan["rank"]) == list(range(1, 3001))
    assert plan["expected_value"].is_monotonic_decreasing
    assert plan["expected_value"].iloc[0] == pytest.approx(
        plan["churn_probability"].iloc[0] * 150 - 50, abs=1e-3
    )
    n_control = int((plan["arm"] == "control").sum())
    assert 1350 < n_control < 1650
    assert f"{3000 - n_control} to contact, {n_control} held out" in err
    assert _counts(migrated_db_url) == (1, 3000, 1)
    engine = engine_for(migrated_db_url)
    try:
        treated = treated_customers(engine)
    finally:
        engine.dispose()
    assert len(treated) == 3000 - n_control
    assert treated["customerID"].str.startswith(HASH_PREFIX).all()  # never the raw ID
    assert not set(treated["customerID"]) & set(plan["customerID"])

    code, out, _ = _run(capsys, "campaign", "report", "spring", "--json", *db)
    before = json.loads(out)
    assert code == 0 and set(before) >= REPORT_KEYS
    assert before["treated"]["n"] == 3000 - n_control and before["treated"]["outcomes"] == 0
    assert before["uplift"] is None  # nothing back yet

    outcomes = tmp_path / "outcomes.csv"
    code, out, _ = _run(
        capsys, "campaign", "simulate", "spring", "--customers", customers, *EFFECTS,
        "--seed", "3", "--out", str(outcomes), *db,
    )  # fmt: skip
    truth = json.loads(out)
    assert code == 0 and truth["outcomes"] == 3000
    assert _run(capsys, "outcomes", "import", str(outcomes), *db)[0] == 0

    code, out, _ = _run(capsys, "campaign", "report", "spring", "--json", *db)
    report = json.loads(out)
    assert report["treated"]["outcomes"] + report["control"]["outcomes"] == 3000
    assert report["uplift_ci_low"] <= truth["true_uplift"] <= report["uplift_ci_high"]
    treated_n = report["treated"]["n"]  # the report rounds to 6 places: uplift's error times n
    assert report["customers_saved"] == pytest.approx(
        report["uplift"] * treated_n, abs=treated_n * 1e-6
    )
    assert report["precision_top_n"] == pytest.approx(report["control"]["churn_rate"], abs=1e-6)
    code, out, _ = _run(capsys, "campaign", "report", "spring", *db)
    assert "uplift" in out and "95% interval" in out

    code, out, err = _run(
        capsys, "campaign", "learn", "spring", "--customers", customers, "--json", *db
    )
    evidence = json.loads(out)
    assert code == 0, err
    assert evidence["use_uplift"], evidence["reason"]
    # spring's customers stay out of another plan while it runs: close it first
    assert _run(capsys, "campaign", "close", "spring", *db)[0] == 0
    code, _, err = _run(
        capsys, "campaign", "plan", "autumn", "--customers", customers, "--budget", "500",
        "--rank", "uplift", "--out", str(tmp_path / "next.csv"), *db,
    )  # fmt: skip
    assert code == 0, err
    assert "ranking by the uplift model learned on campaign spring" in err
    assert pd.read_csv(tmp_path / "next.csv")["predicted_uplift"].notna().all()
    code, out, _ = _run(capsys, "campaign", "list", "--json", *db)
    listed = {c["name"]: c for c in json.loads(out)}
    assert listed["spring"]["closed_at"] is not None and listed["autumn"]["closed_at"] is None
    assert "salt" not in listed["spring"]
    assert (
        count_rows(migrated_db_url, "select count(*) from audit_log where action like 'campaign_%'")
        == 4
    )


def test_bad_input_is_refused_and_changes_nothing(
    trained_model: TrainedModel,
    migrated_db_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    customers = str(trained_model.data_path)
    db = ("--db", migrated_db_url)
    out = tmp_path / "contacts.csv"
    first = ("campaign", "plan", "first", "--customers", customers, "--budget", "100", "--out")
    assert _run(capsys, *first, str(out), *db)[0] == 0
    baseline = _counts(migrated_db_url)
    out.unlink()
    raw = pd.read_csv(customers, dtype=str, keep_default_na=False)
    bad = tmp_path / "bad.csv"
    raw.assign(tenure=raw["tenure"].where(raw.index != 4, "-3")).to_csv(bad, index=False)
    size = len(raw)
    plan = ("campaign", "plan", "second", "--customers")
    cases = [
        ((*first, str(out)), 1, "a campaign named 'first' already exists; nothing changed"),
        ((*plan, customers, "--budget", str(size + 1), "--out", str(out)), 1,
         f"--budget {size + 1} is more than the {size - 100} customers of"),
        ((*plan, customers, "--budget", "10", "--control-share", "0.6", "--out", str(out)), 2,
         "--control-share must be in (0, 0.5], got 0.6"),
        ((*plan, customers, "--budget", "10", "--control-share", "0", "--out", str(out)), 2,
         "--control-share must be in (0, 0.5], got 0.0"),
        ((*plan, str(bad), "--budget", "10", "--out", str(out)), 1,
         "1 bad row(s), nothing planned:\n  - line 6: tenure"),
        ((*plan, customers, "--budget", "10", "--rank", "uplift", "--out", str(out)), 1,
         "--rank uplift needs a learned campaign"),
        (("campaign", "report", "nope"), 1, "no campaign named 'nope'"),
        (("campaign", "simulate", "first", "--customers", customers, "--segment-effect",
          "Contract=Forever:0.5", "--out", str(out)), 2, "Contract has no category 'Forever'"),
    ]  # fmt: skip
    for argv, expected_code, message in cases:
        code, stdout, err = _run(capsys, *argv, *db)
        assert (code, stdout) == (expected_code, ""), (argv, err)
        assert err.startswith("error: ") and message in err, err
        assert "Traceback" not in err
        assert not out.exists()
        assert _counts(migrated_db_url) == baseline

    break_inserts(migrated_db_url, "audit_log")  # the last write of the plan's transaction fails
    try:
        code, _, err = _run(capsys, *plan, customers, "--budget", "50", "--out", str(out), *db)
    finally:
        repair_inserts(migrated_db_url, "audit_log")
    assert code == 1 and "could not record campaign second" in err and "injected fault" in err
    assert not out.exists() and not list(tmp_path.glob(".contacts.csv.*"))
    assert _counts(migrated_db_url) == baseline
