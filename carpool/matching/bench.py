"""``carpool bench matching``: speed, quality and memory of the engine on synthetic Lot data.

Query latency: ``candidates(request, limit=3)`` (what the web and SMS code call)
and ``candidates(request)`` (every option), on an index with the workload's
volunteers, over the first 2,000 requests, one call each, wall clock.

Speed-up vs the oracle, on identical outputs (offers only; the oracle has no
volunteers, so the index used there has none either):

* options: the brute-force list — :func:`oracle_options` over every offer, turned
  into the same ``Option`` objects (datetimes via ``from_min``) sorted the same way
  (:func:`oracle_candidates`) — vs ``index.candidates(request)``;
* feasible set: ``oracle_options`` (offer id → depart, pickup, dropoff, detour
  floats) vs the same dict built from ``index.offer_hits(request)``.

Both sides are checked equal: same offer ids in the same order, times within
1e-6 min (the float paths differ in the last bits: math vs NumPy).

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
from datetime import UTC
from statistics import mean

from carpool.matching.assign import greedy_batch, match_batch
from carpool.matching.index import CandidateIndex
from carpool.matching.model import Offer, Option, Params, Request, from_min, to_min
from carpool.matching.oracle import OracleOption, oracle_options
from carpool.matching.router import CrowFlyRouter, Router
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


def oracle_candidates(offers: list[Offer], req: Request, params: Params, router: Router) -> list[Option]:
    """``candidates(req)`` without volunteers, by brute force (the oracle side of the speed-up)."""
    tz = req.earliest.tzinfo or UTC
    pos = {o.id: k for k, o in enumerate(offers)}
    found = sorted(
        oracle_options(offers, req, params, router).items(),
        key=lambda kv: (round(kv[1].detour, 6), kv[1].pickup, kv[1].detour, pos[kv[0]]),
    )
    return [
        Option(
            req.id,
            oid,
            None,
            from_min(o.depart, tz),
            from_min(o.pickup, tz),
            from_min(o.dropoff, tz),
            o.detour,
        )
        for oid, o in found
    ]


def fast_feasible(index: CandidateIndex, req: Request) -> dict[str, OracleOption]:
    """The oracle's output type built from the vectorised path (the fast side of the speed-up)."""
    h = index.offer_hits(req)
    ids = [index.offer_id(s) for s in h.slots.tolist()]
    values = zip(h.depart.tolist(), h.pickup.tolist(), h.dropoff.tolist(), h.detour.tolist(), strict=True)
    return {oid: OracleOption(*v) for oid, v in zip(ids, values, strict=True)}


def _same_options(a: list[Option], b: list[Option]) -> bool:
    return [o.offer_id for o in a] == [o.offer_id for o in b] and all(
        abs(to_min(x) - to_min(y)) <= 1e-6 and abs(p.detour_min - q.detour_min) <= 1e-6
        for p, q in zip(a, b, strict=True)
        for x, y in ((p.depart_at, q.depart_at), (p.pickup_at, q.pickup_at), (p.dropoff_at, q.dropoff_at))
    )


def _same_feasible(a: dict[str, OracleOption], b: dict[str, OracleOption]) -> bool:
    return a.keys() == b.keys() and all(
        abs(getattr(a[k], f) - getattr(b[k], f)) <= 1e-6
        for k in a
        for f in ("depart", "pickup", "dropoff", "detour")
    )


def _timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def _timed_cpu(fn: Callable[[], object]) -> tuple[float, float, object]:
    """Wall and process CPU seconds: on a shared machine the gap is time spent waiting."""
    cpu = time.process_time()
    wall, out = _timed(fn)
    return wall, time.process_time() - cpu, out


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _latency(
    index: CandidateIndex, reqs: list[Request], limit: int | None
) -> tuple[list[float], list[float]]:
    """Per call: wall seconds and this thread's CPU seconds (the latter ignores time spent descheduled)."""
    wall: list[float] = []
    cpu: list[float] = []
    for r in reqs:
        c0, t0 = time.thread_time(), time.perf_counter()
        index.candidates(r, limit=limit)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.thread_time() - c0)
    return wall, cpu


def _ms(values: tuple[list[float], list[float]]) -> str:
    wall, cpu = values
    return (
        f"p50 {_pct(wall, 0.5) * 1000:.2f} ms / p99 {_pct(wall, 0.99) * 1000:.2f} ms wall "
        f"(CPU p50 {_pct(cpu, 0.5) * 1000:.2f} / p99 {_pct(cpu, 0.99) * 1000:.2f} ms)"
    )


def _ratio(oracle: tuple[list[float], list[float]], fast: tuple[list[float], list[float]]) -> str:
    return f"{mean(oracle[0]) / mean(fast[0]):.0f}× wall, {mean(oracle[1]) / mean(fast[1]):.0f}× CPU"


def run(size: str = "S", seed: int = 0) -> str:
    """Run the benchmark for one size and return a printable table."""
    if size not in SIZES:
        raise ValueError(f"size must be one of {', '.join(SIZES)}")
    params = Params()
    router = CrowFlyRouter(params.circuity, params.speed_kmh)
    work = generate(size, seed)
    offers, vols, reqs = work.offers, work.volunteers, work.requests
    import ortools.graph.python.min_cost_flow  # noqa: F401  (warm: import cost is not matching time)
    import rtree  # noqa: F401  (likewise)

    def build() -> CandidateIndex:
        idx = CandidateIndex(offers, vols, params, router)
        idx.build_tree()  # the R-tree is lazy; the single-query figures need it
        return idx

    load0 = os.getloadavg()[0]
    gc.collect()
    rss0 = _rss()
    build_s, built = _timed(build)
    index = built if isinstance(built, CandidateIndex) else build()
    gc.collect()
    rss_per_offer = (_rss() - rss0) / len(offers)
    tracemalloc.start()
    traced = build()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del traced
    disk = rtree_disk_bytes(index)
    gc.collect()

    sample = reqs[:QUERY_SAMPLE]
    lat3 = _latency(index, sample, 3)
    lat_all = _latency(index, sample, None)

    batch_s, batch_cpu, res = _timed_cpu(lambda: match_batch(offers, vols, reqs, params, router, index=index))
    greedy_s, greedy_cpu, gres = _timed_cpu(
        lambda: greedy_batch(offers, vols, reqs, params, router, index=index)
    )
    served = res.stats["served_passengers"]  # type: ignore[attr-defined]
    g_served = gres.stats["served_passengers"]  # type: ignore[attr-defined]
    served_req = res.stats["served_requests"]  # type: ignore[attr-defined]
    g_req = gres.stats["served_requests"]  # type: ignore[attr-defined]

    n_or = ORACLE_SAMPLE[size]
    or_opt: tuple[list[float], list[float]] = ([], [])  # (wall, CPU) per request
    fast_opt: tuple[list[float], list[float]] = ([], [])
    or_set: tuple[list[float], list[float]] = ([], [])
    fast_set: tuple[list[float], list[float]] = ([], [])
    agree = True
    index = CandidateIndex(offers, (), params, router)  # like for like: the oracle has no volunteers
    index.build_tree()

    def clock() -> tuple[float, float]:
        return time.perf_counter(), time.thread_time()

    def add(into: tuple[list[float], list[float]], a: tuple[float, float], b: tuple[float, float]) -> None:
        into[0].append(b[0] - a[0])
        into[1].append(b[1] - a[1])

    for r in reqs[:n_or]:
        t0 = clock()
        expected = oracle_candidates(offers, r, params, router)
        t1 = clock()
        got = index.candidates(r)
        t2 = clock()
        add(or_opt, t0, t1)
        add(fast_opt, t1, t2)
        agree &= _same_options(expected, got)
        t0 = clock()
        expected_set = oracle_options(offers, r, params, router)
        t1 = clock()
        got_set = fast_feasible(index, r)
        t2 = clock()
        add(or_set, t0, t1)
        add(fast_set, t1, t2)
        agree &= _same_feasible(expected_set, got_set)
    load1 = os.getloadavg()[0]

    n_o, n_r = SIZES[size]
    rows = [
        ("size", f"{size}: {n_o:,} offers × {n_r:,} requests, {len(vols)} volunteers, 14 days, seed {seed}"),
        ("index build (bulk, incl. R-tree)", f"{build_s * 1000:.1f} ms"),
        ("query candidates(r, limit=3)", f"{_ms(lat3)} ({len(sample)} requests, incl. volunteers)"),
        ("query candidates(r)", f"{_ms(lat_all)} (every option, incl. volunteers)"),
        ("batch assignment (match_batch)", f"{batch_s:.2f} s wall, {batch_cpu:.2f} s CPU (index prebuilt)"),
        ("greedy baseline time", f"{greedy_s:.2f} s wall, {greedy_cpu:.2f} s CPU"),
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
            f"{mean(or_opt[0]) * 1000:.2f} ms options, {mean(or_set[0]) * 1000:.2f} ms feasible set, wall "
            f"(pure Python over all offers, {n_or} sampled requests)",
        ),
        (
            "speed-up vs oracle: options",
            f"{_ratio(or_opt, fast_opt)} (brute-force Option list vs candidates(r))",
        ),
        (
            "speed-up vs oracle: feasible set",
            f"{_ratio(or_set, fast_set)} (oracle_options vs the same dict from offer_hits); "
            f"offers only, same {n_or} requests, results agree: {'yes' if agree else 'NO'}",
        ),
        ("load average (1 min) before / after", f"{load0:.2f} / {load1:.2f} on {os.cpu_count()} CPUs"),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)


if __name__ == "__main__":  # pragma: no cover
    import sys

    print(run(sys.argv[1] if len(sys.argv) > 1 else "S", int(sys.argv[2]) if len(sys.argv) > 2 else 0))
