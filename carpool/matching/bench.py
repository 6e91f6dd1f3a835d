"""``carpool bench matching``: speed, quality and memory of the engine on synthetic Lot data.

Memory method: the peak of Python objects + NumPy columns while building the
index under ``tracemalloc`` (NumPy reports to it), plus the R-tree's size
measured by writing the same boxes to a disk R-tree (``.dat`` + ``.idx``; the
C heap of libspatialindex is invisible to tracemalloc). The process RSS growth
during the first build is also shown but is noisy (glibc reuses freed pages).
"""

from __future__ import annotations

import gc
import os
import time
import tracemalloc
from collections.abc import Callable
from statistics import mean

from carpool.matching.assign import greedy_batch, match_batch
from carpool.matching.index import CandidateIndex
from carpool.matching.model import Params
from carpool.matching.oracle import oracle_options
from carpool.matching.router import CrowFlyRouter
from carpool.matching.synth import SIZES, generate

ORACLE_SAMPLE = {"S": 100, "M": 100, "L": 20, "XL": 5}
QUERY_SAMPLE = 2000


def _rss() -> int:
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # not Linux: report 0 rather than fail
        return 0


def rtree_disk_bytes(index: CandidateIndex) -> int:
    """Size of the same R-tree written to disk (.dat + .idx): a page-exact proxy of its C heap."""
    import tempfile

    from rtree import index as rtree_index

    props = rtree_index.Property()
    props.dimension = 3
    with tempfile.TemporaryDirectory() as tmp:
        base = os.path.join(tmp, "offers")
        slots = range(len(index._ids))
        stream = ((s, index._box(s), None) for s in slots if index._ids[s] is not None)
        tree = rtree_index.Index(base, stream, properties=props)
        tree.close()
        return sum(os.path.getsize(base + ext) for ext in (".dat", ".idx"))


def _timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(size: str = "S", seed: int = 0) -> str:
    """Run the benchmark for one size and return a printable table."""
    if size not in SIZES:
        raise ValueError(f"size must be one of {', '.join(SIZES)}")
    params = Params()
    router = CrowFlyRouter(params.circuity, params.speed_kmh)
    work = generate(size, seed)
    offers, vols, reqs = work.offers, work.volunteers, work.requests
    import ortools.graph.python.min_cost_flow  # noqa: F401  (warm: import cost is not matching time)

    gc.collect()
    rss0 = _rss()
    build_s, built = _timed(lambda: CandidateIndex(offers, vols, params, router))
    index = built if isinstance(built, CandidateIndex) else CandidateIndex(offers, vols, params, router)
    gc.collect()
    rss_per_offer = (_rss() - rss0) / len(offers)
    tracemalloc.start()
    traced = CandidateIndex(offers, vols, params, router)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del traced
    disk = rtree_disk_bytes(index)
    gc.collect()

    sample = reqs[:QUERY_SAMPLE]
    lat: list[float] = []
    for r in sample:
        t0 = time.perf_counter()
        index.candidates(r)
        lat.append(time.perf_counter() - t0)

    batch_s, res = _timed(lambda: match_batch(offers, vols, reqs, params, router, index=index))
    greedy_s, gres = _timed(lambda: greedy_batch(offers, vols, reqs, params, router, index=index))
    served = res.stats["served_passengers"]  # type: ignore[attr-defined]
    g_served = gres.stats["served_passengers"]  # type: ignore[attr-defined]
    served_req = res.stats["served_requests"]  # type: ignore[attr-defined]
    g_req = gres.stats["served_requests"]  # type: ignore[attr-defined]

    n_or = ORACLE_SAMPLE[size]
    or_times: list[float] = []
    fast_times: list[float] = []
    core_times: list[float] = []
    agree = True
    index = CandidateIndex(offers, (), params, router)  # like for like: the oracle has no volunteers
    for r in reqs[:n_or]:
        t0 = time.perf_counter()
        expected = oracle_options(offers, r, params, router)
        or_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        got = index.candidates(r)
        fast_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        hits = index.offer_hits(r)
        core_times.append(time.perf_counter() - t0)
        agree &= {o.offer_id for o in got if o.offer_id} == set(expected)
        agree &= {index.offer_id(int(s)) for s in hits.slots} == set(expected)
    speedup = mean(or_times) / mean(fast_times)
    core_speedup = mean(or_times) / mean(core_times)

    n_o, n_r = SIZES[size]
    rows = [
        ("size", f"{size}: {n_o:,} offers × {n_r:,} requests, {len(vols)} volunteers, 14 days, seed {seed}"),
        ("index build (bulk)", f"{build_s * 1000:.1f} ms"),
        (
            "query latency p50 / p99",
            f"{_pct(lat, 0.5) * 1000:.2f} ms / {_pct(lat, 0.99) * 1000:.2f} ms "
            f"({len(sample)} requests, candidates() incl. volunteers)",
        ),
        ("batch assignment (match_batch)", f"{batch_s:.2f} s"),
        ("greedy baseline time", f"{greedy_s:.2f} s"),
        ("served passengers: flow / greedy", f"{served} / {g_served} = {served / max(1, g_served):.3f}×"),
        ("served requests: flow / greedy", f"{served_req} / {g_req} = {served_req / max(1, g_req):.3f}×"),
        ("medical served: flow / greedy", f"{res.stats['served_medical']} / {gres.stats['served_medical']}"),  # type: ignore[attr-defined]
        (
            "index memory per offer",
            f"{peak / n_o:.0f} B traced peak (Python+NumPy) + {disk / n_o:.0f} B R-tree (on-disk size) "
            f"= {(peak + disk) / n_o:.0f} B; RSS growth {rss_per_offer:.0f} B (noisy)",
        ),
        (
            "oracle per request",
            f"{mean(or_times) * 1000:.2f} ms (pure Python over all offers, {n_or} sampled requests)",
        ),
        (
            "speed-up vs oracle",
            f"{speedup:.0f}× via candidates() (Option objects with datetimes), {core_speedup:.0f}× for the "
            f"feasible set with times (offer_hits); offers only, same {n_or} requests, "
            f"results agree: {'yes' if agree else 'NO'}",
        ),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)


if __name__ == "__main__":  # pragma: no cover
    import sys

    print(run(sys.argv[1] if len(sys.argv) > 1 else "S", int(sys.argv[2]) if len(sys.argv) > 2 else 0))
