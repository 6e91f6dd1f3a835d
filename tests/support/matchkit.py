"""Shared constants and Hypothesis strategies for the matching tests (imported by name)."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import strategies as st

from carpool.clock import PARIS
from carpool.gazetteer import read_communes
from carpool.matching import CrowFlyRouter, Offer, Params, Request, Slot, Volunteer
from carpool.matching.model import Point

PARAMS = Params()
ROUTER = CrowFlyRouter(PARAMS.circuity, PARAMS.speed_kmh)
# Bases: an ordinary day, both DST change days and a late evening (trips cross midnight).
BASES = [
    datetime(2026, 12, 1, 7, 0, tzinfo=PARIS),
    datetime(2026, 3, 29, 1, 0, tzinfo=PARIS),
    datetime(2026, 10, 25, 1, 0, tzinfo=PARIS),
    datetime(2026, 12, 1, 22, 30, tzinfo=PARIS),
]


def communes() -> dict[str, Point]:
    return {c.insee: (c.lon, c.lat) for c in read_communes()}


points = st.tuples(st.floats(1.2, 1.9), st.floats(44.4, 44.9))


@st.composite
def offers(draw: st.DrawFn, base: datetime, oid: str, near: Point | None = None) -> Offer:
    origin = near if near is not None and draw(st.booleans()) else draw(points)
    start = base + timedelta(seconds=draw(st.integers(0, 4 * 3600)))
    width = timedelta(seconds=draw(st.sampled_from([0, 60, 900, 1800, 3600])))
    return Offer(
        oid,
        origin,
        draw(points),
        start,
        start + width,
        draw(st.integers(1, 4)),
        draw(st.sampled_from([None, None, 5.0, 10.0, 20.0, 40.0])),
        frozenset({"wheelchair"}) if draw(st.integers(0, 4)) == 0 else frozenset(),
    )


@st.composite
def on_route(draw: st.DrawFn, a: Point, b: Point) -> Point:
    """A point near the segment a→b (so that some random requests are feasible)."""
    t = draw(st.floats(0, 1))
    dx, dy = draw(st.floats(-0.05, 0.05)), draw(st.floats(-0.05, 0.05))
    return (a[0] + t * (b[0] - a[0]) + dx, a[1] + t * (b[1] - a[1]) + dy)


@st.composite
def requests(draw: st.DrawFn, base: datetime, rid: str, route: tuple[Point, Point] | None = None) -> Request:
    if route is not None and draw(st.integers(0, 3)) > 0:
        p, d = draw(on_route(*route)), draw(on_route(*route))
        if draw(st.integers(0, 5)) == 0:
            p = route[0]  # pickup at the driver's origin
    else:
        p, d = draw(points), draw(points)
    earliest = base + timedelta(seconds=draw(st.integers(0, 5 * 3600)))
    latest = earliest + timedelta(seconds=draw(st.integers(0, 4 * 3600)))
    ret = latest + timedelta(minutes=draw(st.integers(0, 180))) if draw(st.booleans()) else None
    return Request(
        rid,
        p,
        d,
        earliest,
        latest,
        draw(st.integers(1, 3)),
        frozenset({"wheelchair"}) if draw(st.integers(0, 5)) == 0 else frozenset(),
        draw(st.booleans()),
        ret,
    )


@st.composite
def volunteers(draw: st.DrawFn, base: datetime, vid: str) -> Volunteer:
    slots = []
    for _ in range(draw(st.integers(1, 3))):
        start = base + timedelta(minutes=draw(st.integers(-60, 8 * 60)))
        slots.append(Slot(start, start + timedelta(minutes=draw(st.integers(30, 8 * 60)))))
    return Volunteer(
        vid,
        draw(points),
        draw(st.sampled_from([5.0, 15.0, 30.0, 60.0])),
        tuple(slots),
        draw(st.integers(0, 3)),
        draw(st.integers(1, 4)),
        frozenset({"wheelchair"}) if draw(st.booleans()) else frozenset(),
    )
