"""What an import did: counts per legacy table, what was skipped or changed and why."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# Outcomes counted per table.
OUTCOMES = ("read", "imported", "already", "merged", "skipped")


@dataclass
class Report:
    source: str = ""
    dry_run: bool = False
    tables: dict[str, Counter] = field(default_factory=dict)
    # (table, legacy id, reason): rows not imported.
    skipped: list[dict[str, Any]] = field(default_factory=list)
    # (table, legacy id, note): rows imported with a change worth knowing.
    notes: list[dict[str, Any]] = field(default_factory=list)
    files: Counter = field(default_factory=Counter)
    bytes_copied: int = 0
    seconds: float = 0.0
    interrupted: str | None = None

    def count(self, table: str, outcome: str, n: int = 1) -> None:
        self.tables.setdefault(table, Counter())[outcome] += n

    def skip(self, table: str, legacy_id: Any, reason: str) -> None:
        self.count(table, "skipped")
        self.skipped.append({"table": table, "id": legacy_id, "reason": reason})

    def note(self, table: str, legacy_id: Any, note: str) -> None:
        self.notes.append({"table": table, "id": legacy_id, "note": note})

    @property
    def changed(self) -> int:
        """Rows written by this run (0 on a second run of the same source)."""
        return sum(c["imported"] + c["merged"] for c in self.tables.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source, "dry_run": self.dry_run, "seconds": round(self.seconds, 3),
            "interrupted": self.interrupted,
            "tables": {t: {o: c.get(o, 0) for o in OUTCOMES} for t, c in self.tables.items()},
            "files": dict(self.files), "bytes_copied": self.bytes_copied,
            "changed": self.changed, "skipped": self.skipped, "notes": self.notes,
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), ensure_ascii=False, indent=2)

    def to_text(self, *, limit: int = 200) -> str:
        lines = [f"legacy import from {self.source}" + (" (dry run: nothing written)"
                                                         if self.dry_run else "")]
        width = max([len(t) for t in self.tables] + [5])
        lines.append(f"  {'table':<{width}}  " + "  ".join(f"{o:>8}" for o in OUTCOMES))
        for table, counts in self.tables.items():
            lines.append(f"  {table:<{width}}  "
                         + "  ".join(f"{counts.get(o, 0):>8}" for o in OUTCOMES))
        if self.files:
            lines.append("  files: " + ", ".join(f"{n} {k}" for k, n in sorted(
                self.files.items())) + f"; {self.bytes_copied / 1e6:.1f} MB copied")
        for title, items, key in (("skipped", self.skipped, "reason"),
                                  ("notes", self.notes, "note")):
            if items:
                lines.append(f"{title} ({len(items)}):")
                lines.extend(f"  {i['table']} {i['id']}: {i[key]}" for i in items[:limit])
                if len(items) > limit:
                    lines.append(f"  … {len(items) - limit} more (see the JSON report)")
        if self.interrupted:
            lines.append(f"INTERRUPTED: {self.interrupted}; run the same command again to "
                         "resume")
        lines.append(f"{self.changed} rows written in {self.seconds:.1f} s")
        return "\n".join(lines)
