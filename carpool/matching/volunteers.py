"""Dedicated-mode helpers: choose which duties a volunteer keeps.

A volunteer serves at most ``max_trips`` requests of the batch and never two
duties whose busy intervals overlap; when the flow over-commits a volunteer we
keep the most valuable compatible subset, trying every slot of each request.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from carpool.matching.feasibility import Duty, duties_compatible
from carpool.matching.model import EPS_MIN, NearMiss, Params, Reason, Request, Volunteer, to_min
from carpool.matching.router import FloatArray, Router, haversine_km_v

Key = tuple[int, int, float]


def best_duty_subset(
    choices: Sequence[tuple[int, Sequence[Duty]]],
    max_trips: int,
    value: Callable[[int], tuple[int, int]],
    fixed: Sequence[Duty] = (),
) -> list[tuple[int, Duty]]:
    """Exact search: the compatible subset (one duty per request) of best value.

    ``choices`` lists (request index, its feasible duties for this volunteer);
    ``value`` gives (passengers, medical) of a request; ``fixed`` are duties the
    volunteer already keeps. The best subset maximises passengers, then medical
    trips, then minimises effort. Sizes are tiny (bounded by max_trips).
    """
    best: list[tuple[Key, list[tuple[int, Duty]]]] = [((0, 0, 0.0), [])]
    chosen: list[tuple[int, Duty]] = []
    room = max_trips - len(fixed)

    def dfs(pos: int, pax: int, med: int, effort: float) -> None:
        key = (pax, med, -effort)
        if key > best[0][0]:
            best[0] = (key, list(chosen))
        if pos == len(choices) or len(chosen) >= room:
            return
        req, duties = choices[pos]
        p, m = value(req)
        taken = [*fixed, *(d for _, d in chosen)]
        for duty in duties:
            if duties_compatible([*taken, duty]):
                chosen.append((req, duty))
                dfs(pos + 1, pax + p, med + m, effort + duty.effort_min)
                chosen.pop()
        dfs(pos + 1, pax, med, effort)

    if room > 0:
        dfs(0, 0, 0, 0.0)
    return best[0][1]


CHUNK = 512


class VolunteerTable:
    """All volunteers' slots as NumPy columns: the duty rule vectorised per request.

    Same formulas, in the same order, as the scalar reference
    :func:`carpool.matching.feasibility.volunteer_duties` (used to re-verify the
    duties that are finally kept).
    """

    def __init__(self, volunteers: Sequence[Volunteer], params: Params, router: Router) -> None:
        self.volunteers = list(volunteers)
        self.params, self.router = params, router
        self.slot_vol = np.array([k for k, v in enumerate(self.volunteers) for _ in v.slots], dtype=np.int64)
        self.slot_index = np.array([i for v in self.volunteers for i in range(len(v.slots))], dtype=np.int64)
        self.start = np.array([to_min(s.start) for v in self.volunteers for s in v.slots], dtype=np.float64)
        self.end = np.array([to_min(s.end) for v in self.volunteers for s in v.slots], dtype=np.float64)
        self.home = np.array([v.home for v in self.volunteers], dtype=np.float64).reshape(-1, 2)
        self.radius = np.array([v.radius_km for v in self.volunteers], dtype=np.float64)
        self.seats = np.array([v.seats for v in self.volunteers], dtype=np.int64)

    def _matrix(self, reqs: Sequence[Request]) -> dict[str, FloatArray]:
        """Requests × slots (broadcast): the natural duty and how much it misses the rules.

        Also returns "km" (requests × volunteers, home→pickup crow-fly) and the
        request columns used, so that diagnosis and search share one computation.
        """
        r, d = self.router, self.params.dwell_min
        hx, hy = self.home[None, :, 0], self.home[None, :, 1]
        col = np.array([(q.pickup[0], q.pickup[1], q.dropoff[0], q.dropoff[1]) for q in reqs]).reshape(-1, 4)
        px, py, dx, dy = (col[:, k : k + 1] for k in range(4))
        earliest = np.array([[to_min(q.earliest)] for q in reqs]).reshape(-1, 1)
        latest = np.array([[to_min(q.latest)] for q in reqs]).reshape(-1, 1)
        ret = np.array([[np.nan if q.return_time is None else to_min(q.return_time)] for q in reqs]).reshape(
            -1, 1
        )
        sv = self.slot_vol
        t_hp = r.time_min_v(hx, hy, px, py)[:, sv]
        t_pd = r.time_min_v(px, py, dx, dy)
        t_dh = r.time_min_v(dx, dy, hx, hy)[:, sv]
        t_dp = r.time_min_v(dx, dy, px, py)
        t_ph = r.time_min_v(px, py, hx, hy)[:, sv]
        pickup = np.maximum(earliest, self.start[None, :] + t_hp)
        dropoff = pickup + d + t_pd
        miss = np.maximum(0.0, dropoff - latest)
        has_ret = ~np.isnan(ret)
        end_one_way = dropoff + d
        end_return = ret + d + t_dp + d + t_ph
        end = np.where(has_ret, end_return, end_one_way)
        miss = np.where(has_ret, np.maximum(miss, dropoff + d - ret), miss)
        miss = np.maximum(miss, end - self.end[None, :])
        return {
            "km": haversine_km_v(hx, hy, px, py),
            "leave": pickup - t_hp,
            "pickup": pickup,
            "dropoff": dropoff,
            "end": end,
            "busy": np.where(has_ret, end_return, end_one_way + t_dh),
            "effort": np.where(has_ret, t_hp + t_pd + t_dp + t_ph + 4 * d, t_hp + t_pd + t_dh + 2 * d),
            "miss": miss,
        }

    def _usable(self, reqs: Sequence[Request], km: FloatArray) -> npt.NDArray[np.bool_]:
        """Requests × volunteers: within radius, enough seats, needs met."""
        pax = np.array([q.passengers for q in reqs]).reshape(-1, 1)
        ok = (km <= self.radius[None, :] + 1e-9) & (self.seats[None, :] >= pax)
        for i, q in enumerate(reqs):
            if q.needs:
                ok[i] &= np.array([q.needs <= v.capabilities for v in self.volunteers])
        return ok

    def duties_many(self, reqs: Sequence[Request]) -> list[dict[str, list[Duty]]]:
        """Feasible duties per volunteer id for each request, slot order (cf. volunteer_duties).

        Only (request, slot) pairs whose volunteer is usable (radius, seats, needs)
        are computed: the same element-wise formulas as :meth:`_matrix`, on pairs.
        """
        out: list[dict[str, list[Duty]]] = [{} for _ in reqs]
        if not self.volunteers or not len(self.slot_vol):
            return out
        r, d = self.router, self.params.dwell_min
        hx, hy = self.home[:, 0], self.home[:, 1]
        ids = [v.id for v in self.volunteers]
        for c0 in range(0, len(reqs), CHUNK):
            chunk = reqs[c0 : c0 + CHUNK]
            col = np.array([(*q.pickup, *q.dropoff) for q in chunk], dtype=np.float64).reshape(-1, 4)
            px, py, dx, dy = (col[:, k] for k in range(4))
            km = haversine_km_v(hx[None, :], hy[None, :], px[:, None], py[:, None])
            pairs = self._usable(chunk, km)[:, self.slot_vol]
            earliest = np.array([to_min(q.earliest) for q in chunk])
            latest = np.array([to_min(q.latest) for q in chunk])
            ret = np.array([np.nan if q.return_time is None else to_min(q.return_time) for q in chunk])
            if d >= 0:
                # Necessary conditions, exact in floating point (sums of non-negative terms only
                # grow): pickup >= slot start, so dropoff - latest >= start - latest; and the
                # duty ends after earliest (one way) or after the return time.
                pairs &= self.start[None, :] - latest[:, None] <= EPS_MIN
                floor = np.where(np.isnan(ret), earliest, ret)
                pairs &= floor[:, None] - self.end[None, :] <= EPS_MIN
            rows, slots = np.nonzero(pairs)
            if not len(rows):
                continue
            vol = self.slot_vol[slots]
            t_hp = r.time_min_v(hx[vol], hy[vol], px[rows], py[rows])
            t_pd = r.time_min_v(px, py, dx, dy)[rows]
            pickup = np.maximum(earliest[rows], self.start[slots] + t_hp)
            dropoff = pickup + d + t_pd
            miss = np.maximum(0.0, dropoff - latest[rows])
            first = np.flatnonzero(miss <= EPS_MIN)  # the later rules can only add to miss
            if not len(first):
                continue
            rows, slots, vol, t_hp, t_pd = rows[first], slots[first], vol[first], t_hp[first], t_pd[first]
            pickup, dropoff, miss, ret = pickup[first], dropoff[first], miss[first], ret[rows]
            pxr, pyr, dxr, dyr, hxr, hyr = px[rows], py[rows], dx[rows], dy[rows], hx[vol], hy[vol]
            t_dh = r.time_min_v(dxr, dyr, hxr, hyr)
            t_dp = r.time_min_v(dx, dy, px, py)[rows]
            t_ph = r.time_min_v(pxr, pyr, hxr, hyr)
            has_ret = ~np.isnan(ret)
            end_one_way = dropoff + d
            end_return = ret + d + t_dp + d + t_ph
            end = np.where(has_ret, end_return, end_one_way)
            miss = np.where(has_ret, np.maximum(miss, dropoff + d - ret), miss)
            miss = np.maximum(miss, end - self.end[slots])
            ok = np.flatnonzero(miss <= EPS_MIN)
            busy = np.where(has_ret, end_return, end_one_way + t_dh)
            effort = np.where(has_ret, t_hp + t_pd + t_dp + t_ph + 4 * d, t_hp + t_pd + t_dh + 2 * d)
            for i, v, k, leave, up, down, e, b, eff in zip(
                (rows[ok] + c0).tolist(),
                vol[ok].tolist(),
                self.slot_index[slots[ok]].tolist(),
                (pickup - t_hp)[ok].tolist(),
                pickup[ok].tolist(),
                dropoff[ok].tolist(),
                end[ok].tolist(),
                busy[ok].tolist(),
                effort[ok].tolist(),
                strict=True,
            ):
                out[i].setdefault(ids[v], []).append(Duty(k, leave, up, down, e, b, eff))
        return out

    def duties(self, req: Request) -> dict[str, list[Duty]]:
        return self.duties_many([req])[0]

    def nearest_miss(self, reqs: Sequence[Request]) -> list[tuple[int, int, float, Reason, NearMiss] | None]:
        """Per request, the volunteer closest to serving it alone (diagnosis)."""
        if not self.volunteers or not len(self.slot_vol):
            return [None] * len(reqs)
        out: list[tuple[int, int, float, Reason, NearMiss] | None] = []
        for c0 in range(0, len(reqs), CHUNK):
            chunk = reqs[c0 : c0 + CHUNK]
            m = self._matrix(chunk)
            out_km = np.maximum(0.0, m["km"] - self.radius[None, :])
            slot_miss = np.full(out_km.shape, np.inf)
            # slots are grouped by volunteer (slot_vol is non-decreasing): one reduceat
            owners, starts = np.unique(self.slot_vol, return_index=True)
            slot_miss[:, owners] = np.minimum.reduceat(m["miss"], starts, axis=1)
            seat_ok = self.seats[None, :] >= np.array([q.passengers for q in chunk]).reshape(-1, 1)
            needs_ok = np.ones(out_km.shape, dtype=bool)
            for i, q in enumerate(chunk):
                if q.needs:
                    needs_ok[i] = [q.needs <= v.capabilities for v in self.volunteers]
            fails = (out_km > 1e-9).astype(int) + (slot_miss > EPS_MIN) + (~seat_ok) + (~needs_ok)
            prio = np.where(out_km > 1e-9, 6, np.where(~seat_ok, 2, np.where(~needs_ok, 3, 5)))
            minutes = np.where(prio == 6, out_km, np.where(prio == 5, np.minimum(slot_miss, 1e6), 0.0))
            for i, req in enumerate(chunk):
                k = int(np.lexsort((minutes[i], prio[i], fails[i]))[0])
                out.append(self._explain(req, k, int(fails[i, k]), int(prio[i, k]), float(minutes[i, k])))
        return out

    def _explain(
        self, req: Request, k: int, fails: int, prio: int, mins: float
    ) -> tuple[int, int, float, Reason, NearMiss]:
        reason: Reason
        if prio == 6:
            reason, detail, shown = "outside_volunteer_radius", f"pickup {mins:.1f} km beyond the radius", 0.0
        elif prio == 2:
            reason, detail, shown = "no_seat", "not enough seats", 0.0
        elif prio == 3:
            reason, detail, shown = "needs_not_met", "vehicle lacks: " + ", ".join(sorted(req.needs)), 0.0
        else:
            reason, detail, shown = "no_volunteer_slot", "no slot fits the whole duty", round(mins, 1)
        return fails, prio, mins, reason, NearMiss(None, self.volunteers[k].id, reason, shown, detail)
