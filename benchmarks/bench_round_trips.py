"""Round-trip matching benchmark (issue 16): ``.venv/bin/python benchmarks/bench_round_trips.py PART``.

Parts (each prints one Markdown table row per measurement):

* ``batch``   — ``match_round_trips`` on 1k × 1k and 10k × 10k (70 % round trips, 14 days),
  wall and CPU (this process, solver threads included), served passengers vs the
  outward-first greedy baseline (``outward_first_greedy``), round trips served, stranded.
* ``daily``   — the exact daily problem (one day, 60 requests, 120 or 200 offers, seeds 0–9):
  CP-SAT wall/CPU, proved optimal or not, and the heuristic's gap to the exact answer.
* ``file``    — ``carpool match-file`` on 2,000 × 2,000 (70 % round trips) as a new process,
  against a pure-Python process that loads the same file and checks every (offer, leg)
  pair with the spec's single-request rule (:func:`carpool.matching.oracle.oracle_single`);
  both wall times include process start.
* ``pairs FILE`` — that pure-Python baseline (used by ``file``).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from carpool.matching.model import MatchResult
from carpool.matching.roundtrip import match_round_trips, outward_first_greedy
from carpool.matching.synth import Workload, generate_round_trips, to_json


def _timed(fn: Callable[[], MatchResult]) -> tuple[float, float, MatchResult]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, out


def batch(sizes: tuple[int, ...] = (1_000, 10_000), seed: int = 0) -> None:
    print("| size | wall s | CPU s | served pax (greedy) | ratio | round trips served / asked | stranded |")
    print("|---|---|---|---|---|---|---|")
    for n in sizes:
        w = generate_round_trips(n, n, seed=seed)
        wall, cpu, res = _timed(lambda w=w: match_round_trips(w.offers, w.volunteers, w.requests))
        _, _, base = _timed(lambda w=w: outward_first_greedy(w.offers, w.volunteers, w.requests))
        s, g = res.stats, base.stats
        print(
            f"| {n} × {n} | {wall:.2f} | {cpu:.2f} | {s['served_passengers']} ({g['served_passengers']}) | "
            f"{s['served_passengers'] / max(1, g['served_passengers']):.2f}× | "
            f"{s['served_round_trips']} / {s['round_trips']} | {g['stranded']} |",
            flush=True,
        )


def daily(seeds: range = range(10), offers: tuple[int, ...] = (120, 200)) -> None:
    print("| offers | seed | exact wall s | CPU s | optimal | served pax exact / heuristic | gap |")
    print("|---|---|---|---|---|---|---|")
    for n_off in offers:
        for seed in seeds:
            w = generate_round_trips(n_off, 60, seed=seed, days=1)
            wall, cpu, ex = _timed(lambda w=w: match_round_trips(w.offers, w.volunteers, w.requests))
            heur = match_round_trips(w.offers, w.volunteers, w.requests, exact_limit=0)
            a, b = ex.stats["served_passengers"], heur.stats["served_passengers"]
            gap = (a - b) / a if a else 0.0
            print(
                f"| {n_off} | {seed} | {wall:.2f} | {cpu:.2f} | {'yes' if ex.stats['exact'] else 'no'} | "
                f"{a} / {b} | {100 * gap:.1f} % |",
                flush=True,
            )


def merged_file(path: str) -> dict[str, Any]:
    """2,000 offers × 2,000 requests (70 % round trips), two 1k workloads merged."""
    docs = [to_json(_work(seed)) for seed in (0, 1)]
    merged: dict[str, Any] = {"params": docs[0]["params"], "offers": [], "volunteers": [], "requests": []}
    for k, doc in enumerate(docs):
        for kind in ("offers", "volunteers", "requests"):
            merged[kind].extend({**item, "id": "b" * k + item["id"]} for item in doc[kind])
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(merged, handle)
    return merged


def _work(seed: int) -> Workload:
    return generate_round_trips(1_000, 1_000, seed=seed)


def pairs(path: str) -> int:
    """Baseline: every (offer, leg) pair checked with the spec's rule, in plain Python."""
    from carpool.matching.fileio import parse_input
    from carpool.matching.oracle import oracle_single
    from carpool.matching.roundtrip import leg_requests
    from carpool.matching.router import CrowFlyRouter

    with open(path, encoding="utf-8") as handle:
        params, offers, _, reqs = parse_input(json.load(handle))
    router = CrowFlyRouter(params.circuity, params.speed_kmh)
    legs, _, _ = leg_requests(reqs)
    return sum(1 for o in offers for leg in legs if oracle_single(o, leg, params, router) is not None)


def file(repeat: int = 2) -> None:
    carpool = os.path.join(os.path.dirname(sys.executable), "carpool")
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "rt2000.json")
        doc = merged_file(src)
        n_rt = sum(1 for r in doc["requests"] if r["return_time"])
        print(f"file: {len(doc['offers'])} offers, {len(doc['requests'])} requests, {n_rt} round trips")
        runs: dict[str, list[tuple[float, float]]] = {"match-file": [], "pairs": []}
        for _ in range(repeat):
            for name, cmd in (
                ("match-file", [carpool, "match-file", src, "-o", os.path.join(tmp, "out.json")]),
                ("pairs", [sys.executable, __file__, "pairs", src]),
            ):
                before, t = _children_cpu(), time.perf_counter()
                subprocess.run(cmd, check=True, capture_output=True)
                runs[name].append((time.perf_counter() - t, _children_cpu() - before))
        with open(os.path.join(tmp, "out.json"), encoding="utf-8") as handle:
            out = json.load(handle)
        print(f"match-file stats: {out['stats']}")
        print("| command | wall s | CPU s (user+sys) |")
        print("|---|---|---|")
        for name, vals in runs.items():
            walls = ", ".join(f"{w:.2f}" for w, _ in vals)
            print(f"| {name} | {walls} | {', '.join(f'{c:.2f}' for _, c in vals)} |")
        m, p = runs["match-file"], runs["pairs"]
        print(f"speed-up, best wall / best wall: {min(w for w, _ in p) / min(w for w, _ in m):.1f}×")
        print(f"speed-up, best CPU / best CPU: {min(c for _, c in p) / min(c for _, c in m):.1f}×")


def _children_cpu() -> float:
    use = resource.getrusage(resource.RUSAGE_CHILDREN)
    return use.ru_utime + use.ru_stime


if __name__ == "__main__":
    part = sys.argv[1] if len(sys.argv) > 1 else "batch"
    if part == "batch":
        batch()
    elif part == "daily":
        daily()
    elif part == "file":
        file()
    elif part == "pairs":
        print(pairs(sys.argv[2]))
    else:
        sys.exit(f"unknown part {part!r}: batch, daily, file or pairs FILE")
