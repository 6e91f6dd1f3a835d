"""Round trips: both legs or none, each leg in its window, at least the brute-force maximum."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from support.matchkit import BASES, PARAMS, ROUTER, offers, requests, volunteers

from carpool.matching import Offer, Request, Slot, Volunteer, match_batch
from carpool.matching.model import EPS_MIN, MatchResult, to_min
from carpool.matching.oracle import oracle_max_round_trips, oracle_route_feasible
from carpool.matching.roundtrip import leg_requests, match_round_trips, outward_first_greedy, return_latest
from carpool.matching.synth import generate_round_trips

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FIGEAC, CAHORS, CAJARC = (2.0346, 44.6098), (1.44062, 44.44683), (1.84315, 44.48475)
DAY = datetime.fromisoformat("2026-12-01T00:00:00+01:00")


def _at(hhmm: str) -> datetime:
    h, m = hhmm.split(":")
    return DAY + timedelta(hours=int(h), minutes=int(m))


def _offer(oid: str, a: tuple[float, float], b: tuple[float, float], start: str, seats: int = 1) -> Offer:
    return Offer(oid, a, b, _at(start), _at(start) + timedelta(minutes=30), seats, 15.0)


def _trip(rid: str = "r", ret: str | None = "11:30", home: str | None = None) -> Request:
    return Request(
        rid,
        CAJARC,
        CAHORS,
        _at("08:00"),
        _at("10:00"),
        return_time=None if ret is None else _at(ret),
        return_latest=None if home is None else _at(home),
    )


@st.composite
def round_trip_batches(
    draw: st.DrawFn, with_volunteers: bool = True, one_seat: bool = False
) -> tuple[list[Offer], list[Volunteer], list[Request]]:
    """Offers both ways (a driver's way back is an offer reversed, later), requests on them."""
    base = draw(st.sampled_from(BASES))
    offs: list[Offer] = []
    for k in range(draw(st.integers(1, 3))):
        o = draw(offers(base, f"o{k}"))
        offs.append(o)
        if draw(st.booleans()):
            later = timedelta(minutes=draw(st.integers(60, 300)))
            offs.append(
                Offer(
                    f"b{k}",
                    o.destination,
                    o.origin,
                    o.depart_earliest + later,
                    o.depart_latest + later,
                    o.seats,
                    o.max_detour_min,
                    o.capabilities,
                )
            )
    if one_seat:
        offs = [Offer(o.id, o.origin, o.destination, o.depart_earliest, o.depart_latest, 1) for o in offs]
    vols = [draw(volunteers(base, f"v{k}")) for k in range(draw(st.integers(0, 2)) if with_volunteers else 0)]
    reqs = []
    for k in range(draw(st.integers(1, 5))):
        o = draw(st.sampled_from(offs))
        r = draw(requests(base - timedelta(hours=1), f"r{k}", (o.origin, o.destination)))
        if r.return_time is not None and draw(st.booleans()):
            r = Request(
                r.id,
                r.pickup,
                r.dropoff,
                r.earliest,
                r.latest,
                r.passengers,
                r.needs,
                r.medical,
                r.return_time,
                r.return_time + timedelta(minutes=draw(st.integers(0, 300))),
            )
        reqs.append(r)
    return offs, vols, reqs


def _problems(offs: list[Offer], reqs: list[Request], result: MatchResult) -> list[str]:
    """Contract of a round-trip result, checked from the outside."""
    errors: list[str] = []
    by_req = {r.id: r for r in reqs}
    seen = [a.request_id for a in result.assignments if a.leg == "out"] + [
        u.request_id for u in result.unmatched
    ]
    if sorted(seen) != sorted(by_req):
        errors.append("every request once: assigned (out) or unmatched")
    for r in reqs:
        mine = [a for a in result.assignments if a.request_id == r.id]
        wanted = ["out"] if r.return_time is None else ["out", "back"]
        if mine and sorted(a.leg for a in mine) != sorted(wanted):
            errors.append(f"{r.id}: legs {[a.leg for a in mine]}, wanted {wanted}")
        for a in mine:
            lo, hi = (r.earliest, r.latest) if a.leg == "out" else (r.return_time, return_latest(r))
            assert lo is not None
            if to_min(a.pickup_at) < to_min(lo) - EPS_MIN or to_min(a.dropoff_at) > to_min(hi) + EPS_MIN:
                errors.append(f"{r.id} {a.leg}: outside its window")
    legs, _, back = leg_requests(reqs)
    leg_of = {(r.id, "out"): legs[k] for k, r in enumerate(reqs)}
    leg_of.update({(r.id, "back"): legs[b] for r, b in zip(reqs, back, strict=True) if b is not None})
    by_offer = {o.id: o for o in offs}
    for plan in result.routes:
        chosen = [leg_of[key] for key in sorted({(s.request_id, s.leg) for s in plan.stops})]
        if not oracle_route_feasible(by_offer[plan.offer_id], chosen, PARAMS, ROUTER):
            errors.append(f"{plan.offer_id}: route infeasible by enumeration")
    return errors


@SETTINGS
@given(round_trip_batches())
def test_no_resident_is_stranded(inst: tuple[list[Offer], list[Volunteer], list[Request]]) -> None:
    offs, vols, reqs = inst
    for limit in (60, 0):  # the exact solver and the heuristic
        result = match_round_trips(offs, vols, reqs, PARAMS, exact_limit=limit)
        assert _problems(offs, reqs, result) == []


@SETTINGS
@given(round_trip_batches(with_volunteers=False, one_seat=True))
def test_at_least_the_brute_force_maximum(inst: tuple[list[Offer], list[Volunteer], list[Request]]) -> None:
    offs, _, reqs = inst
    result = match_round_trips(offs, [], reqs, PARAMS)
    assert result.stats["served_passengers"] >= oracle_max_round_trips(offs, reqs, PARAMS, ROUTER)


@SETTINGS
@given(round_trip_batches(with_volunteers=False))
def test_the_exact_answer_is_at_least_the_brute_force_floor_with_shared_cars(
    inst: tuple[list[Offer], list[Volunteer], list[Request]],
) -> None:
    offs, _, reqs = inst
    assume(any(r.return_time is not None for r in reqs))  # one-way batches: match_batch, as before
    result = match_round_trips(offs, [], reqs, PARAMS)
    assert result.stats["exact"] == 1
    assert result.stats["served_passengers"] >= oracle_max_round_trips(offs, reqs, PARAMS, ROUTER)


@SETTINGS
@given(round_trip_batches())
def test_one_way_batches_are_matched_as_before(
    inst: tuple[list[Offer], list[Volunteer], list[Request]],
) -> None:
    offs, vols, reqs = inst
    one_way = [
        Request(r.id, r.pickup, r.dropoff, r.earliest, r.latest, r.passengers, r.needs, r.medical)
        for r in reqs
    ]
    assert match_round_trips(offs, vols, one_way, PARAMS) == match_batch(offs, vols, one_way, PARAMS)


def test_a_drivers_way_back_brings_the_resident_home() -> None:
    out, back = _offer("out", FIGEAC, CAHORS, "08:00"), _offer("back", CAHORS, FIGEAC, "11:20")
    result = match_round_trips([out, back], [], [_trip()], PARAMS)
    assert [(a.leg, a.offer_id) for a in result.assignments] == [("out", "out"), ("back", "back")]


def test_no_way_back_means_no_trip_and_says_why() -> None:
    out, late = _offer("out", FIGEAC, CAHORS, "08:00"), _offer("late", CAHORS, FIGEAC, "15:00")
    result = match_round_trips([out, late], [], [_trip()], PARAMS)
    assert result.assignments == []
    (u,) = result.unmatched
    assert u.reason == "no_return" and u.near_miss is not None and u.near_miss.offer_id == "late"


def test_home_by_default_ninety_minutes_after_the_return_time() -> None:
    out, back = _offer("out", FIGEAC, CAHORS, "08:00"), _offer("back", CAHORS, FIGEAC, "12:40")
    assert match_round_trips([out, back], [], [_trip()], PARAMS).assignments == []
    later = match_round_trips([out, back], [], [_trip(home="14:00")], PARAMS)
    assert [a.leg for a in later.assignments] == ["out", "back"]


def test_the_out_seat_goes_to_whoever_can_come_home() -> None:
    """One seat out, one way back: the round trip that can return gets it, the other is unmatched
    (an outward-first matcher would strand whichever came first)."""
    out = _offer("out", FIGEAC, CAHORS, "08:00")
    back = _offer("back", CAHORS, FIGEAC, "11:20")
    stuck = _trip("stuck", ret="16:00")
    fine = _trip("fine")
    result = match_round_trips([out, back], [], [stuck, fine], PARAMS)
    assert {a.request_id for a in result.assignments} == {"fine"}
    assert [(u.request_id, u.reason) for u in result.unmatched] == [("stuck", "no_return")]


def test_a_synthetic_day_exact_beats_heuristic_and_outward_first_greedy() -> None:
    w = generate_round_trips(120, 60, seed=1, days=1)
    exact = match_round_trips(w.offers, w.volunteers, w.requests, PARAMS)
    heuristic = match_round_trips(w.offers, w.volunteers, w.requests, PARAMS, exact_limit=0)
    greedy = outward_first_greedy(w.offers, w.volunteers, w.requests, PARAMS)
    assert exact.stats["exact"] == 1 and heuristic.stats["exact"] == 0
    assert _problems(w.offers, w.requests, exact) == _problems(w.offers, w.requests, heuristic) == []
    pax = exact.stats["served_passengers"]
    assert pax >= heuristic.stats["served_passengers"] and pax >= greedy.stats["served_passengers"]


def test_the_same_volunteer_both_ways_when_it_costs_the_same() -> None:
    """Two identical volunteers, slots in the morning and the afternoon (no waiting possible),
    two identical residents: each volunteer brings home the resident they took out."""
    slots = (Slot(_at("07:00"), _at("11:00")), Slot(_at("14:00"), _at("18:00")))
    twins = [Volunteer(v, (1.80, 44.50), 30.0, slots, max_trips=2) for v in ("v1", "v2")]
    result = match_round_trips([], twins, [_trip("a", ret="15:00"), _trip("b", ret="15:00")], PARAMS)
    assert len(result.assignments) == 4
    for rid in ("a", "b"):
        assert len({a.volunteer_id for a in result.assignments if a.request_id == rid}) == 1


def test_a_way_back_taken_by_another_resident_is_no_return() -> None:
    out = Offer("out", FIGEAC, CAHORS, _at("08:00"), _at("08:30"), 2, 30.0)  # room for both
    back = _offer("back", CAHORS, FIGEAC, "11:20", seats=1)
    result = match_round_trips([out, back], [], [_trip("a"), _trip("b")], PARAMS)
    assert len(result.assignments) == 2
    (u,) = result.unmatched
    assert u.reason == "no_return" and u.near_miss is not None and u.near_miss.offer_id == "back"
