"""Brute-force reference implementation: slow, plain Python, obviously correct.

Tests compare the fast path (R-tree + NumPy + pruned search + flow) with these
functions, and the benchmark reports the speed-up over :func:`oracle_options`.
Nothing here is clever: loops over everything, every permutation, every subset.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from carpool.matching.model import (
    EPS_MIN,
    MatchResult,
    Offer,
    Params,
    Request,
    Volunteer,
    to_min,
)
from carpool.matching.router import Router, haversine_km


@dataclass(frozen=True, slots=True)
class OracleOption:
    depart: float
    pickup: float
    dropoff: float
    detour: float


def _budget(offer: Offer, t_oe: float) -> float:
    if offer.max_detour_min is not None:
        return float(offer.max_detour_min)
    return min(20.0, max(10.0, 0.25 * t_oe))


def oracle_single(offer: Offer, req: Request, params: Params, router: Router) -> OracleOption | None:
    """The spec's single-request rule, literally."""
    if not req.needs <= offer.capabilities or offer.seats < req.passengers:
        return None
    d = params.dwell_min
    t_op = router.time_min(offer.origin, req.pickup)
    t_pd = router.time_min(req.pickup, req.dropoff)
    t_de = router.time_min(req.dropoff, offer.destination)
    t_oe = router.time_min(offer.origin, offer.destination)
    detour = t_op + t_pd + t_de + 2 * d - t_oe
    if detour > _budget(offer, t_oe) + EPS_MIN:
        return None
    a, b = to_min(offer.depart_earliest), to_min(offer.depart_latest)
    t0 = max(a, to_min(req.earliest) - t_op)  # the earliest departure meeting "pickup >= earliest"
    if t0 > b + EPS_MIN:
        return None
    if t0 + t_op + d + t_pd > to_min(req.latest) + EPS_MIN:
        return None
    return OracleOption(t0, t0 + t_op, t0 + t_op + d + t_pd, detour)


def oracle_options(
    offers: Sequence[Offer], req: Request, params: Params, router: Router
) -> dict[str, OracleOption]:
    """Every offer on which the request alone is feasible."""
    out: dict[str, OracleOption] = {}
    for offer in offers:
        opt = oracle_single(offer, req, params, router)
        if opt is not None:
            out[offer.id] = opt
    return out


def _orders(k: int) -> list[tuple[tuple[int, bool], ...]]:
    stops = [(i, up) for i in range(k) for up in (True, False)]
    return [
        p
        for p in itertools.permutations(stops)
        if all(p.index((i, True)) < p.index((i, False)) for i in range(k))
    ]


def oracle_route_feasible(offer: Offer, reqs: Sequence[Request], params: Params, router: Router) -> bool:
    """Try every stop order of the requests on the offer; True if one keeps everything."""
    if any(not r.needs <= offer.capabilities for r in reqs):
        return False
    t_oe = router.time_min(offer.origin, offer.destination)
    return any(_order_ok(offer, reqs, order, params, router, t_oe) for order in _orders(len(reqs)))


def _order_ok(
    offer: Offer,
    reqs: Sequence[Request],
    order: Sequence[tuple[int, bool]],
    params: Params,
    router: Router,
    t_oe: float,
) -> bool:
    here, elapsed, load = offer.origin, 0.0, 0
    lo, hi = to_min(offer.depart_earliest), to_min(offer.depart_latest)
    for i, up in order:
        r = reqs[i]
        there = r.pickup if up else r.dropoff
        elapsed += router.time_min(here, there)
        if up:
            load += r.passengers
            lo = max(lo, to_min(r.earliest) - elapsed)
        else:
            load -= r.passengers
            hi = min(hi, to_min(r.latest) - elapsed)
        if load > offer.seats:
            return False
        elapsed += params.dwell_min
        here = there
    elapsed += router.time_min(here, offer.destination)
    return elapsed - t_oe <= _budget(offer, t_oe) + EPS_MIN and lo <= hi + EPS_MIN


def oracle_volunteer(vol: Volunteer, req: Request, params: Params, router: Router) -> list[tuple[float, ...]]:
    """(leave_home, pickup, dropoff, end, busy_until) for each slot that fits, in slot order."""
    if not req.needs <= vol.capabilities or req.passengers > vol.seats:
        return []
    if haversine_km(vol.home, req.pickup) > vol.radius_km + 1e-9:
        return []
    d = params.dwell_min
    out: list[tuple[float, ...]] = []
    for slot in vol.slots:
        start, end_slot = to_min(slot.start), to_min(slot.end)
        to_p = router.time_min(vol.home, req.pickup)
        pickup = max(to_min(req.earliest), start + to_p)
        dropoff = pickup + d + router.time_min(req.pickup, req.dropoff)
        if dropoff > to_min(req.latest) + EPS_MIN:
            continue
        if req.return_time is None:
            end = dropoff + d
            busy = end + router.time_min(req.dropoff, vol.home)
        else:
            ret = to_min(req.return_time)
            if dropoff + d > ret + EPS_MIN:
                continue
            end = (
                ret + d + router.time_min(req.dropoff, req.pickup) + d + router.time_min(req.pickup, vol.home)
            )
            busy = end
        if end <= end_slot + EPS_MIN:
            out.append((pickup - to_p, pickup, dropoff, end, busy))
    return out


def oracle_verify(
    offers: Sequence[Offer],
    volunteers: Sequence[Volunteer],
    requests: Sequence[Request],
    result: MatchResult,
    params: Params,
    router: Router,
) -> list[str]:
    """Every problem found in a result (empty list = everything re-verified)."""
    errors: list[str] = []
    offer_by = {o.id: o for o in offers}
    vol_by = {v.id: v for v in volunteers}
    req_by = {r.id: r for r in requests}
    ids = [a.request_id for a in result.assignments] + [u.request_id for u in result.unmatched]
    if sorted(ids) != sorted(req_by):
        errors.append("every request must be exactly once assigned or unmatched")
    assigned = {a.request_id: a for a in result.assignments}
    for plan in result.routes:
        offer = offer_by[plan.offer_id]
        members = sorted({s.request_id for s in plan.stops})
        reqs = [req_by[m] for m in members]
        order = [(members.index(s.request_id), s.kind == "pickup") for s in plan.stops]
        if len(order) != 2 * len(reqs) or len(set(order)) != len(order):
            errors.append(f"{plan.offer_id}: malformed stops")
            continue
        t0 = to_min(plan.depart_at)
        t_oe = router.time_min(offer.origin, offer.destination)
        if not to_min(offer.depart_earliest) - EPS_MIN <= t0 <= to_min(offer.depart_latest) + EPS_MIN:
            errors.append(f"{plan.offer_id}: departure outside window")
        here, clock, load = offer.origin, t0, 0
        for stop, (i, up) in zip(plan.stops, order, strict=True):
            r = reqs[i]
            there = r.pickup if up else r.dropoff
            clock += router.time_min(here, there)
            if abs(clock - to_min(stop.at)) > 1e-3:
                errors.append(f"{plan.offer_id}: stop time of {r.id} inconsistent")
            if up:
                load += r.passengers
                if clock < to_min(r.earliest) - EPS_MIN:
                    errors.append(f"{r.id}: picked up before earliest")
            else:
                load -= r.passengers
                if order.index((i, True)) > order.index((i, False)):
                    errors.append(f"{r.id}: dropped before pickup")
                if clock > to_min(r.latest) + EPS_MIN:
                    errors.append(f"{r.id}: dropped after latest")
            if load > offer.seats:
                errors.append(f"{plan.offer_id}: seats exceeded")
            if not r.needs <= offer.capabilities:
                errors.append(f"{r.id}: needs not met")
            clock += params.dwell_min
            here = there
        clock += router.time_min(here, offer.destination)
        if clock - t0 - t_oe > _budget(offer, t_oe) + EPS_MIN:
            errors.append(f"{plan.offer_id}: detour budget exceeded")
        for m in members:
            a = assigned.get(m)
            if a is None or a.offer_id != plan.offer_id:
                errors.append(f"{m}: in a route but not assigned to it")
    planned = {s.request_id for p in result.routes for s in p.stops}
    duties: dict[str, list[tuple[float, float]]] = {}
    for a in result.assignments:
        if a.offer_id is not None and a.request_id not in planned:
            errors.append(f"{a.request_id}: assigned to an offer without route")
        if a.volunteer_id is None:
            continue
        vol, r = vol_by[a.volunteer_id], req_by[a.request_id]
        fits = [
            o
            for o in oracle_volunteer(vol, r, params, router)
            if abs(o[1] - to_min(a.pickup_at)) < 1e-3 and abs(o[2] - to_min(a.dropoff_at)) < 1e-3
        ]
        if not fits:
            errors.append(f"{r.id}: volunteer duty not feasible")
            continue
        duties.setdefault(vol.id, []).append((fits[0][0], fits[0][4]))
    for vid, spans in duties.items():
        if len(spans) > vol_by[vid].max_trips:
            errors.append(f"{vid}: more than max_trips")
        spans.sort()
        if any(spans[k + 1][0] < spans[k][1] - EPS_MIN for k in range(len(spans) - 1)):
            errors.append(f"{vid}: overlapping duties")
    return errors


def oracle_max_served(
    offers: Sequence[Offer], requests: Sequence[Request], params: Params, router: Router
) -> int:
    """Maximum passengers servable when every offer holds one request (brute force).

    Only a lower bound for ``match_batch``: even a one-seat offer may carry several
    requests one after another, since the load is counted on board."""
    feas = [[o.id for o in offers if oracle_single(o, r, params, router) is not None] for r in requests]

    def choices(k: int, used: frozenset[str]) -> Iterator[frozenset[str]]:
        return (frozenset({oid}) for oid in feas[k] if oid not in used)

    return _max_passengers(requests, choices)


def oracle_max_round_trips(
    offers: Sequence[Offer], requests: Sequence[Request], params: Params, router: Router
) -> int:
    """Maximum passengers of fully served requests when every offer carries one leg (brute force).

    A round trip needs an offer for its out leg and another for its back leg
    (dropoff → pickup, ready from return_time, home by return_latest, default
    return_time + 90 min); a one-way request needs one offer.
    """
    from carpool.matching.roundtrip import leg_requests

    legs, _, back = leg_requests(requests)
    feas = [{o.id for o in offers if oracle_single(o, leg, params, router) is not None} for leg in legs]

    def choices(k: int, used: frozenset[str]) -> Iterator[frozenset[str]]:
        for out in feas[k] - used:
            b = back[k]
            returns = [None] if b is None else sorted(feas[b] - used - {out})
            for ret in returns:
                yield frozenset({out} | ({ret} if ret else set()))

    return _max_passengers(requests, choices)


def _max_passengers(
    requests: Sequence[Request], choices: Callable[[int, frozenset[str]], Iterable[frozenset[str]]]
) -> int:
    """Brute force in request order: each request takes one of its choices of offers (none
    already used) or is left out; the most passengers served."""
    memo: dict[tuple[int, frozenset[str]], int] = {}

    def best(k: int, used: frozenset[str]) -> int:
        if k == len(requests):
            return 0
        if (k, used) not in memo:
            value = best(k + 1, used)
            for taken in choices(k, used):
                value = max(value, requests[k].passengers + best(k + 1, used | taken))
            memo[(k, used)] = value
        return memo[(k, used)]

    return best(0, frozenset())
