"""Score ``carpool sms parse`` on the elderly-voice hold-out.

Run: ``.venv/bin/python benchmarks/bench_sms_holdout.py [--misses]``.

The hold-out (``tests/data/sms_holdout.jsonl``) was written before the parser was
changed for issue 16 and is never tuned on: new examples go to the unit tests.
Each line has the expected output fields plus ``kind``, the label class the
message was written for (accept, decline, cancel, help, stop, start, unknown,
round_trip, recurring). A field the parser does not print yet (``recurrence``
before issue 16) counts as ``null``.

Prints one Markdown table (one row per class, then "all") and, with ``--misses``,
every wrong field. Goes through :func:`carpool.notify.parse_cli.main`, the code
behind ``carpool sms parse``, so the figures are those of the command.
"""

from __future__ import annotations

import io
import json
import sys
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path
from typing import Any

from carpool.notify.parse_cli import main as parse_main

HOLDOUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "sms_holdout.jsonl"
TODAY = date(2026, 11, 23)  # a Monday; every "mardi", "demain"… in the hold-out is read from it
FIELDS = ("intent", "destination", "origin", "date", "arrive_by", "depart_after", "return_time", "passengers")
COLUMNS = ("intent", "times", "return_time", "recurrence", "exact")
KINDS = ("accept", "decline", "cancel", "help", "stop", "start", "unknown", "round_trip", "recurring")


def load(path: Path = HOLDOUT) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def parse_all(texts: list[str], today: date = TODAY) -> list[dict[str, Any]]:
    """Run the ``carpool sms parse`` code on ``texts``, one JSON object back per text."""
    out = io.StringIO()
    parse_main(io.StringIO("".join(t + "\n" for t in texts)), out, today, None)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def score(entries: list[dict[str, Any]]) -> tuple[dict[str, Counter[str]], list[str]]:
    """Per class: messages, right intent, right times, right recurrence, every field right."""
    got_all = parse_all([e["text"] for e in entries])
    table: dict[str, Counter[str]] = defaultdict(Counter)
    misses: list[str] = []
    for entry, got in zip(entries, got_all, strict=True):
        got.setdefault("recurrence", None)
        wrong = [f for f in (*FIELDS, "recurrence") if got[f] != entry[f]]
        for row in (entry["kind"], "all"):
            counts = table[row]
            counts["n"] += 1
            counts["intent"] += got["intent"] == entry["intent"]
            counts["times"] += all(got[f] == entry[f] for f in ("arrive_by", "depart_after", "return_time"))
            counts["return_time"] += got["return_time"] == entry["return_time"]
            counts["recurrence"] += got["recurrence"] == entry["recurrence"]
            counts["exact"] += not wrong
        for f in wrong:
            misses.append(f"{entry['kind']:>10} {f}: {entry['text']!r} gave {got[f]!r}, want {entry[f]!r}")
    return table, misses


def report(table: dict[str, Counter[str]]) -> str:
    lines = [
        "| class | messages | intent | times | return_time | recurrence | all fields |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for kind in (*KINDS, "all"):
        counts = table.get(kind)
        if not counts:
            continue
        n = counts["n"]
        cells = " | ".join(f"{counts[k] / n:.0%}" for k in COLUMNS)
        name = f"**{kind}**" if kind == "all" else kind
        lines.append(f"| {name} | {n} | {cells} |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    table, misses = score(load())
    print(report(table))
    if "--misses" in argv:
        print("\n".join(misses))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
