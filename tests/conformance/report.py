"""What the conformance suite found, per provider and column, and the table it prints."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

COLUMNS = {
    "requests": "adapter requests valid",
    "responses": "2xx responses valid",
    "errors": "error bodies in the provider's format",
    "webhooks": "webhooks with no shape difference",
}
PROVIDERS = ("twilio", "sendgrid", "telegram", "meta", "vapi")


@dataclass
class Check:
    """One exchange part or webhook checked: its differences (none means valid)."""

    provider: str
    column: str
    item: str
    differences: list[str] = field(default_factory=list)
    #: Published-spec defects met on the way (field, evidence): reported, not counted.
    spec_notes: list[str] = field(default_factory=list)


class Report:
    """Every check of the run."""

    def __init__(self) -> None:
        self.checks: list[Check] = []

    def add(
        self,
        provider: str,
        column: str,
        item: str,
        differences: Iterable[str] = (),
        spec_notes: Iterable[str] = (),
    ) -> Check:
        """Record one check."""
        check = Check(provider, column, item, list(differences), list(spec_notes))
        self.checks.append(check)
        return check

    def differences(self, provider: str) -> list[str]:
        """Every difference found for ``provider``, one line each."""
        return [
            f"{c.column} {c.item}: {d}"
            for c in self.checks
            if c.provider == provider
            for d in c.differences
        ]

    def _cell(self, provider: str, column: str) -> tuple[int, int]:
        mine = [c for c in self.checks if c.provider == provider and c.column == column]
        return sum(not c.differences for c in mine), len(mine)

    def table(self) -> str:
        """The Markdown table of the issue, from this run's checks."""
        lines = [
            "| | " + " | ".join(COLUMNS.values()) + " |",
            "|---" * (len(COLUMNS) + 1) + "|",
        ]
        totals = {column: [0, 0] for column in COLUMNS}
        for provider in PROVIDERS:
            cells = []
            for column in COLUMNS:
                good, count = self._cell(provider, column)
                totals[column][0] += good
                totals[column][1] += count
                cells.append(f"{good}/{count}" if count else "—")
            if any(cell != "—" for cell in cells):
                lines.append(f"| {provider} | " + " | ".join(cells) + " |")
        percent = [f"{100 * good // count} %" if count else "—" for good, count in totals.values()]
        lines.append("| total | " + " | ".join(percent) + " |")
        return "\n".join(lines)

    def notes(self) -> list[str]:
        """The published-spec defects met, each once."""
        seen: dict[str, None] = {}
        for check in self.checks:
            for note in check.spec_notes:
                seen.setdefault(f"{check.provider}: {note}", None)
        return list(seen)


#: The run's report (filled by the tests, printed at the end of the session).
REPORT = Report()
