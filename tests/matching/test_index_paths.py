"""The index's fast paths agree with each other: sweep vs R-tree, lazy tree, limits."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import numpy as np
import pytest
from support.matchkit import PARAMS, PARIS, ROUTER

from carpool.matching import CandidateIndex, Offer, Request
from carpool.matching.index import DIAG_RADIUS_KM, DIAG_TIME_MIN, KM_PER_DEG
from carpool.matching.model import to_min
from carpool.matching.oracle import oracle_options
from carpool.matching.synth import generate


def _rtree_pairs(
    index: CandidateIndex, reqs: list[Request], km: float, minutes: float
) -> set[tuple[int, int]]:
    """What one R-tree search per request returns (the reference for the sweep)."""
    out: set[tuple[int, int]] = set()
    for k, q in enumerate(reqs):
        lon, lat = q.pickup
        dlat = km / KM_PER_DEG
        cos = max(0.05, float(np.cos(np.radians(min(89.0, abs(lat) + dlat)))))
        dlon = km / (KM_PER_DEG * cos)
        box = (
            to_min(q.earliest) - minutes,
            lon - dlon,
            lat - dlat,
            to_min(q.latest) + minutes,
            lon + dlon,
            lat + dlat,
        )
        out.update((k, int(s)) for s in index._tree.intersection(box))
    return out


def _with_long_offers(offers: list[Offer]) -> list[Offer]:
    """Every 7th offer gets a window of days: exercises the sweep's duration groups."""
    return [
        replace(o, depart_latest=o.depart_earliest + timedelta(days=1 + k % 3)) if k % 7 == 0 else o
        for k, o in enumerate(offers)
    ]


@pytest.mark.parametrize("long_windows", [False, True])
def test_sweep_returns_exactly_the_rtree_pairs(long_windows: bool) -> None:
    work = generate("M", 2)
    offers = _with_long_offers(work.offers) if long_windows else work.offers
    index = CandidateIndex(offers[:600], params=PARAMS, router=ROUTER)
    for o in offers[600:]:
        index.add(o)
    for o in offers[::5]:
        index.remove(o.id)
    reqs = work.requests[:300]
    for km, minutes in ((0.0, 0.0), (DIAG_RADIUS_KM, DIAG_TIME_MIN)):
        rid, slots = index._query_many(reqs, km, minutes)
        got = set(zip(rid.tolist(), slots.tolist(), strict=True))
        assert len(got) == len(rid)
        assert got == _rtree_pairs(index, reqs, km, minutes)


def test_lazy_tree_follows_adds_and_removes() -> None:
    work = generate("S", 5)
    index = CandidateIndex(work.offers[:50], params=PARAMS, router=ROUTER)
    for o in work.offers[50:]:
        index.add(o)
    for o in work.offers[:20]:
        index.remove(o.id)
    assert index._rtree is None  # nothing needed it yet
    alive = work.offers[20:]
    for r in work.requests[:40]:
        got = {o.offer_id for o in index.candidates(r)}
        assert got == set(oracle_options(alive, r, PARAMS, ROUTER))
    # now built: removals delete the very boxes that were bulk-loaded or inserted
    for o in work.offers[20:60]:
        index.remove(o.id)
    index.add(work.offers[0])
    world = (-1e12, -180.0, -90.0, 1e12, 180.0, 90.0)
    assert index._tree.count(world) == len(index) == len(work.offers) - 59


def test_limit_is_a_prefix_of_the_full_list() -> None:
    work = generate("M", 3)
    index = CandidateIndex(work.offers, work.volunteers, params=PARAMS, router=ROUTER)
    with_volunteers = 0
    for r in work.requests[:300]:
        full = index.candidates(r)
        with_volunteers += any(o.volunteer_id for o in full)
        for limit in (0, 1, 3, 10):
            assert index.candidates(r, limit=limit) == full[:limit]
    assert with_volunteers > 10


def test_inverted_window_is_not_an_error() -> None:
    # 02:00:01 does not exist on 2026-03-29 in Paris (03:00:01 CEST): earliest > latest
    base = datetime(2026, 3, 29, 1, 0, tzinfo=PARIS)
    offer = Offer("o", (1.5, 44.5), (1.5, 44.5), base, base, 1)
    req = Request(
        "r", (1.5, 44.5), (1.5, 44.5), datetime(2026, 3, 29, 2, 0, 1, tzinfo=PARIS), base + timedelta(hours=1)
    )
    assert req.earliest > req.latest
    for index in (
        CandidateIndex([offer], params=PARAMS, router=ROUTER),
        CandidateIndex(params=PARAMS, router=ROUTER),
    ):
        if not len(index):
            index.add(offer)
        assert index.candidates(req) == [] == list(oracle_options([offer], req, PARAMS, ROUTER))
        assert len(index.hits_many([req])[0].slots) == 0
        assert index.diagnose(req)[0] == "no_offer_in_time_window"


def test_an_offer_with_an_empty_window_can_be_added_removed_and_serves_nobody():
    from datetime import datetime

    from carpool.matching import CandidateIndex, Offer, Request

    paris = PARIS
    # 02:44 does not exist on 2026-03-29 (it reads as 03:44): the window ends before it starts.
    offer = Offer(
        "o0",
        (1.5, 44.5),
        (1.5, 44.6),
        datetime(2026, 3, 29, 2, 44, tzinfo=paris),
        datetime(2026, 3, 29, 1, 0, tzinfo=paris),
        1,
    )
    index = CandidateIndex()
    index.add(offer)
    index.build_tree()
    index.remove("o0")
    index.add(offer)
    request = Request(
        "r",
        (1.5, 44.5),
        (1.5, 44.6),
        datetime(2026, 3, 29, tzinfo=paris),
        datetime(2026, 3, 29, 6, 0, tzinfo=paris),
    )

    assert index.candidates(request) == []
