"""Print `retrain=true|false` from a drift summary (written by `churn monitor --summary-out`), the
workflow's event and its force input; also appended to $GITHUB_OUTPUT when that is set."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from churn.monitoring.gate import should_retrain


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--summary", type=Path, required=True, help="drift summary JSON")
    parser.add_argument("--event", default="push", help="github.event_name")
    parser.add_argument("--force", default="false", help="true to retrain whatever the data say")
    args = parser.parse_args(argv)
    if not args.summary.is_file():
        print(f"error: no drift summary at {args.summary}: run make drift-check", file=sys.stderr)
        return 1
    try:
        summary = json.loads(args.summary.read_text())
        retrain, reason = should_retrain(summary, args.event, args.force.lower() == "true")
    except (json.JSONDecodeError, ValueError) as exc:
        print(f"error: {args.summary}: {exc}", file=sys.stderr)
        return 1
    line = f"retrain={'true' if retrain else 'false'}"
    print(f"{line} ({reason})")
    if output := os.environ.get("GITHUB_OUTPUT"):
        version = summary.get("production_version")
        with open(output, "a", encoding="utf-8") as fh:
            fh.write(f"{line}\nproduction_version={version or ''}\nreason={reason}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
