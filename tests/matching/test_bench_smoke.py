"""The synthetic generator is deterministic and the benchmark table is produced."""

from __future__ import annotations

from carpool.matching.bench import run
from carpool.matching.synth import generate


def test_synth_is_deterministic() -> None:
    a, b = generate("S", 3), generate("S", 3)
    assert a == b
    assert generate("S", 4).requests != a.requests
    medical = sum(r.medical for r in a.requests) / len(a.requests)
    assert 0.4 < medical < 0.8
    assert all(o.origin[1] > 44 and o.seats >= 1 for o in a.offers)


def test_bench_small_runs() -> None:
    table = run("S", 0)
    assert "results agree: yes" in table and "served passengers" in table
