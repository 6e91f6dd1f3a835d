"""Run the matching benchmark: ``.venv/bin/python benchmarks/bench_matching.py [seed] [size ...]``.

Without sizes, all four (S, M, L, XL) in turn; same tables as ``carpool bench matching``.
"""

from __future__ import annotations

import sys

from carpool.matching.bench import run

if __name__ == "__main__":
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    for size in sys.argv[2:] or ("S", "M", "L", "XL"):
        print(run(size, seed), end="\n\n", flush=True)
