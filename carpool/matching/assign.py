"""Batch assignment: min-cost flow on the feasibility graph, then exact repair.

Objective, lexicographic: most passengers served, then most medical trips, then
least "secondary cost" = detour minutes on offers, and for volunteers a fixed
penalty larger than any offer detour plus the duty's minutes. Offers and
volunteers are solved jointly, the penalty making en-route offers preferred
whenever they serve the same passengers (a volunteer's time is the scarcer
resource).

1. Single-request options: R-tree + vectorised exact check for every request.
2. Min-cost flow (OR-Tools) with an offer's capacity = its seats and a
   volunteer's = max_trips. Requests whose options all have spare capacity
   take their best option directly (OR-Tools is only imported when needed).
3. Repair: the requests the flow put on one offer are checked together by the
   exact insertion search; if they do not fit, the most valuable feasible subset
   is kept. Volunteers keep their most valuable non-overlapping duties.
4. Residual rounds: unserved requests get edges only where the exact check
   accepts them next to what is already there (at most one addition per offer
   or volunteer per round), and the flow runs again until nothing changes.
5. Every kept route and duty is re-verified; the unmatched get a reason.

The batch state and the steps live in :mod:`carpool.matching.batch`, shared with
the round-trip matcher; this module puts them together.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo

from carpool.clock import PARIS
from carpool.matching.batch import (
    RESIDUAL_OPTIONS,
    Batch,
    duty_assignment,
    first_round,
    offer_route,
    prepare,
    residual_rounds,
    unserved_reason,
    verified_volunteer,
    verify_duty,
)
from carpool.matching.feasibility import RouteSolution
from carpool.matching.index import CandidateIndex
from carpool.matching.model import (
    Assignment,
    MatchResult,
    Offer,
    Params,
    Request,
    RoutePlan,
    Unmatched,
    Volunteer,
)
from carpool.matching.router import CrowFlyRouter, Router


def _finish(b: Batch) -> MatchResult:
    """Re-verify every route and duty, then build the result and the reasons."""
    result = MatchResult()
    result.routes, result.assignments = _verified_plans(b, PARIS)
    result.unmatched = _unmatched(b)
    result.stats = _stats(b, unmatched=len(result.unmatched))
    return result


def _verified_plans(b: Batch, paris: tzinfo) -> tuple[list[RoutePlan], list[Assignment]]:
    """Every kept offer route and volunteer duty checked again from scratch, in request order."""
    routes: list[RoutePlan] = []
    assignments: list[Assignment] = []
    for slot, members in sorted(b.offer_sets.items()):
        plan, by_request = offer_route(b, slot, members, paris)
        routes.append(plan)
        assignments.extend(by_request.values())
    for vid, kept in sorted(b.vol_kept.items()):
        vol = verified_volunteer(b, vid, kept)
        for i, d in kept:
            r = b.requests[i]
            verify_duty(b, vol, r, d)
            assignments.append(duty_assignment(r, vid, d, paris))
    order = {r.id: k for k, r in enumerate(b.requests)}
    assignments.sort(key=lambda a: order[a.request_id])
    return routes, assignments


def _unmatched(b: Batch) -> list[Unmatched]:
    """Why each request left unserved is: taken by another, else the index's diagnosis."""
    reasons = {i: unserved_reason(b, i) for i in range(len(b.requests)) if i not in b.served}
    lonely = [i for i, why in reasons.items() if why is None]
    reasons.update(zip(lonely, b.index.diagnose_many([b.requests[i] for i in lonely]), strict=True))
    unmatched = []
    for i, why in sorted(reasons.items()):
        assert why is not None
        unmatched.append(Unmatched(b.requests[i].id, why[0], why[1]))
    return unmatched


def _stats(b: Batch, *, unmatched: int) -> dict[str, float | int]:
    """The batch's counters (after the routes are verified: the detour total reads them)."""
    served = [b.requests[i] for i in b.served]
    return {
        "offers": len(b.offers),
        "volunteers": len(b.index.volunteers),
        "requests": len(b.requests),
        "served_requests": len(served),
        "served_passengers": sum(r.passengers for r in served),
        "served_medical": sum(1 for r in served if r.medical),
        "served_by_volunteers": sum(1 for t in b.served.values() if t[0] == "v"),
        "shared_offers": sum(1 for m in b.offer_sets.values() if len(m) > 1),
        "total_offer_detour_min": round(sum(s.detour for s in b.offer_sol.values()), 1),
        "unmatched": unmatched,
    }


def match_batch(
    offers: Sequence[Offer],
    volunteers: Sequence[Volunteer],
    requests: Sequence[Request],
    params: Params | None = None,
    router: Router | None = None,
    *,
    index: CandidateIndex | None = None,
    max_rounds: int = 8,
) -> MatchResult:
    """Assign a batch of requests to offers and volunteers (see module docstring)."""
    params = params or Params()
    router = router or CrowFlyRouter(params.circuity, params.speed_kmh)
    b = prepare(offers, volunteers, requests, params, router, index)
    first_round(b)
    residual_rounds(b, None, max_rounds)
    return _finish(b)


def greedy_batch(
    offers: Sequence[Offer],
    volunteers: Sequence[Volunteer],
    requests: Sequence[Request],
    params: Params | None = None,
    router: Router | None = None,
    *,
    index: CandidateIndex | None = None,
) -> MatchResult:
    """Baseline: first come, first served, each request takes its cheapest option.

    Requests in input (submission) order; each tries its best single-detour
    offers with the exact insertion check and keeps the least marginal detour;
    volunteers only when no offer fits.
    """
    params = params or Params()
    router = router or CrowFlyRouter(params.circuity, params.speed_kmh)
    b = prepare(offers, volunteers, requests, params, router, index)
    for i in range(len(requests)):
        best: tuple[float, int, RouteSolution] | None = None
        for s in b.hits[i].slots[:RESIDUAL_OPTIONS]:
            if len(b.offer_sets.get(int(s), [])) >= params.max_requests_per_offer:
                continue
            got = b.try_offer(i, int(s))
            if got is not None and (best is None or got[0] < best[0]):
                best = (got[0], int(s), got[1])
        if best is not None:
            b.place_offer(i, best[1], best[2])
            continue
        vols = sorted(b.duties[i], key=lambda v: b.duties[i][v][0].effort_min)
        for vid in vols:
            duty = b.try_volunteer(i, vid)
            if duty is not None:
                b.place_volunteer(i, vid, duty)
                break
    return _finish(b)
