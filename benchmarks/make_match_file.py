"""Write the 2,000 × 2,000 ``carpool match-file`` benchmark input.

Two synthetic M workloads (1,000 offers × 1,000 requests × 40 volunteers each,
seeds 0 and 1 of :func:`carpool.matching.synth.generate`) merged into one file,
the second one's ids prefixed with ``b`` so that they stay unique::

    .venv/bin/python benchmarks/make_match_file.py /tmp/match2000.json
    /usr/bin/time -f %e .venv/bin/carpool match-file /tmp/match2000.json -o /tmp/match2000.out.json
"""

from __future__ import annotations

import json
import sys
from typing import Any

from carpool.matching.synth import generate, to_json


def build(seeds: tuple[int, int] = (0, 1)) -> dict[str, Any]:
    docs: list[dict[str, Any]] = [to_json(generate("M", s)) for s in seeds]
    merged: dict[str, Any] = {"params": docs[0]["params"], "offers": [], "volunteers": [], "requests": []}
    for k, doc in enumerate(docs):
        prefix = "" if k == 0 else "b" * k
        for kind in ("offers", "volunteers", "requests"):
            for item in doc[kind]:
                merged[kind].append({**item, "id": prefix + item["id"]})
    return merged


if __name__ == "__main__":
    path = sys.argv[1] if len(sys.argv) > 1 else "/tmp/match2000.json"
    doc = build()
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(doc, handle)
    counts = ", ".join(f"{len(doc[k])} {k}" for k in ("offers", "volunteers", "requests"))
    print(f"{path}: {counts}")
