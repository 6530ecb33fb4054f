"""The campaign store (`campaigns`, `campaign_assignments`, revision 0008), beside the prediction
log and the outcomes in the same database.

A plan is written in ONE transaction with its audit row: the campaign, every assignment (the
customer ID keyed by `churn.privacy.customer_key`, as the outcomes are, so they join) and the
audit row, all or nothing. Readers (the dashboard, the ops UI, the monitoring job) do not migrate:
without the tables there is simply no campaign.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from churn.db.audit import AuditEvent, audit_log
from churn.db.outcomes import engine_for
from churn.db.tables import campaign_assignments as assignments
from churn.db.tables import campaign_contacts as contacts_table
from churn.db.tables import campaign_holdout, campaigns, row_by
from churn.privacy import customer_key
from churn.settings import get_settings

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["engine_for"]
CHUNK = 1000
SEGMENTS = ("risk_decile", "contract", "tenure_band")


def _cell(value: Any) -> Any:
    """NaN and None are NULL; numpy integers become plain ints."""
    if value is None or value != value:
        return None
    return int(value) if hasattr(value, "item") and float(value).is_integer() else value


class CampaignExists(ValueError):
    """A campaign of that name is already recorded."""


@dataclass(frozen=True)
class Campaign:
    name: str
    started_at: dt.datetime
    created_by: str
    model_name: str
    model_version: str
    rank_rule: str
    budget: int
    control_share: float
    offer_cost: float
    saved_value: float
    salt: str
    n_treated: int
    n_control: int
    source_file: str
    closed_at: dt.datetime | None = None
    learned: dict[str, Any] | None = None
    id: int | None = None
    horizon_days: int | None = None
    baseline_churn: float | None = None
    min_detectable_uplift: float | None = None

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    def is_running(self, now: dt.datetime) -> bool:
        """Open and inside its outcome window: its arms are not to be touched by another plan."""
        if not self.is_open:
            return False
        if self.horizon_days is None:
            return True
        now = now if now.tzinfo else now.replace(tzinfo=dt.UTC)
        return now < self.started_at + dt.timedelta(days=self.horizon_days)

    def as_json(self) -> dict[str, Any]:
        """What a person may see: everything but the salt (it would reveal future arms)."""
        out = asdict(self)
        out.pop("salt")
        out.pop("id")
        for key in ("started_at", "closed_at"):
            out[key] = out[key].isoformat() if out[key] else None
        return out


def _utc(when: dt.datetime | None) -> dt.datetime | None:
    if when is not None and when.tzinfo is None:  # SQLite drops the zone: it is UTC
        return when.replace(tzinfo=dt.UTC)
    return when


def _from_row(row: Any) -> Campaign:
    values = dict(row)
    values["started_at"] = _utc(values["started_at"])
    values["closed_at"] = _utc(values["closed_at"])
    values["learned"] = json.loads(values["learned"]) if values["learned"] else None
    return Campaign(**values)


def _audit(conn: sa.Connection, event: AuditEvent) -> None:
    stored = event if event.created_at else replace(event, created_at=dt.datetime.now(dt.UTC))
    conn.execute(audit_log.insert().values(**asdict(stored)))


def create(
    engine: sa.Engine,
    campaign: Campaign,
    contacts: pd.DataFrame,
    event: AuditEvent,
    secret: str | None = None,
) -> Campaign:
    """Insert the campaign, its assignments (`contact_list` rows) and the audit row together."""
    key = secret if secret is not None else get_settings().customer_id_key
    with engine.begin() as conn:
        if conn.execute(sa.select(campaigns.c.id).where(campaigns.c.name == campaign.name)).first():
            raise CampaignExists(f"a campaign named {campaign.name!r} already exists")
        values = asdict(campaign)
        values.pop("id")
        values["learned"] = None
        inserted = conn.execute(campaigns.insert().values(**values)).inserted_primary_key
        assert inserted is not None
        campaign_id = inserted[0]
        rows = [
            {
                "campaign_id": campaign_id,
                "customerID": customer_key(str(r["customerID"]), key),
                "arm": r["arm"],
                "rank": int(r["rank"]),
                "churn_probability": float(r["churn_probability"]),
                "expected_value": float(r["expected_value"]),
                "predicted_uplift": None
                if r["predicted_uplift"] != r["predicted_uplift"]  # NaN: not an uplift plan
                else float(r["predicted_uplift"]),
                **{c: _cell(r.get(c)) for c in SEGMENTS},
            }
            for r in contacts.to_dict("records")
        ]
        for start in range(0, len(rows), CHUNK):
            conn.execute(assignments.insert(), rows[start : start + CHUNK])
        _audit(conn, event)
    return replace(campaign, id=int(campaign_id))


def _has_tables(engine: sa.Engine) -> bool:
    return sa.inspect(engine).has_table("campaigns")


def get(engine: sa.Engine, name: str) -> Campaign | None:
    if not _has_tables(engine):
        return None
    with engine.connect() as conn:
        row = row_by(conn, campaigns.c.name, name)
    return _from_row(row) if row else None


def list_all(engine: sa.Engine) -> list[Campaign]:
    """Every campaign, newest first."""
    if not _has_tables(engine):
        return []
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(campaigns).order_by(campaigns.c.started_at.desc(), campaigns.c.id.desc())
        ).mappings()
        return [_from_row(r) for r in rows]


def read_assignments(engine: sa.Engine, campaign: Campaign) -> pd.DataFrame:
    """The campaign's assignments in rank order (`customerID` keyed)."""
    import pandas as pd

    columns = ["customerID", "arm", "rank", "churn_probability", "expected_value", *SEGMENTS]
    query = (
        sa.select(*(assignments.c[c] for c in columns))
        .where(assignments.c.campaign_id == campaign.id)
        .order_by(assignments.c.rank)
    )
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(query).mappings().all(), columns=columns)


def update(
    engine: sa.Engine,
    name: str,
    event: AuditEvent,
    *,
    closed_at: dt.datetime | None = None,
    learned: dict[str, Any] | None = None,
) -> None:
    """Close a campaign or store what was learned from it, with its audit row, together."""
    values: dict[str, Any] = {}
    if closed_at is not None:
        values["closed_at"] = closed_at
    if learned is not None:
        values["learned"] = json.dumps(learned)
    with engine.begin() as conn:
        changed = conn.execute(
            campaigns.update().where(campaigns.c.name == name).values(**values)
        ).rowcount
        if changed != 1:
            raise KeyError(name)
        _audit(conn, event)


def treated_customers(engine: sa.Engine) -> pd.DataFrame:
    """Treated customers of every campaign with when it started and closed (keyed IDs): the
    realized metrics leave their outcomes out (churn.monitoring.realized.exclude_treated)."""
    import pandas as pd

    columns = ["customerID", "started_at", "closed_at"]
    if not _has_tables(engine):
        return pd.DataFrame(columns=columns)
    query = (
        sa.select(assignments.c.customerID, campaigns.c.started_at, campaigns.c.closed_at)
        .join(campaigns, campaigns.c.id == assignments.c.campaign_id)
        .where(assignments.c.arm == "treated")
    )
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(query).mappings().all(), columns=columns)


def running_assignments(engine: sa.Engine, now: dt.datetime) -> dict[str, str]:
    """{keyed customerID: campaign name} for every customer in the arms of a running campaign
    (open and inside its window): a new plan leaves them out."""
    running = {c.id: c.name for c in list_all(engine) if c.is_running(now)}
    if not running:
        return {}
    query = sa.select(assignments.c.campaign_id, assignments.c.customerID).where(
        assignments.c.campaign_id.in_(list(running))
    )
    with engine.connect() as conn:
        return {row.customerID: running[row.campaign_id] for row in conn.execute(query)}


def read_contacts(engine: sa.Engine, campaign: Campaign) -> pd.DataFrame:
    """Who of the campaign was reached and when (keyed customerID, contacted_at in UTC)."""
    import pandas as pd

    columns = ["customerID", "contacted_at"]
    if not sa.inspect(engine).has_table("campaign_contacts"):
        return pd.DataFrame(columns=columns)
    query = sa.select(contacts_table.c.customerID, contacts_table.c.contacted_at).where(
        contacts_table.c.campaign_id == campaign.id
    )
    with engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(query).mappings().all(), columns=columns)
    frame["contacted_at"] = pd.to_datetime(frame["contacted_at"], utc=True)
    return frame


def store_contacts(
    engine: sa.Engine, campaign: Campaign, rows: list[tuple[str, dt.datetime]], event: AuditEvent
) -> tuple[int, int]:
    """Insert (keyed customerID, contacted_at) rows not recorded yet (the first contact counts;
    a re-import is a no-op), with the audit row; (new, already recorded)."""
    with engine.begin() as conn:
        known = {
            r.customerID
            for r in conn.execute(
                sa.select(contacts_table.c.customerID).where(
                    contacts_table.c.campaign_id == campaign.id
                )
            )
        }
        new = [
            {"campaign_id": campaign.id, "customerID": k, "contacted_at": when}
            for k, when in rows
            if k not in known
        ]
        for start in range(0, len(new), CHUNK):
            conn.execute(contacts_table.insert(), new[start : start + CHUNK])
        _audit(conn, replace(event, reason=f"{event.reason}: {len(new)} new contact(s)"))
    return len(new), len(rows) - len(new)


@dataclass(frozen=True)
class Holdout:
    share: float
    salt: str
    created_at: dt.datetime
    created_by: str


def get_holdout(engine: sa.Engine) -> Holdout | None:
    """The global hold-out in force (the newest row); None when there is none (or share 0)."""
    if not sa.inspect(engine).has_table("campaign_holdout"):
        return None
    query = sa.select(campaign_holdout).order_by(campaign_holdout.c.id.desc()).limit(1)
    with engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    if row is None or row["share"] <= 0:
        return None
    created = _utc(row["created_at"])
    assert created is not None
    return Holdout(row["share"], row["salt"], created, row["created_by"])


def set_holdout(engine: sa.Engine, share: float, salt: str, actor: str, event: AuditEvent) -> None:
    """Record a new hold-out (share 0 ends it), with its audit row."""
    with engine.begin() as conn:
        conn.execute(
            campaign_holdout.insert().values(
                share=share, salt=salt, created_at=dt.datetime.now(dt.UTC), created_by=actor
            )
        )
        _audit(conn, event)
