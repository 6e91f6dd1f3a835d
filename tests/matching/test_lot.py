"""Hand-made scenarios on real Lot communes, with answers checked by hand."""

from __future__ import annotations

from datetime import datetime, timedelta

from support.matchkit import PARAMS, PARIS, ROUTER

from carpool.gazetteer import read_places
from carpool.matching import CandidateIndex, Offer, Request, match_batch
from carpool.matching.model import Point

DAY = datetime(2026, 12, 1, tzinfo=PARIS)


def _hospital() -> Point:
    [h] = [p for p in read_places() if p.name == "Centre hospitalier de Cahors"]
    return (h.lon, h.lat)


def _driver(lot: dict[str, Point]) -> Offer:
    at = DAY.replace(hour=8)
    return Offer("figeac-cahors", lot["46102"], lot["46042"], at, at, 3)


def test_figeac_cahors_driver_picks_up_in_cajarc(lot: dict[str, Point]) -> None:
    offer = _driver(lot)
    # direct Figeac→Cahors ~78.7 min, so the default budget is 25 % = 19.7 min;
    # Cajarc (46045) is on the Lot valley road between the two: ~3.7 min extra driving + 6 min of stops
    direct = ROUTER.time_min(offer.origin, offer.destination)
    assert 78 < direct < 80
    req = Request(
        "cajarc", lot["46045"], _hospital(), DAY.replace(hour=7), DAY.replace(hour=10), medical=True
    )
    [opt] = CandidateIndex([offer]).candidates(req)
    t_op = ROUTER.time_min(offer.origin, req.pickup)
    assert opt.depart_at == offer.depart_earliest
    assert abs((opt.pickup_at - offer.depart_earliest).total_seconds() / 60 - t_op) < 1e-6
    assert opt.dropoff_at < DAY.replace(hour=10)
    assert 9 < opt.detour_min < 12
    res = match_batch([offer], [], [req], PARAMS)
    [a] = res.assignments
    assert a.offer_id == "figeac-cahors" and a.pickup_at.hour == 8 and a.dropoff_at.hour == 9


def test_village_far_off_the_route_is_refused(lot: dict[str, Point]) -> None:
    offer = _driver(lot)
    # a commune found by computation: 28-32 km (crow-fly) from the Figeac-Cahors line
    from carpool.gazetteer import read_communes

    def off_route(p: Point) -> float:
        direct = ROUTER.time_min(offer.origin, offer.destination)
        return ROUTER.time_min(offer.origin, p) + ROUTER.time_min(p, offer.destination) - direct

    far = [c for c in read_communes() if c.insee.startswith("46") and 28 <= _dist_to_route(lot, c) <= 32]
    assert far, "a Lot commune ~30 km off the Figeac-Cahors line exists"
    village = far[0]
    req = Request("far", (village.lon, village.lat), _hospital(), DAY.replace(hour=7), DAY.replace(hour=10))
    assert off_route(req.pickup) > 20
    res = match_batch([offer], [], [req], PARAMS)
    [u] = res.unmatched
    assert u.reason == "detour_too_long"
    assert (
        u.near_miss is not None and u.near_miss.offer_id == "figeac-cahors" and u.near_miss.missed_by_min > 10
    )


def _dist_to_route(lot: dict[str, Point], c: object) -> float:
    from carpool.matching.router import haversine_km

    a, b = lot["46102"], lot["46042"]
    p = (c.lon, c.lat)  # type: ignore[attr-defined]
    return min(
        haversine_km(p, (a[0] + t / 50 * (b[0] - a[0]), a[1] + t / 50 * (b[1] - a[1]))) for t in range(51)
    )


def test_driver_ten_minutes_too_late_is_reported(lot: dict[str, Point]) -> None:
    offer = _driver(lot)
    t_ride = (
        ROUTER.time_min(offer.origin, lot["46045"])
        + PARAMS.dwell_min
        + ROUTER.time_min(lot["46045"], _hospital())
    )
    latest = offer.depart_earliest + timedelta(minutes=t_ride - 10)
    req = Request("early", lot["46045"], _hospital(), DAY.replace(hour=7), latest, medical=True)
    res = match_batch([offer], [], [req], PARAMS)
    [u] = res.unmatched
    assert u.reason == "no_offer_in_time_window"
    assert u.near_miss is not None and abs(u.near_miss.missed_by_min - 10.0) < 0.05
    assert "too late" in u.near_miss.detail


def test_wheelchair_and_seats(lot: dict[str, Point]) -> None:
    offer = _driver(lot)
    base = dict(
        pickup=lot["46045"], dropoff=_hospital(), earliest=DAY.replace(hour=7), latest=DAY.replace(hour=10)
    )
    wheel = Request("w", needs=frozenset({"wheelchair"}), **base)  # type: ignore[arg-type]
    crowd = Request("c", passengers=4, **base)  # type: ignore[arg-type]
    res = match_batch([offer], [], [wheel, crowd], PARAMS)
    assert {u.request_id: u.reason for u in res.unmatched} == {"w": "needs_not_met", "c": "no_seat"}
    nobody = match_batch([], [], [wheel], PARAMS)
    assert nobody.unmatched[0].reason == "no_offer"
