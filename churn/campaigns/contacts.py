"""Who of a campaign's treated arm was actually reached, and when: the file behind
`churn campaign contacts import FILE --campaign NAME`. Columns `customerID` and `contacted_at`
(ISO 8601; without a zone it is UTC). Every bad row is named (`line N, column: reason`) and
nothing is stored while any is bad. A customer contacted twice counts from the first contact."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable
from pathlib import Path

from churn.campaigns.plan import CampaignError

COLUMNS = ("customerID", "contacted_at")
MAX_SHOWN = 20


def _when(text: str) -> dt.datetime:
    stamp = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return stamp.replace(tzinfo=dt.UTC) if stamp.tzinfo is None else stamp.astimezone(dt.UTC)


def read_contacts(
    path: Path,
    arm_of: Callable[[str], str | None],
    start: dt.datetime,
    end: dt.datetime | None,
) -> list[tuple[str, dt.datetime]]:
    """(customerID as in the file, first contacted_at) per customer. `arm_of` gives a planned
    customer's arm (None: not in the campaign); only treated customers can have been contacted,
    and only inside the campaign's window [start, end]."""
    problems: list[str] = []
    first: dict[str, dt.datetime] = {}
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = [h.strip() for h in reader.fieldnames or []]
            missing = [c for c in COLUMNS if c not in header]
            if missing:
                raise CampaignError(f"{path}: missing column(s) {missing} (want {list(COLUMNS)})")
            reader.fieldnames = header
            for line, row in enumerate(reader, start=2):
                customer = (row.get("customerID") or "").strip()
                try:
                    when = _when(row.get("contacted_at") or "")
                except ValueError:
                    problems.append(
                        f"line {line}, contacted_at: not an ISO 8601 time "
                        f"({row.get('contacted_at')!r})"
                    )
                    continue
                arm = arm_of(customer) if customer else None
                if not customer:
                    problems.append(f"line {line}, customerID: is empty")
                elif arm is None:
                    problems.append(f"line {line}, customerID: {customer!r} is not in the campaign")
                elif arm != "treated":
                    problems.append(
                        f"line {line}, customerID: {customer!r} is in the {arm} arm, which is "
                        "never contacted"
                    )
                elif when < start or (end is not None and when > end):
                    problems.append(
                        f"line {line}, contacted_at: {when.isoformat()} is outside the "
                        "campaign's window"
                    )
                elif customer not in first or when < first[customer]:
                    first[customer] = when
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CampaignError(f"{path}: not a readable CSV ({exc})") from None
    if problems:
        shown = "\n".join(f"  - {p}" for p in problems[:MAX_SHOWN])
        raise CampaignError(f"{path}: {len(problems)} bad row(s), nothing imported:\n{shown}")
    if not first:
        raise CampaignError(f"{path}: holds no contact rows")
    return sorted(first.items(), key=lambda item: item[1])
