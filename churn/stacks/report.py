"""What a stack command did or found, printed as it goes."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Report:
    """Lines printed as they come; `problems` makes the command's exit code 1."""

    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def info(self, message: str) -> None:
        self.lines.append(message)
        print(message)

    def problem(self, message: str) -> None:
        self.problems.append(message)
        print(f"MISSING/INVALID: {message}")
