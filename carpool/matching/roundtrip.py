"""Round trips: both legs of an appointment matched jointly.

A request with ``return_time`` has two legs: out (pickup → dropoff in
[earliest, latest]) and back (dropoff → pickup, ready from ``return_time``, home
by ``return_latest``, default ``return_time`` + 90 min). Each leg may be carried
by any offer going that way, or by a volunteer's one-way duty; a volunteer may
also do both legs in one duty, waiting at the appointment (today's duty rule).
A round trip counts as served only when both legs are: a resident is never
taken somewhere without a way back.

Objective, lexicographic as in :mod:`carpool.matching.assign`: passengers of
fully served requests, then medical requests, then least secondary cost (offer
detour; a volunteer duty costs a penalty plus its minutes), then the same
driver for both legs.

* Up to :data:`EXACT_LIMIT` requests (an association's day): exact. Every
  feasible packing of legs on each offer is enumerated (exact insertion search
  per subset) and CP-SAT chooses columns and duties. A day too dense to enumerate
  within fixed counts goes to the heuristic (``stats["exact"]`` says which answered).
* Above: a heuristic on the machinery of ``match_batch`` (min-cost flow over
  the legs, exact repair per offer), then half-served round trips are released
  and both legs are inserted together, most valuable first. Its gap to the
  exact answer is measured in ``benchmarks/RESULTS.md``.

Batches without any round trip are handed to :func:`match_batch` unchanged.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from carpool.clock import PARIS
from carpool.matching.assign import match_batch
from carpool.matching.batch import (
    RESIDUAL_OPTIONS,
    SEC_MAX,
    Batch,
    Target,
    batch_of,
    check_unique_ids,
    duty_assignment,
    first_round,
    offer_route,
    offer_sec,
    residual_rounds,
    unserved_reason,
    verified_volunteer,
    verify_duty,
    vol_sec,
)
from carpool.matching.feasibility import (
    Duty,
    RouteSolution,
    duties_compatible,
    single_route,
)
from carpool.matching.index import CandidateIndex
from carpool.matching.model import (
    EPS_MIN,
    Assignment,
    Leg,
    MatchResult,
    NearMiss,
    Offer,
    Params,
    Reason,
    Request,
    Unmatched,
    Volunteer,
    from_min,
    to_min,
)
from carpool.matching.router import CrowFlyRouter, Router

RETURN_WINDOW_MIN = 90.0
"""Default time to get home: return_latest = return_time + this."""
EXACT_LIMIT = 60
"""Batches up to this many requests are solved exactly (CP-SAT)."""
EXACT_DETERMINISTIC_LIMIT = 10.0
"""CP-SAT's deterministic time limit (about seconds, independent of the machine's load, so
the same file gives the same answer); a daily problem is proved optimal far below it."""
IMPROVE_DETERMINISTIC_LIMIT = 1.0
"""The same for the improvement of the heuristic's answer on a dense day (any answer found
is kept, as it is never worse than the hint)."""
MAX_COLUMNS_PER_OFFER = 500
MAX_COLUMNS = 20_000
MAX_ROUTE_SEARCHES = 5_000
"""Packings enumerated per offer, in all, and exact insertion searches spent on them (about
half a second): past any of them the batch goes to the heuristic, improved by CP-SAT over
single legs and the heuristic's packings (stats["exact"] = 0), rather than solved slowly.
Counts, not clock time, so that the same file gives the same answer."""


def return_latest(request: Request) -> datetime:
    """The end of the back leg's window (requires ``return_time``)."""
    assert request.return_time is not None
    if request.return_latest is not None:
        return request.return_latest
    return request.return_time + timedelta(minutes=RETURN_WINDOW_MIN)


def back_leg(r: Request) -> Request:
    """The way home of a round trip as a one-way request: from the appointment, home in its window."""
    assert r.return_time is not None
    return Request(
        r.id, r.dropoff, r.pickup, r.return_time, return_latest(r), r.passengers, r.needs, r.medical
    )


def leg_requests(requests: Sequence[Request]) -> tuple[list[Request], list[int], list[int | None]]:
    """The legs as one-way requests: (legs, request of each leg, back leg of each request).

    Out legs come first in request order (leg i is request i's out leg), then
    the back legs of the round trips.
    """
    legs = [
        r
        if r.return_time is None and r.return_latest is None
        else Request(r.id, r.pickup, r.dropoff, r.earliest, r.latest, r.passengers, r.needs, r.medical)
        for r in requests
    ]
    owner = list(range(len(requests)))
    back: list[int | None] = [None] * len(requests)
    for k, r in enumerate(requests):
        if r.return_time is not None:
            back[k] = len(legs)
            owner.append(k)
            legs.append(back_leg(r))
    return legs, owner, back


@dataclass(frozen=True, slots=True)
class Waiting:
    """A volunteer who takes the resident, waits, and brings them home (one duty)."""

    duty: Duty
    back_pickup: float
    back_dropoff: float


def _waiting_duties(
    index: CandidateIndex, requests: Sequence[Request], router: Router, params: Params
) -> list[dict[str, list[Waiting]]]:
    """Per request: the waiting duties (both legs) that also bring the resident home in time."""
    out: list[dict[str, list[Waiting]]] = [{} for _ in requests]
    rts = [k for k, r in enumerate(requests) if r.return_time is not None]
    if not rts or not index.volunteers:
        return out
    found = index.volunteer_table().duties_many([requests[k] for k in rts])
    for k, per_vol in zip(rts, found, strict=True):
        r = requests[k]
        assert r.return_time is not None
        up = to_min(r.return_time)
        down = up + params.dwell_min + router.time_min(r.dropoff, r.pickup)
        if down > to_min(return_latest(r)) + EPS_MIN:
            continue
        for vid, duties in per_vol.items():
            out[k][vid] = [Waiting(d, up, down) for d in duties]
    return out


@dataclass(slots=True)
class _Trips:
    """The legs' batch plus what only round trips have."""

    b: Batch
    requests: list[Request]
    owner: list[int]
    back: list[int | None]
    waiting: list[dict[str, list[Waiting]]]
    wait_kept: dict[int, tuple[str, Waiting]]
    """Request → the waiting duty serving both its legs."""

    def legs_of(self, k: int) -> list[int]:
        b = self.back[k]
        return [k] if b is None else [k, b]

    def has_option(self, leg: int) -> bool:
        return bool(len(self.b.hits[leg].slots)) or bool(self.b.duties[leg])

    def servable(self, k: int) -> bool:
        """Every leg has an option on its own, or a volunteer can wait."""
        return all(self.has_option(leg) for leg in self.legs_of(k)) or bool(self.waiting[k])


def _prepare_trips(
    offers: Sequence[Offer],
    volunteers: Sequence[Volunteer],
    requests: Sequence[Request],
    params: Params,
    router: Router,
) -> _Trips:
    check_unique_ids(requests)
    legs, owner, back = leg_requests(requests)
    idx = CandidateIndex(offers, volunteers, params, router)
    b = batch_of(idx, offers, legs, params, router)
    return _Trips(b, list(requests), owner, back, _waiting_duties(idx, requests, router, params), {})


def match_round_trips(
    offers: Sequence[Offer],
    volunteers: Sequence[Volunteer],
    requests: Sequence[Request],
    params: Params | None = None,
    router: Router | None = None,
    *,
    exact_limit: int = EXACT_LIMIT,
) -> MatchResult:
    """Match a batch where some requests are round trips (see the module docstring).

    Assignments carry ``leg``; a round trip has exactly one "out" and one "back"
    assignment or is unmatched. Without round trips this is :func:`match_batch`.
    """
    params = params or Params()
    router = router or CrowFlyRouter(params.circuity, params.speed_kmh)
    if all(r.return_time is None for r in requests):
        return match_batch(offers, volunteers, requests, params, router)
    started = time.perf_counter()
    t = _prepare_trips(offers, volunteers, requests, params, router)
    proved = _solve_exact(t) if len(requests) <= exact_limit else None
    if proved is None:
        _solve_heuristic(t)
        if len(requests) <= exact_limit:
            _improve(t)
    exact = bool(proved)
    result = _finish_trips(t)
    result.stats["exact"] = int(exact)
    result.stats["solve_ms"] = round(1000 * (time.perf_counter() - started), 1)
    return result


# -- exact ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Column:
    slot: int
    legs: tuple[int, ...]
    sol: RouteSolution


def _offer_columns(t: _Trips, usable: set[int]) -> list[_Column] | None:
    """Every feasible packing of legs per offer (grown from feasible smaller packings).

    None when the enumeration goes past :data:`MAX_COLUMNS_PER_OFFER`, :data:`MAX_COLUMNS`
    or :data:`MAX_ROUTE_SEARCHES` (dense days: many legs fit many cars).
    """
    b = t.b
    by_slot: dict[int, list[int]] = {}
    for leg, h in enumerate(b.hits):
        if t.owner[leg] in usable:
            for s in h.slots.tolist():
                by_slot.setdefault(int(s), []).append(leg)
    columns: list[_Column] = []
    searches = b.route_calls + MAX_ROUTE_SEARCHES
    for slot, cands in sorted(by_slot.items()):
        layer: dict[tuple[int, ...], RouteSolution] = {(leg,): b.alone(leg, slot) for leg in cands}
        found = dict(layer)
        for size in range(2, min(b.params.max_requests_per_offer, len(cands)) + 1):
            grown: dict[tuple[int, ...], RouteSolution] = {}
            for base in layer:
                for leg in cands:
                    if leg <= base[-1] or t.owner[leg] in {t.owner[x] for x in base}:
                        continue
                    members = (*base, leg)
                    if any(members[:j] + members[j + 1 :] not in layer for j in range(size - 1)):
                        continue
                    sol = b.route(slot, list(members))
                    if sol is not None:
                        grown[members] = sol
                too_many = len(found) + len(grown) > MAX_COLUMNS_PER_OFFER
                if too_many or len(columns) + len(found) > MAX_COLUMNS or b.route_calls > searches:
                    return None
            found.update(grown)
            layer = grown
            if not layer:
                break
        columns.extend(_Column(slot, legs, sol) for legs, sol in found.items())
    return columns


def _solve_exact(t: _Trips) -> bool | None:
    """CP-SAT over every offer packing and volunteer duty, placed into the batch.

    True when proved optimal; None (nothing placed) when the packings are too many
    or the optimum is not proved within the limit: the heuristic then answers.
    """
    usable = {k for k in range(len(t.requests)) if t.servable(k)}
    columns = _offer_columns(t, usable)
    if columns is None:
        return None
    return _cp_sat(t, usable, columns, improve=False)


def _improve(t: _Trips) -> None:
    """After the heuristic on a small batch: CP-SAT over every single leg per offer, the
    heuristic's own packings and every duty, started from the heuristic's answer.

    Never worse than the heuristic, and at least the best answer with one leg per offer
    (the brute-force floor of the tests), also on days too dense to enumerate.
    """
    b = t.b
    usable = {k for k in range(len(t.requests)) if t.servable(k)}
    columns = [
        _Column(int(s), (leg,), b.alone(leg, int(s)))
        for leg, h in enumerate(b.hits)
        if t.owner[leg] in usable
        for s in h.slots.tolist()
    ]
    columns.extend(
        _Column(slot, tuple(members), b.offer_sol[slot])
        for slot, members in b.offer_sets.items()
        if len(members) > 1
    )
    _cp_sat(t, usable, columns, improve=True)


def _cp_sat(t: _Trips, usable: set[int], columns: list[_Column], improve: bool) -> bool | None:
    """Choose columns and duties (see :func:`_solve_exact`); with ``improve``, the current
    placement is the hint and is replaced only by what CP-SAT finds (never worse)."""
    from ortools.sat.python import cp_model

    b = t.b
    m = cp_model.CpModel()
    served = {k: m.new_bool_var(f"y{k}") for k in usable}
    cover: dict[int, list[cp_model.IntVar]] = {leg: [] for k in usable for leg in t.legs_of(k)}
    terms: list[tuple[cp_model.IntVar, int]] = []
    col_vars: list[tuple[cp_model.IntVar, _Column]] = []
    per_slot: dict[int, list[cp_model.IntVar]] = {}
    kept = {(slot, tuple(members)) for slot, members in b.offer_sets.items()}
    hints: list[tuple[cp_model.IntVar, bool]] = [(y, k in b.served) for k, y in served.items()]
    for c in columns:
        x = m.new_bool_var("")
        col_vars.append((x, c))
        per_slot.setdefault(c.slot, []).append(x)
        for leg in c.legs:
            cover[leg].append(x)
        terms.append((x, -2 * offer_sec(c.sol.detour)))
        hints.append((x, (c.slot, c.legs) in kept))
    for xs in per_slot.values():
        m.add_at_most_one(xs)
    chosen_duties = {id(d) for placed in b.vol_kept.values() for _, d in placed}
    chosen_duties |= {id(w) for _, w in t.wait_kept.values()}
    duty_vars: list[tuple[cp_model.IntVar, str, int, Duty | Waiting]] = []
    per_vol: dict[str, list[tuple[cp_model.IntVar, Duty]]] = {}
    one_way: dict[tuple[int, str, bool], list[cp_model.IntVar]] = {}
    for leg, per in enumerate(b.duties):
        if t.owner[leg] not in usable:
            continue
        for vid, duties in per.items():
            for d in duties:
                x = m.new_bool_var("")
                duty_vars.append((x, vid, leg, d))
                per_vol.setdefault(vid, []).append((x, d))
                cover[leg].append(x)
                terms.append((x, -2 * vol_sec(d.effort_min)))
                one_way.setdefault((t.owner[leg], vid, leg != t.owner[leg]), []).append(x)
                hints.append((x, id(d) in chosen_duties))
    for k in usable:
        for vid, waits in t.waiting[k].items():
            for w in waits:
                x = m.new_bool_var("")
                duty_vars.append((x, vid, k, w))
                per_vol.setdefault(vid, []).append((x, w.duty))
                for leg in t.legs_of(k):
                    cover[leg].append(x)
                terms.append((x, 1 - 2 * vol_sec(w.duty.effort_min)))  # same driver both ways
                hints.append((x, id(w) in chosen_duties))
    for (k, vid, is_back), xs in one_way.items():
        if is_back and (k, vid, False) in one_way:
            same = m.new_bool_var("")
            m.add(same <= sum(xs))
            m.add(same <= sum(one_way[(k, vid, False)]))
            terms.append((same, 1))
    for vid, chosen in per_vol.items():
        m.add(sum(x for x, _ in chosen) <= b.index.volunteers[vid].max_trips)
        for (x1, d1), (x2, d2) in itertools.combinations(chosen, 2):
            if not duties_compatible([d1, d2]):
                m.add_at_most_one([x1, x2])
    for k in usable:
        for leg in t.legs_of(k):
            m.add(sum(cover[leg]) == served[k])
    med_w = 2 * SEC_MAX * (len(cover) + 1) + len(usable) + 1
    pax_w = med_w * (len(usable) + 1)
    gains = [(served[k], b.value(k)[0] * pax_w + b.value(k)[1] * med_w) for k in usable]
    variables = [x for x, _ in gains] + [x for x, _ in terms]
    m.maximize(cp_model.LinearExpr.weighted_sum(variables, [w for _, w in gains] + [w for _, w in terms]))
    if improve:
        for x, on in hints:
            m.add_hint(x, on)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1  # deterministic: the same file gives the same answer
    solver.parameters.max_deterministic_time = (
        IMPROVE_DETERMINISTIC_LIMIT if improve else EXACT_DETERMINISTIC_LIMIT
    )
    status = solver.solve(m)
    if status != cp_model.OPTIMAL and not (improve and status == cp_model.FEASIBLE):
        return None
    _clear(t)
    for x, c in col_vars:
        if solver.boolean_value(x):
            for leg in c.legs:
                b.place_offer(leg, c.slot, c.sol)
    for x, vid, key, pick in duty_vars:
        if solver.boolean_value(x):
            if isinstance(pick, Waiting):
                _place_waiting(t, key, vid, pick)
            else:
                b.place_volunteer(key, vid, pick)
    return not improve


def _clear(t: _Trips) -> None:
    t.b.offer_sets.clear()
    t.b.offer_sol.clear()
    t.b.vol_kept.clear()
    t.b.served.clear()
    t.wait_kept.clear()


def _place_waiting(t: _Trips, k: int, vid: str, w: Waiting) -> None:
    t.b.place_volunteer(k, vid, w.duty)
    back = t.back[k]
    assert back is not None
    t.b.served[back] = ("v", vid)
    t.wait_kept[k] = (vid, w)


# -- heuristic -----------------------------------------------------------------------------


def _solve_heuristic(t: _Trips, rounds: int = 3) -> None:
    """Flow over the legs, release half-served round trips, insert both legs together."""
    b = t.b
    eligible = {leg for leg, k in enumerate(t.owner) if t.servable(k) and t.has_option(leg)}
    first_round(b, eligible)
    residual_rounds(b, eligible, rounds)
    _release_half_served(t)
    _insert_round_trips(t)
    one_way = {leg for leg in eligible if t.back[t.owner[leg]] is None}
    residual_rounds(b, one_way, rounds)
    _insert_round_trips(t)
    _release_half_served(t)  # a no-op unless taking a leg off emptied a route


def _unplace(b: Batch, leg: int) -> list[int]:
    """Take a leg off its offer or volunteer; returns legs dropped with it (a route that
    no longer works without it — rare, stops are not monotone in time — is emptied)."""
    kind, key = b.served.pop(leg)
    if kind == "v":
        b.vol_kept[str(key)] = [(i, d) for i, d in b.vol_kept[str(key)] if i != leg]
        return []
    slot = int(key)
    members = [i for i in b.offer_sets[slot] if i != leg]
    sol = None
    if members:
        sol = _single_sol(b, slot, members[0]) if len(members) == 1 else b.route(slot, members)
    if sol is None:
        b.offer_sets.pop(slot, None)
        b.offer_sol.pop(slot, None)
        for i in members:
            b.served.pop(i, None)
        return members
    b.offer_sets[slot] = members
    b.offer_sol[slot] = sol
    return []


def _single_sol(b: Batch, slot: int, leg: int) -> RouteSolution | None:
    offer = b.offers[b.index.offer_id(slot)]
    return single_route(offer, b.requests[leg], b.params, b.router)


def _release_half_served(t: _Trips) -> None:
    """Until stable: a round trip with one leg only gives that leg back."""
    b = t.b
    changed = True
    while changed:
        changed = False
        for k, back in enumerate(t.back):
            if back is None or k in t.wait_kept:
                continue
            legs = [leg for leg in (k, back) if leg in b.served]
            if len(legs) == 1:
                _unplace(b, legs[0])
                changed = True


def _best_leg_option(b: Batch, leg: int) -> tuple[int, Target, RouteSolution | Duty] | None:
    """Cheapest way to add one leg to what is kept: (secondary cost, target, route or duty)."""
    best: tuple[int, Target, RouteSolution | Duty] | None = None
    for s in b.hits[leg].slots[:RESIDUAL_OPTIONS].tolist():
        if len(b.offer_sets.get(int(s), [])) >= b.params.max_requests_per_offer:
            continue
        got = b.try_offer(leg, int(s))
        if got is not None and (best is None or offer_sec(got[0]) < best[0]):
            best = (offer_sec(got[0]), ("o", int(s)), got[1])
    if best is not None:
        return best
    for vid in b.duties[leg]:
        duty = b.try_volunteer(leg, vid)
        if duty is not None and (best is None or vol_sec(duty.effort_min) < best[0]):
            best = (vol_sec(duty.effort_min), ("v", vid), duty)
    return best


def _place(b: Batch, leg: int, target: Target, how: RouteSolution | Duty) -> None:
    if target[0] == "o":
        assert isinstance(how, RouteSolution)
        b.place_offer(leg, int(target[1]), how)
    else:
        assert isinstance(how, Duty)
        b.place_volunteer(leg, str(target[1]), how)


def _insert_round_trips(t: _Trips) -> None:
    """Unserved round trips, most valuable first: both legs placed, or neither."""
    b = t.b
    todo = [k for k, back in enumerate(t.back) if back is not None and k not in b.served and t.servable(k)]
    todo.sort(key=lambda k: b.value(k), reverse=True)
    for k in todo:
        back = t.back[k]
        assert back is not None
        wait = _best_waiting(t, k)
        out = _best_leg_option(b, k)
        ret = None
        if out is not None:
            _place(b, k, out[1], out[2])
            ret = _best_leg_option(b, back)
            if ret is None:
                _unplace(b, k)
            else:
                _place(b, back, ret[1], ret[2])
        if wait is None or (
            out is not None and ret is not None and out[0] + ret[0] < vol_sec(wait[1].duty.effort_min)
        ):
            continue
        if out is not None and ret is not None:  # waiting is cheaper: the state before, then the duty
            _unplace(b, back)
            _unplace(b, k)
        _place_waiting(t, k, wait[0], wait[1])


def _best_waiting(t: _Trips, k: int) -> tuple[str, Waiting] | None:
    b = t.b
    best: tuple[str, Waiting] | None = None
    for vid, waits in t.waiting[k].items():
        placed = b.vol_kept.get(vid, [])
        if len(placed) >= b.index.volunteers[vid].max_trips:
            continue
        kept = [d for _, d in placed]
        w = next((w for w in waits if duties_compatible([*kept, w.duty])), None)
        if w is not None and (best is None or w.duty.effort_min < best[1].duty.effort_min):
            best = (vid, w)
    return best


# -- result --------------------------------------------------------------------------------


def _finish_trips(t: _Trips) -> MatchResult:
    """Re-verify every route and duty, check atomicity, build assignments and reasons."""
    b = t.b
    result = MatchResult()
    legs: dict[int, Assignment] = {}
    kind: list[Leg] = ["out" if t.owner[i] == i else "back" for i in range(len(b.requests))]
    for slot, members in sorted(b.offer_sets.items()):
        plan, assignments = offer_route(b, slot, members, PARIS, kind)
        result.routes.append(plan)
        legs.update(assignments)
    for vid, kept in sorted(b.vol_kept.items()):
        vol = verified_volunteer(b, vid, kept)
        for i, d in kept:
            legs.update(_duty_assignments(t, i, vid, d, vol))
    for k, back in enumerate(t.back):
        if back is not None and (k in legs) != (back in legs):
            raise AssertionError(f"internal error: round trip {t.requests[k].id} half served")
    for k in range(len(t.requests)):
        result.assignments.extend(legs[leg] for leg in t.legs_of(k) if leg in legs)
    _unmatched(t, result, set(legs))
    _stats(t, result, set(legs))
    return result


def _duty_assignments(t: _Trips, i: int, vid: str, d: Duty, vol: Volunteer) -> dict[int, Assignment]:
    """The legs one duty carries, each re-verified against the scalar duty rule."""
    b = t.b
    waiting = t.wait_kept.get(i)
    r = t.requests[i] if waiting is not None else b.requests[i]
    verify_duty(b, vol, r, d)
    kind: Leg = "out" if t.owner[i] == i else "back"
    out = {i: duty_assignment(r, vid, d, PARIS, kind)}
    if waiting is not None:
        back = t.back[i]
        assert back is not None
        w = waiting[1]
        if w.back_dropoff > to_min(return_latest(r)) + EPS_MIN:
            raise AssertionError(f"internal error: {r.id} brought home too late")
        out[back] = Assignment(
            r.id,
            None,
            vid,
            from_min(w.back_pickup, PARIS),
            from_min(w.back_dropoff, PARIS),
            0.0,
            from_min(w.back_pickup, PARIS),
            r.passengers,
            r.medical,
            "back",
        )
    return out


def _unmatched(t: _Trips, result: MatchResult, done: set[int]) -> None:
    """A reason per unserved request; ``no_return`` when only the way back is impossible."""
    b = t.b
    why: dict[int, tuple[Reason, NearMiss | None] | None] = {}
    lonely: list[int] = []  # legs to diagnose
    for k in range(len(t.requests)):
        if k in done:
            continue
        back, waits = t.back[k], bool(t.waiting[k])
        out_ok = t.has_option(k) or waits
        if not out_ok:
            why[k] = None
            lonely.append(k)
        elif back is not None and not (t.has_option(back) or waits):
            why[k] = None
            lonely.append(back)
        elif back is not None and _only_back_missing(t, k, back):
            found = unserved_reason(b, back)
            why[k] = ("no_return", None if found is None else found[1])
        else:
            found = unserved_reason(b, k) or (None if back is None else unserved_reason(b, back))
            if found is None and waits:
                found = ("taken_by_other_request", _taken(next(iter(t.waiting[k]))))
            if found is None:
                lonely.append(k)
            why[k] = found
    diagnosed = dict(zip(lonely, b.index.diagnose_many([b.requests[i] for i in lonely]), strict=True))
    for k, found in sorted(why.items()):
        back = t.back[k]
        if found is None and k in diagnosed:
            found = diagnosed[k]
        elif found is None and back is not None:
            found = ("no_return", diagnosed[back][1])
        assert found is not None
        result.unmatched.append(Unmatched(t.requests[k].id, found[0], found[1]))


def _only_back_missing(t: _Trips, k: int, back: int) -> bool:
    """The way out would still fit next to what is kept, the way back would not."""
    out_fits = _best_leg_option(t.b, k) is not None or _best_waiting(t, k) is not None
    return out_fits and _best_leg_option(t.b, back) is None


def _taken(vid: str) -> NearMiss:
    detail = "feasible alone; the volunteer's time is used by other requests"
    return NearMiss(None, vid, "taken_by_other_request", 0.0, detail)


def _stats(t: _Trips, result: MatchResult, done: set[int]) -> None:
    b = t.b
    served = [r for k, r in enumerate(t.requests) if k in done]
    trips = [k for k, back in enumerate(t.back) if back is not None]
    result.stats = {
        "offers": len(b.offers),
        "volunteers": len(b.index.volunteers),
        "requests": len(t.requests),
        "served_requests": len(served),
        "served_passengers": sum(r.passengers for r in served),
        "served_medical": sum(1 for r in served if r.medical),
        "served_by_volunteers": len({a.request_id for a in result.assignments if a.volunteer_id is not None}),
        "shared_offers": sum(1 for m in b.offer_sets.values() if len(m) > 1),
        "total_offer_detour_min": round(sum(s.detour for s in b.offer_sol.values()), 1),
        "unmatched": len(result.unmatched),
        "round_trips": len(trips),
        "served_round_trips": sum(1 for k in trips if k in done),
        "no_return": sum(1 for u in result.unmatched if u.reason == "no_return"),
    }


# -- baseline ------------------------------------------------------------------------------


def outward_first_greedy(
    offers: Sequence[Offer],
    volunteers: Sequence[Volunteer],
    requests: Sequence[Request],
    params: Params | None = None,
    router: Router | None = None,
) -> MatchResult:
    """The benchmark's baseline: today's greedy for the way out, then a way back if any.

    Requests in input order take their cheapest offer (or a waiting volunteer);
    then round trips carried out by an offer look for a way back the same way.
    Only fully served requests count; the stranded are in ``stats["stranded"]``.
    """
    params = params or Params()
    router = router or CrowFlyRouter(params.circuity, params.speed_kmh)
    t = _prepare_trips(offers, volunteers, requests, params, router)
    b = t.b
    for k, back in enumerate(t.back):
        opt = _best_leg_option(b, k)
        if opt is not None and opt[1][0] == "o":
            _place(b, k, opt[1], opt[2])
            continue
        wait = _best_waiting(t, k) if back is not None else None
        if wait is not None:
            _place_waiting(t, k, *wait)
        elif opt is not None:
            _place(b, k, opt[1], opt[2])
    stranded = 0
    for k, back in enumerate(t.back):
        if back is None or k not in b.served or back in b.served:
            continue
        opt = _best_leg_option(b, back)
        if opt is None:
            stranded += 1
        else:
            _place(b, back, opt[1], opt[2])
    served = [
        r for k, r in enumerate(t.requests) if k in b.served and (t.back[k] in b.served or t.back[k] is None)
    ]
    result = MatchResult()
    result.stats = {
        "requests": len(requests),
        "served_requests": len(served),
        "served_passengers": sum(r.passengers for r in served),
        "served_medical": sum(1 for r in served if r.medical),
        "stranded": stranded,
    }
    return result


__all__ = ["RETURN_WINDOW_MIN", "leg_requests", "match_round_trips", "outward_first_greedy", "return_latest"]
