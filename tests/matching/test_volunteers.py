"""Dedicated mode: the vectorised duty rule equals the oracle; caps and overlaps hold."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.matchkit import BASES, PARAMS, PARIS, ROUTER, requests, volunteers

from carpool.matching import Request, Slot, Volunteer, match_batch
from carpool.matching.oracle import oracle_verify, oracle_volunteer
from carpool.matching.volunteers import VolunteerTable


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_duties_equal_oracle(data: st.DataObject) -> None:
    base = data.draw(st.sampled_from(BASES))
    vols = [data.draw(volunteers(base, f"v{k}")) for k in range(data.draw(st.integers(1, 4)))]
    reqs = [data.draw(requests(base, f"r{k}")) for k in range(data.draw(st.integers(1, 4)))]
    table = VolunteerTable(vols, PARAMS, ROUTER)
    for req, got in zip(reqs, table.duties_many(reqs), strict=True):
        for vol in vols:
            ref = oracle_volunteer(vol, req, PARAMS, ROUTER)
            mine = got.get(vol.id, [])
            assert len(mine) == len(ref)
            for d, r in zip(mine, ref, strict=True):
                assert all(
                    abs(x - y) < 1e-6
                    for x, y in zip((d.leave_home, d.pickup, d.dropoff, d.end, d.busy_until), r, strict=True)
                )


def _vol(max_trips: int) -> Volunteer:
    day = datetime(2026, 12, 1, tzinfo=PARIS)
    return Volunteer("v", (1.60, 44.60), 25.0, (Slot(day.replace(hour=8), day.replace(hour=13)),), max_trips)


def _req(rid: str, hour: int, ret: int | None = None) -> Request:
    day = datetime(2026, 12, 1, tzinfo=PARIS)
    return Request(
        rid,
        (1.62, 44.62),
        (1.44, 44.45),
        day.replace(hour=hour),
        day.replace(hour=hour + 1, minute=30),
        medical=True,
        return_time=None if ret is None else day.replace(hour=ret),
    )


def test_trip_cap_and_overlap() -> None:
    vol = _vol(max_trips=1)
    reqs = [_req("a", 8), _req("b", 10)]
    res = match_batch([], [vol], reqs, PARAMS)
    assert oracle_verify([], [vol], reqs, res, PARAMS, ROUTER) == []
    assert len(res.assignments) == 1
    assert res.unmatched[0].reason == "volunteer_trip_cap_reached"
    vol2 = _vol(max_trips=2)
    res2 = match_batch([], [vol2], reqs, PARAMS)
    assert len(res2.assignments) == 2
    # same time twice: the duties overlap, only one kept, the other is "taken"
    clash = [_req("a", 8), _req("c", 8)]
    res3 = match_batch([], [vol2], clash, PARAMS)
    assert len(res3.assignments) == 1 and res3.unmatched[0].reason == "taken_by_other_request"


def test_return_trip_must_fit_the_slot() -> None:
    vol = _vol(max_trips=2)
    ok = _req("a", 8, ret=11)
    too_late = _req("b", 8, ret=13)
    res = match_batch([], [vol], [ok, too_late], PARAMS)
    assert [a.request_id for a in res.assignments] == ["a"]
    assert res.unmatched[0].reason == "no_volunteer_slot"
    far = Request("far", (1.0, 44.9), (1.44, 44.45), ok.earliest, ok.latest)
    assert match_batch([], [vol], [far], PARAMS).unmatched[0].reason == "outside_volunteer_radius"
    start = vol.slots[0].start + timedelta(minutes=ROUTER.time_min(vol.home, ok.pickup))
    a = match_batch([], [vol], [Request("x", ok.pickup, ok.dropoff, vol.slots[0].start, ok.latest)], PARAMS)
    assert abs((a.assignments[0].pickup_at - start).total_seconds()) < 1e-3
