"""Run the matching benchmark for every size: ``.venv/bin/python benchmarks/bench_matching.py [seed]``."""

from __future__ import annotations

import sys

from carpool.matching.bench import run

if __name__ == "__main__":
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    for size in ("S", "M", "L", "XL"):
        print(run(size, seed), end="\n\n", flush=True)
