"""Places anywhere in France: hold-out score, time per message, start-up of ``carpool sms parse``.

Run: ``.venv/bin/python benchmarks/bench_sms_national.py [--misses] [--no-startup]``.

The hold-out (``tests/data/sms_holdout_national.jsonl``, issue 18) was written
before the parser learnt the national gazetteer: 64 messages from residents of
the Creuse, the Ardèche, Finistère, Corsica, the Cantal, overseas… each with
the sender's home commune and the destination expected (null when the message
names no place). Never tuned on: new examples go to the unit tests.

Goes through :func:`carpool.notify.parse_cli.main`, the code behind
``carpool sms parse``. Time per message is measured in this (warm) process,
gazetteer already loaded, over the national and the issue-16 hold-outs;
start-up is the wall time of the real command, one message in, five runs.
"""

from __future__ import annotations

import io
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path
from typing import Any

from carpool.notify.parse_cli import main as parse_main

ROOT = Path(__file__).resolve().parents[1]
HOLDOUT = ROOT / "tests" / "data" / "sms_holdout_national.jsonl"
OLD_HOLDOUT = ROOT / "tests" / "data" / "sms_holdout.jsonl"
TODAY = date(2026, 11, 23)
KINDS = ("same", "neighbour", "homonym", "overseas", "none")
CARPOOL = str(Path(sys.executable).with_name("carpool"))


def load(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def parse_one(text: str, home: str | None) -> dict[str, Any]:
    out = io.StringIO()
    parse_main(io.StringIO(text + "\n"), out, TODAY, home)
    return json.loads(out.getvalue())


def score(entries: list[dict[str, Any]]) -> tuple[dict[str, Counter[str]], list[str]]:
    table: dict[str, Counter[str]] = defaultdict(Counter)
    misses = []
    for entry in entries:
        got = parse_one(entry["text"], entry["home"])["destination"]
        for row in (entry["kind"], "all"):
            table[row]["n"] += 1
            table[row]["right"] += got == entry["destination"]
            table[row]["found"] += got is not None
        if got != entry["destination"]:
            want = entry["destination"]
            misses.append(
                f"{entry['kind']:>9} {entry['text']!r} (home {entry['home']}) gave {got}, want {want}"
            )
    return table, misses


def report(table: dict[str, Counter[str]]) -> str:
    lines = ["| class | messages | destination right | a destination found |", "|---|---:|---:|---:|"]
    for kind in (*KINDS, "all"):
        counts = table.get(kind)
        if counts:
            name = f"**{kind}**" if kind == "all" else kind
            lines.append(
                f"| {name} | {counts['n']} | {counts['right'] / counts['n']:.0%} | {counts['found']} |"
            )
    return "\n".join(lines)


def per_message_ms(entries: list[tuple[str, str | None]], rounds: int = 5) -> tuple[list[float], list[float]]:
    """Wall and CPU time of one ``parse_main`` call per message, after one warm-up pass.

    CPU time is also given because the benchmark machine is shared: wall time there
    includes waiting for a core.
    """
    for text, home in entries:
        parse_one(text, home)
    wall, cpu = [], []
    for _ in range(rounds):
        for text, home in entries:
            start, start_cpu = time.perf_counter(), time.thread_time()
            parse_one(text, home)
            cpu.append((time.thread_time() - start_cpu) * 1000)
            wall.append((time.perf_counter() - start) * 1000)
    return sorted(wall), sorted(cpu)


def startup_s(runs: int = 5) -> tuple[list[float], list[float]]:
    """Wall time and CPU time (user + system) of the real command, one message in."""
    wall, cpu = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(
            [CARPOOL, "sms", "parse", "--home", "23096", "--today", TODAY.isoformat()],
            input="je voudrais aller à Aubusson jeudi à 10h\n",
            capture_output=True,
            text=True,
            check=True,
        )
        wall.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return wall, cpu


def p95(values: list[float]) -> float:
    return sorted(values)[int(0.95 * (len(values) - 1))]


def main(argv: list[str]) -> int:
    started = time.perf_counter()
    parse_one("bonjour", "23096")
    print(f"first message in this process (gazetteer loaded): {time.perf_counter() - started:.2f} s")
    national = load(HOLDOUT)
    table, misses = score(national)
    print(report(table))
    if "--misses" in argv:
        print("\n".join(misses))
    entries = [(e["text"], e["home"]) for e in national] + [(e["text"], "46042") for e in load(OLD_HOLDOUT)]
    print(f"load average at start: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
    for name, times in zip(("wall", "CPU"), per_message_ms(entries), strict=True):
        print(
            f"per message, {name} ({len(entries)} messages × 5): median {statistics.median(times):.2f} ms, "
            f"p95 {p95(times):.2f} ms, max {times[-1]:.2f} ms"
        )
    if "--no-startup" not in argv:
        for name, runs in zip(("wall", "CPU"), startup_s(), strict=True):
            median = statistics.median(runs)
            print(
                f"carpool sms parse start-up, {name} (5 runs): median {median:.2f} s, max {max(runs):.2f} s"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
