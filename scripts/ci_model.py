"""The workflow's model steps on the team's ZenML server (the active stack's store):

    python scripts/ci_model.py decision   # the newest version's promotion decision (train job)
    python scripts/ci_model.py bento      # the production version into the BentoML store + Bento

Each prints one JSON line and appends `key=value` lines to $GITHUB_OUTPUT when that is set, so
later jobs see what was decided. `bento` reads the production version from the server, not the
runner's store: a runner that did not train (no drift) still ships the model in production, and
one whose candidate was not promoted ships the previous production model.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any


def _emit(result: dict[str, Any]) -> None:
    print(json.dumps(result, default=str))
    if output := os.environ.get("GITHUB_OUTPUT"):
        with open(output, "a", encoding="utf-8") as fh:
            for key, value in result.items():
                if isinstance(value, str | int | bool) or value is None:
                    text = (
                        ""
                        if value is None
                        else str(value).lower()
                        if isinstance(value, bool)
                        else str(value)
                    )
                    fh.write(f"{key}={text}\n")


def decision() -> dict[str, Any]:
    from zenml.client import Client

    from churn.control.models import production_version
    from churn.settings import get_settings

    name = get_settings().model_name
    newest = Client().list_model_versions(model=name, sort_by="desc:number", size=1).items
    if not newest:
        raise LookupError(f"model {name!r} has no version on this server: did training run?")
    promotion: dict[str, Any] = newest[0].run_metadata.get("promotion") or {}  # type: ignore[assignment]
    production = production_version(name)
    paired = promotion.get("paired_bootstrap") or {}
    return {
        "version": newest[0].name,
        "promoted": bool(promotion.get("promoted")),
        "compared_with": promotion.get("production_version"),
        "paired_bootstrap": bool(paired),
        "difference_ci_low": paired.get("difference_ci_low"),
        "production_version": production.name if production is not None else None,
        "reason": str(promotion.get("reason", "no promotion metadata"))[:300],
    }


def bento() -> dict[str, Any]:
    from churn.control.models import (
        card_of,
        load_pipeline,
        production_version,
        save_to_model_store,
    )
    from churn.settings import get_settings
    from steps.package.bento import build_bento

    name = get_settings().model_name
    production = production_version(name)
    if production is None:
        raise LookupError(f"no production version of {name!r} on this server: nothing to ship")
    model_tag = save_to_model_store(load_pipeline(production), card_of(production))
    return {"model_version": production.name, "bento_model": model_tag, "bento": build_bento()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("decision", "bento"))
    args = parser.parse_args(argv)
    try:
        _emit(decision() if args.what == "decision" else bento())
    except LookupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
