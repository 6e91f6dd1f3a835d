"""Exact feasibility rules: several requests on one offer, and volunteer duties.

The single-request rule for offers is vectorised in :mod:`carpool.matching.index`;
this module holds the combinatorial checks that the batch repair step relies on.
All times are float epoch minutes; comparisons allow :data:`EPS_MIN`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from carpool.matching.model import EPS_MIN, Offer, Params, Request, Volunteer, to_min
from carpool.matching.router import Router, haversine_km

INF = math.inf


def default_max_detour(direct_min: float) -> float:
    """The spec's default budget: clamp(25 % of the direct time, 10, 20) minutes."""
    return min(20.0, max(10.0, 0.25 * direct_min))


def offer_budget(offer: Offer, direct_min: float) -> float:
    return default_max_detour(direct_min) if offer.max_detour_min is None else float(offer.max_detour_min)


def needs_met(needs: frozenset[str], capabilities: frozenset[str]) -> bool:
    return needs <= capabilities


@dataclass(frozen=True, slots=True)
class RouteSolution:
    """Best stop order for a set of requests on one offer (min detour, then earliest)."""

    depart: float
    detour: float
    order: tuple[tuple[int, bool], ...]
    """(request index, is_pickup) in driving order."""
    arrivals: tuple[float, ...]
    """Arrival time at each stop of ``order`` (epoch minutes)."""


def best_route(
    offer: Offer, requests: Sequence[Request], params: Params, router: Router
) -> RouteSolution | None:
    """Exact search over every pickup-before-dropoff order, pruned soundly.

    Prunes are exact under the router contract (triangle inequality): the detour
    can only grow, the departure interval can only shrink and the load is checked
    at every stop. Returns None when no order keeps every constraint.
    """
    k = len(requests)
    if k == 0 or sum(r.passengers for r in requests) < 1:
        return None
    if any(not needs_met(r.needs, offer.capabilities) or r.passengers > offer.seats for r in requests):
        return None
    pts = [offer.origin, *(r.pickup for r in requests), *(r.dropoff for r in requests), offer.destination]
    n = len(pts)
    xy = np.array(pts, dtype=np.float64)
    matrix = router.time_min_v(xy[:, None, 0], xy[:, None, 1], xy[None, :, 0], xy[None, :, 1])
    np.fill_diagonal(matrix, 0.0)
    tt: list[list[float]] = matrix.tolist()
    end = n - 1
    t_oe = tt[0][end]
    budget = offer_budget(offer, t_oe)
    dwell = params.dwell_min
    earliest = [to_min(r.earliest) for r in requests]
    latest = [to_min(r.latest) for r in requests]
    pax = [r.passengers for r in requests]
    a, b = to_min(offer.depart_earliest), to_min(offer.depart_latest)
    best: list[RouteSolution | None] = [None]
    order: list[tuple[int, bool]] = []
    offsets: list[float] = []

    def dfs(cur: int, picked: int, dropped: int, elapsed: float, lo: float, hi: float, load: int) -> None:
        remaining = 2 * k - len(order)
        if elapsed + tt[cur][end] + remaining * dwell - t_oe > budget + EPS_MIN:
            return
        if remaining == 0:
            detour = elapsed + tt[cur][end] - t_oe
            sol = best[0]
            if (
                sol is None
                or detour < sol.detour - EPS_MIN
                or (detour <= sol.detour + EPS_MIN and lo < sol.depart)
            ):
                best[0] = RouteSolution(lo, detour, tuple(order), tuple(lo + off for off in offsets))
            return
        for i in range(k):
            bit = 1 << i
            if not picked & bit:
                if load + pax[i] > offer.seats:
                    continue
                arrive = elapsed + tt[cur][1 + i]
                nlo = max(lo, earliest[i] - arrive)
                if nlo > hi + EPS_MIN:
                    continue
                order.append((i, True))
                offsets.append(arrive)
                dfs(1 + i, picked | bit, dropped, arrive + dwell, nlo, hi, load + pax[i])
            elif not dropped & bit:
                arrive = elapsed + tt[cur][1 + k + i]
                nhi = min(hi, latest[i] - arrive)
                if lo > nhi + EPS_MIN:
                    continue
                order.append((i, False))
                offsets.append(arrive)
                dfs(1 + k + i, picked, dropped | bit, arrive + dwell, lo, nhi, load - pax[i])
            else:
                continue
            order.pop()
            offsets.pop()

    if a <= b + EPS_MIN:
        dfs(0, 0, 0, 0.0, a, b, 0)
    return best[0]


def single_route(offer: Offer, req: Request, params: Params, router: Router) -> RouteSolution | None:
    """The spec's single-request rule, scalar (re-verification of unshared offers)."""
    if not needs_met(req.needs, offer.capabilities) or req.passengers > offer.seats:
        return None
    d = params.dwell_min
    t_op, t_pd = router.time_min(offer.origin, req.pickup), router.time_min(req.pickup, req.dropoff)
    t_oe = router.time_min(offer.origin, offer.destination)
    detour = t_op + t_pd + router.time_min(req.dropoff, offer.destination) + 2 * d - t_oe
    t0 = max(to_min(offer.depart_earliest), to_min(req.earliest) - t_op)
    if detour > offer_budget(offer, t_oe) + EPS_MIN or t0 > to_min(offer.depart_latest) + EPS_MIN:
        return None
    if t0 + t_op + d + t_pd > to_min(req.latest) + EPS_MIN:
        return None
    return RouteSolution(t0, detour, ((0, True), (0, False)), (t0 + t_op, t0 + t_op + d + t_pd))


@dataclass(frozen=True, slots=True)
class Duty:
    """A volunteer duty in epoch minutes (see :func:`volunteer_duties` for the rule)."""

    slot_index: int
    leave_home: float
    pickup: float
    dropoff: float
    end: float
    busy_until: float
    effort_min: float


def volunteer_duties(volunteer: Volunteer, request: Request, params: Params, router: Router) -> list[Duty]:
    """Every slot in which the volunteer can serve the request alone, earliest first.

    Rule (documented in the package docstring): pickup at
    max(earliest, slot.start + t(H,P)); the volunteer leaves home t(H,P) before.
    Stops cost dwell; dropoff at pickup + dwell + t(P,D) must be <= latest.
    Without return the duty ends after the dropoff dwell; with return the volunteer
    waits at D, the passenger boards at return_time (dwell), drive D→P, dwell, P→H
    and the duty ends home. The duty end must be <= slot.end. The volunteer is busy
    until back home (one-way duties add the drive D→H), which is what the
    no-overlap rule between two duties of one volunteer uses.
    """
    if not needs_met(request.needs, volunteer.capabilities) or request.passengers > volunteer.seats:
        return []
    if haversine_km(volunteer.home, request.pickup) > volunteer.radius_km + 1e-9:
        return []
    return [duty for duty, miss in _all_duties(volunteer, request, params, router) if miss <= EPS_MIN]


def _all_duties(
    volunteer: Volunteer, request: Request, params: Params, router: Router
) -> list[tuple[Duty, float]]:
    """Compute the natural duty in every slot, with how much it misses by."""
    home, p, d = volunteer.home, request.pickup, request.dropoff
    dwell = params.dwell_min
    t_hp, t_pd, t_dh = router.time_min(home, p), router.time_min(p, d), router.time_min(d, home)
    earliest, latest = to_min(request.earliest), to_min(request.latest)
    ret = None if request.return_time is None else to_min(request.return_time)
    trials: list[tuple[Duty, float]] = []
    for i, slot in enumerate(volunteer.slots):
        s, e = to_min(slot.start), to_min(slot.end)
        pickup = max(earliest, s + t_hp)
        dropoff = pickup + dwell + t_pd
        miss = max(0.0, dropoff - latest)
        if ret is None:
            end = dropoff + dwell
            busy = end + t_dh
            effort = t_hp + t_pd + t_dh + 2 * dwell
        else:
            miss = max(miss, dropoff + dwell - ret)
            t_dp, t_ph = router.time_min(d, p), router.time_min(p, home)
            end = ret + dwell + t_dp + dwell + t_ph
            busy = end
            effort = t_hp + t_pd + t_dp + t_ph + 4 * dwell
        miss = max(miss, end - e)
        trials.append((Duty(i, pickup - t_hp, pickup, dropoff, end, busy, effort), miss))
    return trials


def duties_compatible(duties: Sequence[Duty]) -> bool:
    """No two duties of one volunteer overlap (busy interval [leave_home, busy_until])."""
    spans = sorted((d.leave_home, d.busy_until) for d in duties)
    return all(spans[i + 1][0] >= spans[i][1] - EPS_MIN for i in range(len(spans) - 1))
