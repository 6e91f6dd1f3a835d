"""One matching batch and the steps on it, shared by the one-way and the round-trip matchers.

A :class:`Batch` holds every request's single options (offers and volunteer
duties) and what has been placed so far. The steps are those of
:mod:`carpool.matching.assign`: a first min-cost flow round with exact repair,
residual rounds, then re-verification of every kept route and duty and the
reason each unserved request has. :mod:`carpool.matching.roundtrip` runs the
same steps on the legs of round trips.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import tzinfo

import numpy as np

from carpool.matching.feasibility import (
    Duty,
    RouteSolution,
    best_route,
    duties_compatible,
    single_route,
    volunteer_duties,
)
from carpool.matching.index import CandidateIndex, OfferHits
from carpool.matching.model import (
    Assignment,
    Leg,
    NearMiss,
    Offer,
    Params,
    Reason,
    Request,
    RoutePlan,
    Stop,
    Volunteer,
    from_min,
)
from carpool.matching.router import Router
from carpool.matching.volunteers import best_duty_subset

RESIDUAL_OPTIONS = 8
"""Offers tried per unserved request in residual rounds / greedy (best single detours)."""

OFFER_SEC_CAP = 999
VOLUNTEER_PENALTY = 1000
SEC_MAX = 2 * VOLUNTEER_PENALTY

Target = tuple[str, int | str]
"""("o", offer slot) or ("v", volunteer id)."""


@dataclass(slots=True)
class Batch:
    """Mutable state shared by the flow, the repair and greedy."""

    index: CandidateIndex
    offers: dict[str, Offer]
    requests: list[Request]
    hits: list[OfferHits]
    duties: list[dict[str, list[Duty]]]
    params: Params
    router: Router
    offer_sets: dict[int, list[int]] = field(default_factory=dict)
    offer_sol: dict[int, RouteSolution] = field(default_factory=dict)
    vol_kept: dict[str, list[tuple[int, Duty]]] = field(default_factory=dict)
    served: dict[int, Target] = field(default_factory=dict)
    route_calls: int = 0
    routes: dict[tuple[int, tuple[int, ...]], RouteSolution | None] = field(default_factory=dict)
    """Exact searches already made (residual rounds retry the same sets)."""

    def value(self, i: int) -> tuple[int, int]:
        r = self.requests[i]
        return r.passengers, int(r.medical)

    def route(self, slot: int, members: Sequence[int], fresh: bool = False) -> RouteSolution | None:
        """Exact insertion search for these requests (in this order) on the offer; memoised
        unless ``fresh`` (the final re-verification always recomputes)."""
        key = (slot, tuple(members))
        if not fresh and key in self.routes:
            return self.routes[key]
        self.route_calls += 1
        offer = self.offers[self.index.offer_id(slot)]
        sol = best_route(offer, [self.requests[i] for i in members], self.params, self.router)
        if not fresh:
            self.routes[key] = sol
        return sol

    def place_offer(self, i: int, slot: int, sol: RouteSolution) -> None:
        self.offer_sets.setdefault(slot, []).append(i)
        self.offer_sol[slot] = sol
        self.served[i] = ("o", slot)

    def place_volunteer(self, i: int, vid: str, duty: Duty) -> None:
        self.vol_kept.setdefault(vid, []).append((i, duty))
        self.served[i] = ("v", vid)

    def alone(self, i: int, slot: int) -> RouteSolution:
        """Request i alone on the offer, from the vectorised single check (no search)."""
        h = self.hits[i]
        k = int(np.flatnonzero(h.slots == slot)[0])
        return RouteSolution(float(h.depart[k]), float(h.detour[k]), ((0, True), (0, False)), ())

    def try_offer(self, i: int, slot: int) -> tuple[float, RouteSolution] | None:
        """Marginal detour of adding request i to the offer's current set, if feasible."""
        members = self.offer_sets.get(slot, [])
        if not members:
            alone = self.alone(i, slot)
            return alone.detour, alone
        sol = self.route(slot, [*members, i])
        return None if sol is None else (sol.detour - self.offer_sol[slot].detour, sol)

    def try_volunteer(self, i: int, vid: str) -> Duty | None:
        placed = self.vol_kept.get(vid, ())
        if len(placed) >= self.index.volunteers[vid].max_trips:
            return None
        kept = [d for _, d in placed]
        return next((d for d in self.duties[i][vid] if duties_compatible([*kept, d])), None)


def _weights(requests: Sequence[Request], n: int) -> tuple[int, int]:
    """Medical and passenger weights making the flow cost lexicographic over n requests."""
    med_w = n * SEC_MAX + 1
    return n * (med_w + SEC_MAX) + 1, med_w


def offer_sec(detour: float) -> int:
    return min(OFFER_SEC_CAP, max(0, round(detour * 10)))


def vol_sec(effort: float) -> int:
    return VOLUNTEER_PENALTY + min(VOLUNTEER_PENALTY - 1, max(0, round(effort)))


def solve_flow(
    n_requests: int,
    edges: Sequence[tuple[int, Target, int]],
    capacity: Callable[[Target], int],
    value: Callable[[int], tuple[int, int]],
) -> dict[int, Target]:
    """Best request→target choice: maximise value lexicographically, then min cost.

    ``edges`` are (request, target, secondary cost >= 0). Requests whose targets
    all have room for every adjacent request are decided without a solver.
    """
    degree: dict[Target, int] = {}
    for _, t, _ in edges:
        degree[t] = degree.get(t, 0) + 1
    binding = {t for t, d in degree.items() if d > capacity(t)}
    by_req: dict[int, list[tuple[int, Target]]] = {}
    for i, t, c in edges:
        by_req.setdefault(i, []).append((c, t))
    choice: dict[int, Target] = {}
    hard: list[int] = []
    for i, lst in by_req.items():
        if any(t in binding for _, t in lst):
            hard.append(i)
        else:
            choice[i] = min(lst, key=lambda ct: (ct[0], str(ct[1])))[1]
    if hard:
        choice.update(_min_cost_flow(hard, by_req, capacity, value))
    return choice


def _min_cost_flow(
    hard: list[int],
    by_req: dict[int, list[tuple[int, Target]]],
    capacity: Callable[[Target], int],
    value: Callable[[int], tuple[int, int]],
) -> dict[int, Target]:
    from ortools.graph.python import min_cost_flow

    n = len(hard)
    targets: dict[Target, int] = {}
    for i in hard:
        for _, t in by_req[i]:
            targets.setdefault(t, 2 + n + len(targets))
    # Arc order: source→sink spill, then per request its source arc followed by its
    # edges, then target→sink. Built once; only the request gains depend on the scale.
    deg = np.array([len(by_req[i]) for i in hard], dtype=np.int64)
    first = 1 + np.arange(n, dtype=np.int64) + np.concatenate(([0], np.cumsum(deg)[:-1]))
    n_edges = int(deg.sum())
    n_arcs = 1 + n + n_edges + len(targets)
    tails = np.zeros(n_arcs, dtype=np.int32)
    heads = np.ones(n_arcs, dtype=np.int32)
    caps = np.ones(n_arcs, dtype=np.int64)
    is_edge = np.ones(1 + n + n_edges, dtype=bool)
    is_edge[0] = False
    is_edge[first] = False
    edge_pos = np.flatnonzero(is_edge)
    req_of_edge = np.repeat(np.arange(n, dtype=np.int64), deg)
    caps[0] = n
    heads[first] = 2 + np.arange(n, dtype=np.int32)
    tails[edge_pos] = 2 + req_of_edge
    heads[edge_pos] = [targets[t] for i in hard for _, t in by_req[i]]
    edge_cost = np.array([c for i in hard for c, _ in by_req[i]], dtype=np.int64)
    tail_pos = np.arange(1 + n + n_edges, n_arcs)
    tails[tail_pos] = list(targets.values())
    caps[tail_pos] = [capacity(t) for t in targets]
    values = [value(i) for i in hard]
    for scale in (n, 1):
        pax_w, med_w = _weights([], scale)
        gains = np.array([pax * pax_w + med * med_w for pax, med in values], dtype=np.int64)
        costs = np.zeros(n_arcs, dtype=np.int64)
        costs[edge_pos] = edge_cost - gains[req_of_edge]
        flow = min_cost_flow.SimpleMinCostFlow()
        arcs = flow.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
        flow.set_nodes_supplies(np.array([0, 1], dtype=np.int32), np.array([n, -n], dtype=np.int64))
        if flow.solve() == flow.OPTIMAL:
            break
    else:  # pragma: no cover - only on absurd sizes
        raise RuntimeError("min-cost flow failed")
    flows = flow.flows(arcs)
    node_target = {node: t for t, node in targets.items()}
    out: dict[int, Target] = {}
    for a in np.flatnonzero(flows > 0).tolist():
        tail, head = int(tails[a]), int(heads[a])
        if 2 <= tail < 2 + n and head in node_target:
            out[hard[tail - 2]] = node_target[head]
    return out


def prepare(
    offers: Sequence[Offer],
    volunteers: Sequence[Volunteer],
    requests: Sequence[Request],
    params: Params,
    router: Router,
    index: CandidateIndex | None,
) -> Batch:
    check_unique_ids(requests)
    idx = index or CandidateIndex(offers, volunteers, params, router)
    return batch_of(idx, offers, requests, params, router)


def check_unique_ids(requests: Sequence[Request]) -> None:
    """Requests are told apart by id in the result, so an id may appear only once."""
    seen: set[str] = set()
    for r in requests:
        if r.id in seen:
            raise ValueError(f"duplicate request id {r.id!r}")
        seen.add(r.id)


def batch_of(
    idx: CandidateIndex, offers: Sequence[Offer], requests: Sequence[Request], params: Params, router: Router
) -> Batch:
    """The batch state with every request's single options (offers and duties)."""
    hits = idx.hits_many(requests)
    duties = idx.volunteer_table().duties_many(requests)
    return Batch(idx, {o.id: o for o in offers}, list(requests), hits, duties, params, router)


def _first_edges(b: Batch, allowed: Collection[int] | None = None) -> list[tuple[int, Target, int]]:
    """Every single option of each request (only those in ``allowed`` if given)."""
    edges: list[tuple[int, Target, int]] = []
    for i, h in enumerate(b.hits):
        if allowed is not None and i not in allowed:
            continue
        edges.extend(
            (i, ("o", s), offer_sec(d)) for s, d in zip(h.slots.tolist(), h.detour.tolist(), strict=True)
        )
        edges.extend((i, ("v", vid), vol_sec(ds[0].effort_min)) for vid, ds in b.duties[i].items())
    return edges


def _repair(b: Batch, choice: dict[int, Target]) -> None:
    """Keep, per offer and volunteer, the most valuable exactly-feasible subset."""
    per_offer: dict[int, list[int]] = {}
    per_vol: dict[str, list[int]] = {}
    for i, (kind, key) in sorted(choice.items()):
        if kind == "o":
            per_offer.setdefault(int(key), []).append(i)
        else:
            per_vol.setdefault(str(key), []).append(i)
    for slot, new in per_offer.items():
        base = b.offer_sets.get(slot, [])
        if not base and len(new) == 1:
            got = b.try_offer(new[0], slot)
            assert got is not None
            b.place_offer(new[0], slot, got[1])
            continue
        best: tuple[tuple[int, int, float], tuple[int, ...], RouteSolution] | None = None
        for size in range(min(len(new), b.params.max_requests_per_offer - len(base)), 0, -1):
            for sub in itertools.combinations(new, size):
                sol = b.route(slot, [*base, *sub])
                if sol is None:
                    continue
                pax = sum(b.value(i)[0] for i in sub)
                med = sum(b.value(i)[1] for i in sub)
                rank = (pax, med, -sol.detour)
                if best is None or rank > best[0]:
                    best = (rank, sub, sol)
        if best is not None:
            for i in best[1]:
                b.place_offer(i, slot, best[2])
    for vid, new in per_vol.items():
        vol = b.index.volunteers[vid]
        fixed = [d for _, d in b.vol_kept.get(vid, [])]
        ranked = sorted(new, key=lambda i: b.value(i), reverse=True)
        kept = best_duty_subset([(i, b.duties[i][vid]) for i in ranked], vol.max_trips, b.value, fixed)
        for i, duty in kept:
            b.place_volunteer(i, vid, duty)


def _residual_edges(
    b: Batch, allowed: Collection[int] | None = None
) -> tuple[list[tuple[int, Target, int]], Callable[[Target], int]]:
    """Edges of the unserved requests (only those in ``allowed`` if given)."""
    edges: list[tuple[int, Target, int]] = []
    for i, h in enumerate(b.hits):
        if i in b.served or (allowed is not None and i not in allowed):
            continue
        for s in h.slots[:RESIDUAL_OPTIONS]:
            slot = int(s)
            if len(b.offer_sets.get(slot, [])) >= b.params.max_requests_per_offer:
                continue
            got = b.try_offer(i, slot)
            if got is not None:
                edges.append((i, ("o", slot), offer_sec(got[0])))
        for vid in b.duties[i]:
            duty = b.try_volunteer(i, vid)
            if duty is not None:
                edges.append((i, ("v", vid), vol_sec(duty.effort_min)))

    def capacity(t: Target) -> int:
        kind, key = t
        if kind == "o":
            return 1 if b.offer_sets.get(int(key)) else b.offers[b.index.offer_id(int(key))].seats
        return 1

    return edges, capacity


def offer_route(
    b: Batch, slot: int, members: Sequence[int], paris: tzinfo, legs: Sequence[Leg] | None = None
) -> tuple[RoutePlan, dict[int, Assignment]]:
    """Re-verify an offer's route from scratch, then its plan and its requests' assignments
    (``legs`` gives each request's leg for round trips; all "out" without it)."""
    offer = b.offers[b.index.offer_id(slot)]
    if len(members) == 1:
        sol = single_route(offer, b.requests[members[0]], b.params, b.router)
    else:
        sol = b.route(slot, members, fresh=True)
    if sol is None:
        raise AssertionError(f"internal error: offer {offer.id} route no longer feasible")
    b.offer_sol[slot] = sol

    def leg(i: int) -> Leg:
        return "out" if legs is None else legs[i]

    stops = tuple(
        Stop(b.requests[members[k]].id, "pickup" if up else "dropoff", from_min(at, paris), leg(members[k]))
        for (k, up), at in zip(sol.order, sol.arrivals, strict=True)
    )
    plan = RoutePlan(offer.id, from_min(sol.depart, paris), stops, sol.detour)
    alone = {i: float(b.hits[i].detour[b.hits[i].slots == slot][0]) for i in members}
    total_alone = sum(alone.values())
    times: dict[int, dict[bool, float]] = {}
    for (k, up), at in zip(sol.order, sol.arrivals, strict=True):
        times.setdefault(members[k], {})[up] = at
    assignments: dict[int, Assignment] = {}
    for i in members:
        share = sol.detour * alone[i] / total_alone if total_alone > 0 else sol.detour / len(members)
        r = b.requests[i]
        assignments[i] = Assignment(
            r.id,
            offer.id,
            None,
            from_min(times[i][True], paris),
            from_min(times[i][False], paris),
            share,
            from_min(sol.depart, paris),
            r.passengers,
            r.medical,
            leg(i),
        )
    return plan, assignments


def verified_volunteer(b: Batch, vid: str, kept: Sequence[tuple[int, Duty]]) -> Volunteer:
    """The volunteer, once their kept duties are checked to fit their day together."""
    vol = b.index.volunteers[vid]
    if len(kept) > vol.max_trips or not duties_compatible([d for _, d in kept]):
        raise AssertionError(f"internal error: volunteer {vid} over-committed")
    return vol


def verify_duty(b: Batch, vol: Volunteer, r: Request, d: Duty) -> None:
    """The vectorised duty must be one the scalar duty rule finds for this request."""
    if not any(_same_duty(d, ref) for ref in volunteer_duties(vol, r, b.params, b.router)):
        raise AssertionError(f"internal error: duty of {vol.id} for {r.id} not feasible")


def duty_assignment(r: Request, vid: str, d: Duty, paris: tzinfo, leg: Leg = "out") -> Assignment:
    return Assignment(
        r.id,
        None,
        vid,
        from_min(d.pickup, paris),
        from_min(d.dropoff, paris),
        d.effort_min,
        from_min(d.leave_home, paris),
        r.passengers,
        r.medical,
        leg,
    )


def _same_duty(a: Duty, b: Duty) -> bool:
    """Vectorised duties equal the scalar reference up to rounding."""
    return a.slot_index == b.slot_index and all(
        abs(x - y) <= 1e-6
        for x, y in zip(
            (a.pickup, a.dropoff, a.end, a.busy_until),
            (b.pickup, b.dropoff, b.end, b.busy_until),
            strict=True,
        )
    )


def unserved_reason(b: Batch, i: int) -> tuple[Reason, NearMiss | None] | None:
    """Reason for a request that had options; None means "diagnose it"."""
    h = b.hits[i]
    if len(h.slots):
        slot = int(h.slots[0])
        oid = b.index.offer_id(slot)
        detail = "feasible alone; seats or detour budget used by other requests"
        return "taken_by_other_request", NearMiss(oid, None, "taken_by_other_request", 0.0, detail)
    if b.duties[i]:
        for vid in b.duties[i]:
            vol = b.index.volunteers[vid]
            if len(b.vol_kept.get(vid, [])) < vol.max_trips:
                detail = "feasible alone; overlaps another duty of this volunteer"
                return "taken_by_other_request", NearMiss(None, vid, "taken_by_other_request", 0.0, detail)
        vid = next(iter(b.duties[i]))
        detail = "feasible alone; volunteer already has max_trips duties"
        return "volunteer_trip_cap_reached", NearMiss(None, vid, "volunteer_trip_cap_reached", 0.0, detail)
    return None


def first_round(b: Batch, allowed: Collection[int] | None = None) -> None:
    """Flow over every single option at full capacity, then exact repair."""

    def capacity(t: Target) -> int:
        kind, key = t
        if kind == "o":
            return b.offers[b.index.offer_id(int(key))].seats
        return b.index.volunteers[str(key)].max_trips

    _repair(b, solve_flow(len(b.requests), _first_edges(b, allowed), capacity, b.value))


def residual_rounds(b: Batch, allowed: Collection[int] | None, rounds: int) -> None:
    """Residual flow + repair until nothing more is served (at most ``rounds`` times)."""
    for _ in range(rounds):
        edges, capacity = _residual_edges(b, allowed)
        if not edges:
            return
        before = len(b.served)
        _repair(b, solve_flow(len(b.requests), edges, capacity, b.value))
        if len(b.served) == before:
            return
