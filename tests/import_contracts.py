"""An import-linter contract type: no import of a framework's private modules.

`forbidden` contracts cannot name `bentoml._internal`: import-linter keeps an external package as
its top-level name only. This contract reads the import lines themselves (grimp's import details)
and refuses any dotted name under a watched package with a segment starting with `_`
(BentoML's internal context, ZenML's stack cache), and any top-level package whose name starts
with `_` (BentoML's SDK and implementation packages). Registered in pyproject.toml.
"""

from __future__ import annotations

import re
from typing import Any

from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck


class PrivateNamesContract(Contract):
    """Option `packages`: the frameworks watched. A top-level `_name` package is refused always."""

    packages = fields.ListField(subfield=fields.StringField())

    def check(self, graph: Any, verbose: bool) -> ContractCheck:
        watched = [str(p) for p in self.packages]  # type: ignore[attr-defined]
        names = "|".join(re.escape(p) for p in watched)
        pattern = re.compile(rf"\b(?:{names})(?:\.\w+)*\._\w*")
        found: list[dict[str, Any]] = []
        for importer in sorted(graph.modules):
            if graph.is_module_squashed(importer):  # an external package
                continue
            for imported in graph.find_modules_directly_imported_by(importer):
                private = imported.startswith("_") and not imported.startswith("__")
                if not private and imported.split(".")[0] not in watched:
                    continue
                for detail in graph.get_import_details(importer=importer, imported=imported):
                    line = detail["line_contents"]
                    if private or pattern.search(line):
                        found.append({**detail, "importer": importer})
        return ContractCheck(kept=not found, metadata={"found": found})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for detail in check.metadata["found"]:
            output.print_error(
                f"{detail['importer']}:{detail['line_number']}: {detail['line_contents']}"
            )
            output.new_line()
