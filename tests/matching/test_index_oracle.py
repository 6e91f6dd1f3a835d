"""The fast path (R-tree + NumPy) returns exactly the brute-force oracle's options."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.matchkit import BASES, PARAMS, PARIS, ROUTER, offers, requests

from carpool.matching import CandidateIndex, Offer, Request
from carpool.matching.model import to_min
from carpool.matching.oracle import oracle_options, oracle_single

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _same(index: CandidateIndex, all_offers: list[Offer], req: Request) -> None:
    expected = oracle_options(all_offers, req, PARAMS, ROUTER)
    got = {o.offer_id: o for o in index.candidates(req) if o.offer_id is not None}
    assert set(got) == set(expected)
    for oid, opt in got.items():
        ref = expected[oid]
        assert abs(to_min(opt.depart_at) - ref.depart) < 1e-5
        assert abs(to_min(opt.pickup_at) - ref.pickup) < 1e-5
        assert abs(to_min(opt.dropoff_at) - ref.dropoff) < 1e-5
        assert abs(opt.detour_min - ref.detour) < 1e-6
    detours = [o.detour_min for o in index.candidates(req) if o.offer_id is not None]
    assert detours == sorted(detours)


@st.composite
def instances(draw: st.DrawFn) -> tuple[list[Offer], list[Request]]:
    base = draw(st.sampled_from(BASES))
    offs = [draw(offers(base, f"o{k}")) for k in range(draw(st.integers(1, 12)))]
    reqs = []
    for k in range(draw(st.integers(1, 6))):
        o = draw(st.sampled_from(offs))
        reqs.append(draw(requests(base - timedelta(hours=1), f"r{k}", (o.origin, o.destination))))
    return offs, reqs


@SETTINGS
@given(instances())
def test_candidates_equal_oracle(inst: tuple[list[Offer], list[Request]]) -> None:
    offs, reqs = inst
    index = CandidateIndex(offs, params=PARAMS, router=ROUTER)
    for req in reqs:
        _same(index, offs, req)
    hits = index.hits_many(reqs)
    for req, h in zip(reqs, hits, strict=True):
        assert {index.offer_id(int(s)) for s in h.slots} == set(oracle_options(offs, req, PARAMS, ROUTER))


@SETTINGS
@given(instances(), st.data())
def test_incremental_add_remove(inst: tuple[list[Offer], list[Request]], data: st.DataObject) -> None:
    offs, reqs = inst
    index = CandidateIndex(params=PARAMS, router=ROUTER)
    for o in offs:
        index.add(o)
    removed = data.draw(st.sets(st.sampled_from([o.id for o in offs])))
    for oid in removed:
        index.remove(oid)
    alive = [o for o in offs if o.id not in removed]
    assert len(index) == len(alive)
    for req in reqs:
        _same(index, alive, req)
    for o in offs:  # re-adding recycles slots
        if o.id in removed:
            index.add(o)
    for req in reqs:
        _same(index, offs, req)


def _one(base: datetime, **kw: object) -> tuple[Offer, Request]:
    o = Offer("o", (1.44, 44.45), (2.03, 44.61), base, base + timedelta(minutes=30), 3)
    r = Request("r", (1.60, 44.50), (1.90, 44.57), base - timedelta(hours=1), base + timedelta(hours=3))
    return o, r


def test_window_boundaries_to_the_second() -> None:
    for base in BASES:
        o, r = _one(base)
        ref = oracle_single(o, r, PARAMS, ROUTER)
        assert ref is not None
        index = CandidateIndex([o], params=PARAMS, router=ROUTER)
        drop = datetime.fromtimestamp(ref.dropoff * 60, tz=PARIS)
        for delta, ok in ((0, True), (-1, False), (1, True)):
            latest = drop.replace(microsecond=0) + timedelta(seconds=delta + (1 if drop.microsecond else 0))
            req = Request("r", r.pickup, r.dropoff, r.earliest, latest)
            if delta == -1:
                latest = drop.replace(microsecond=0) - timedelta(seconds=0 if drop.microsecond else 1)
                req = Request("r", r.pickup, r.dropoff, r.earliest, latest)
            assert bool(index.candidates(req)) is ok, (base, delta)
            assert (oracle_single(o, req, PARAMS, ROUTER) is not None) is ok
        # the earliest pickup bound: picking up exactly at earliest works, one second later not
        t_op = ROUTER.time_min(o.origin, r.pickup)
        at = datetime.fromtimestamp((to_min(o.depart_latest) + t_op) * 60, tz=PARIS)
        for delta, ok in ((0, True), (1, False)):
            early = at.replace(microsecond=0) + timedelta(seconds=delta)
            req = Request("r", r.pickup, r.dropoff, early, early + timedelta(hours=3))
            assert bool(index.candidates(req)) is ok
            assert (oracle_single(o, req, PARAMS, ROUTER) is not None) is ok


def test_zero_detour_and_pickup_at_origin() -> None:
    base = BASES[0]
    # the passenger rides the driver's exact trip: detour = 2 dwells = 6 minutes
    o = Offer("o", (1.44, 44.45), (2.03, 44.61), base, base, 1, max_detour_min=6.0)
    r = Request("r", o.origin, o.destination, base, base + timedelta(hours=3))
    [opt] = CandidateIndex([o]).candidates(r)
    assert abs(opt.detour_min - 6.0) < 1e-9
    assert opt.pickup_at == base and opt.depart_at == base
    tight = Offer("t", o.origin, o.destination, base, base, 1, max_detour_min=5.99)
    assert CandidateIndex([tight]).candidates(r) == []
    assert oracle_single(tight, r, PARAMS, ROUTER) is None


def test_dst_and_midnight_are_absolute() -> None:
    # 2026-03-29: 02:00 → 03:00 in Paris; a driver leaving 01:50 reaches a point 20 min away at 03:10
    base = datetime(2026, 3, 29, 1, 50, tzinfo=PARIS)
    o = Offer("o", (1.44, 44.45), (2.03, 44.61), base, base, 3)
    t_op = ROUTER.time_min(o.origin, (1.50, 44.47))
    r = Request("r", (1.50, 44.47), (1.95, 44.60), base, base + timedelta(hours=3))
    [opt] = CandidateIndex([o]).candidates(r)
    assert abs((opt.pickup_at - base).total_seconds() / 60 - t_op) < 1e-6
    assert opt.pickup_at.astimezone(PARIS).hour in (1, 3)
    # across midnight
    late = datetime(2026, 12, 1, 23, 50, tzinfo=PARIS)
    o2 = Offer("o2", (1.44, 44.45), (2.03, 44.61), late, late + timedelta(minutes=10), 3)
    r2 = Request("r2", (1.50, 44.47), (1.95, 44.60), late, late + timedelta(hours=2))
    [opt2] = CandidateIndex([o2]).candidates(r2)
    assert opt2.dropoff_at.astimezone(PARIS).day == 2
