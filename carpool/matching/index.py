"""Candidate search: an R-tree over offers in (lon, lat, time) + a NumPy exact check.

Each offer is stored once as a 3-D box: the bounding box of its O→E segment
expanded by the largest distance from that segment at which a pickup or dropoff
can still satisfy the detour budget (semi-minor axis of the ellipse with foci O
and E, in crow-fly km, converted to degrees), times its "on the road" interval
[depart_earliest, depart_latest + t(O,E) + budget]. A request is looked up with
the point box of its pickup over [earliest, latest]; the survivors are checked
exactly, vectorised over NumPy columns. Offers whose box would not be reliable
in degrees (near the poles, across the antimeridian, very long) get a world-wide
box: still correct, just always checked.

Offers live in fixed-size NumPy columns addressed by a slot number (also the
R-tree id); removed slots are recycled, so add/remove are O(log n).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC

import numpy as np
import numpy.typing as npt
from rtree import index as rtree_index

from carpool.matching.feasibility import default_max_detour
from carpool.matching.model import (
    EPS_MIN,
    NearMiss,
    Offer,
    Option,
    Params,
    Reason,
    Request,
    Volunteer,
    from_min,
    to_min,
)
from carpool.matching.router import CrowFlyRouter, FloatArray, Router, haversine_km
from carpool.matching.volunteers import VolunteerTable

IntArray = npt.NDArray[np.int64]
KM_PER_DEG = math.pi * 6371.0 / 180.0
TIME_MARGIN_MIN = 1e-3
DIAG_RADIUS_KM = 30.0
DIAG_TIME_MIN = 180.0
CHUNK = 1024
_FLOAT_COLS = ("o_lon", "o_lat", "e_lon", "e_lat", "a", "b", "t_oe", "budget")


@dataclass(frozen=True, slots=True)
class OfferHits:
    """Vectorised single-request results for one request over candidate offers."""

    slots: IntArray
    detour: FloatArray
    depart: FloatArray
    t_op: FloatArray
    t_pd: FloatArray
    dwell: float

    @property
    def pickup(self) -> FloatArray:
        return np.asarray(self.depart + self.t_op, dtype=np.float64)

    @property
    def dropoff(self) -> FloatArray:
        return np.asarray(self.depart + self.t_op + self.dwell + self.t_pd, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class _Pairs:
    """The single-request rule evaluated over (request row, offer slot) pairs."""

    rid: IntArray
    slots: IntArray
    t_op: FloatArray
    t_pd: FloatArray
    detour: FloatArray
    excess: FloatArray
    lo: FloatArray
    hi: FloatArray
    lo_req: FloatArray
    hi_req: FloatArray
    needs_ok: npt.NDArray[np.bool_]
    seat_ok: npt.NDArray[np.bool_]

    @property
    def feasible(self) -> npt.NDArray[np.bool_]:
        return (self.excess <= EPS_MIN) & (self.lo <= self.hi + EPS_MIN) & self.needs_ok & self.seat_ok


class CandidateIndex:
    """Incrementally updatable index of offers (and a small volunteer pool)."""

    def __init__(
        self,
        offers: Iterable[Offer] = (),
        volunteers: Iterable[Volunteer] = (),
        params: Params | None = None,
        router: Router | None = None,
    ) -> None:
        self.params = params or Params()
        self.router: Router = router or CrowFlyRouter(self.params.circuity, self.params.speed_kmh)
        self._cap_bits: dict[str, int] = {}
        self._slot_of: dict[str, int] = {}
        self._ids: list[str | None] = []
        self._free: list[int] = []
        self._size = 0
        self._cols: dict[str, FloatArray] = {c: np.zeros(0) for c in _FLOAT_COLS}
        self._seats = np.zeros(0, dtype=np.int32)
        self._caps = np.zeros(0, dtype=np.int64)
        self.volunteers: dict[str, Volunteer] = {}
        self._vol_table: VolunteerTable | None = None
        offers = list(offers)
        self._grow(len(offers))
        rows = [self._store(o) for o in offers]
        props = rtree_index.Property()
        props.dimension = 3
        if rows:
            self._tree = rtree_index.Index(((s, box, None) for s, box in rows), properties=props)
        else:
            self._tree = rtree_index.Index(properties=props)
        for v in volunteers:
            self.add_volunteer(v)

    # -- storage -----------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._slot_of)

    def __contains__(self, offer_id: object) -> bool:
        return offer_id in self._slot_of

    def _grow(self, extra: int) -> None:
        need = len(self._ids) + extra - len(self._free)
        if need <= self._size:
            return
        new = max(need, 2 * self._size, 64)
        for c in _FLOAT_COLS:
            col = np.zeros(new)
            col[: self._size] = self._cols[c][: self._size]
            self._cols[c] = col
        seats = np.zeros(new, dtype=np.int32)
        seats[: self._size] = self._seats[: self._size]
        caps = np.zeros(new, dtype=np.int64)
        caps[: self._size] = self._caps[: self._size]
        self._seats, self._caps, self._size = seats, caps, new

    def _bits(self, names: frozenset[str], create: bool) -> int:
        bits = 0
        for name in names:
            if name not in self._cap_bits:
                if not create:
                    return -1
                if len(self._cap_bits) >= 62:
                    raise ValueError("too many distinct vehicle capabilities (max 62)")
                self._cap_bits[name] = len(self._cap_bits)
            bits |= 1 << self._cap_bits[name]
        return bits

    def _store(self, offer: Offer) -> tuple[int, tuple[float, ...]]:
        if offer.id in self._slot_of:
            raise ValueError(f"duplicate offer id {offer.id!r}")
        slot = self._free.pop() if self._free else len(self._ids)
        if slot == len(self._ids):
            self._ids.append(offer.id)
        else:
            self._ids[slot] = offer.id
        t_oe = self.router.time_min(offer.origin, offer.destination)
        values = (
            offer.origin[0],
            offer.origin[1],
            offer.destination[0],
            offer.destination[1],
            to_min(offer.depart_earliest),
            to_min(offer.depart_latest),
            t_oe,
            default_max_detour(t_oe) if offer.max_detour_min is None else float(offer.max_detour_min),
        )
        for c, v in zip(_FLOAT_COLS, values, strict=True):
            self._cols[c][slot] = v
        self._seats[slot] = offer.seats
        self._caps[slot] = self._bits(offer.capabilities, create=True)
        self._slot_of[offer.id] = slot
        return slot, self._box(slot)

    def _box(self, slot: int) -> tuple[float, ...]:
        """The offer's 3-D box; recomputed identically for deletion."""
        c = self._cols
        o_lon, o_lat, e_lon, e_lat = (float(c[k][slot]) for k in ("o_lon", "o_lat", "e_lon", "e_lat"))
        t_oe, budget = float(c["t_oe"][slot]), float(c["budget"][slot])
        t_lo = float(c["a"][slot]) - TIME_MARGIN_MIN
        t_hi = float(c["b"][slot]) + t_oe + max(budget, 0.0) + TIME_MARGIN_MIN
        direct_km = haversine_km((o_lon, o_lat), (e_lon, e_lat))
        reach_km = max(0.0, t_oe + budget) * self.router.crow_speed_kmh / 60.0
        half_major = max(reach_km, direct_km) / 2
        minor_km = math.sqrt(max(0.0, half_major**2 - (direct_km / 2) ** 2))
        expand_km = minor_km * 1.01 + 0.3 + direct_km**2 / 6371.0
        dlat = expand_km / KM_PER_DEG
        lat_lo, lat_hi = min(o_lat, e_lat) - dlat, max(o_lat, e_lat) + dlat
        worst_lat = max(abs(lat_lo), abs(lat_hi))
        lon_lo, lon_hi = min(o_lon, e_lon), max(o_lon, e_lon)
        if worst_lat < 80 and lon_hi - lon_lo < 20 and direct_km < 1000:
            dlon = expand_km / (KM_PER_DEG * math.cos(math.radians(worst_lat)))
            if lon_lo - dlon > -180 and lon_hi + dlon < 180:
                return (lon_lo - dlon, lat_lo, t_lo, lon_hi + dlon, lat_hi, t_hi)
        return (-180.0, -90.0, t_lo, 180.0, 90.0, t_hi)

    def add(self, offer: Offer) -> None:
        """Insert one offer (O(log n)); ids must be unique."""
        self._grow(1)
        slot, box = self._store(offer)
        self._tree.insert(slot, box)

    def remove(self, offer_id: str) -> None:
        """Delete one offer by id; unknown ids raise KeyError."""
        slot = self._slot_of.pop(offer_id)
        self._tree.delete(slot, self._box(slot))
        self._ids[slot] = None
        self._free.append(slot)

    def add_volunteer(self, volunteer: Volunteer) -> None:
        if volunteer.id in self.volunteers:
            raise ValueError(f"duplicate volunteer id {volunteer.id!r}")
        self.volunteers[volunteer.id] = volunteer
        self._vol_table = None

    def remove_volunteer(self, volunteer_id: str) -> None:
        del self.volunteers[volunteer_id]
        self._vol_table = None

    def offer_id(self, slot: int) -> str:
        oid = self._ids[slot]
        assert oid is not None
        return oid

    # -- exact vectorised check -----------------------------------------------------
    def _req_cols(self, reqs: Sequence[Request]) -> tuple[dict[str, FloatArray], dict[str, IntArray]]:
        """Request columns: floats (positions, times) and integers (passengers, needs bits)."""
        pts = np.array([(q.pickup[0], q.pickup[1], q.dropoff[0], q.dropoff[1]) for q in reqs]).reshape(-1, 4)
        floats = {
            "p_lon": pts[:, 0],
            "p_lat": pts[:, 1],
            "d_lon": pts[:, 2],
            "d_lat": pts[:, 3],
            "t_pd": self.router.time_min_v(pts[:, 0], pts[:, 1], pts[:, 2], pts[:, 3]),
            "earliest": np.array([to_min(q.earliest) for q in reqs], dtype=np.float64),
            "latest": np.array([to_min(q.latest) for q in reqs], dtype=np.float64),
        }
        ints = {
            "pax": np.array([q.passengers for q in reqs], dtype=np.int64),
            "need": np.array([self._bits(q.needs, create=False) for q in reqs], dtype=np.int64),
        }
        return floats, ints

    def _pairs(
        self, rid: IntArray, slots: IntArray, cols: tuple[dict[str, FloatArray], dict[str, IntArray]]
    ) -> _Pairs:
        """The spec's single-request rule over (request, offer) pairs, vectorised."""
        c, dwell = self._cols, self.params.dwell_min
        rc, ri = cols
        t_op = self.router.time_min_v(
            c["o_lon"][slots], c["o_lat"][slots], rc["p_lon"][rid], rc["p_lat"][rid]
        )
        t_pd = rc["t_pd"][rid]
        t_de = self.router.time_min_v(
            rc["d_lon"][rid], rc["d_lat"][rid], c["e_lon"][slots], c["e_lat"][slots]
        )
        detour = t_op + t_pd + t_de + 2 * dwell - c["t_oe"][slots]
        lo_req = rc["earliest"][rid] - t_op
        hi_req = rc["latest"][rid] - t_op - dwell - t_pd
        lo = np.maximum(c["a"][slots], lo_req)
        hi = np.minimum(c["b"][slots], hi_req)
        need = ri["need"][rid]
        needs_ok = (need >= 0) & ((self._caps[slots] & need) == need)
        seat_ok = self._seats[slots] >= ri["pax"][rid]
        return _Pairs(
            rid,
            slots,
            t_op,
            t_pd,
            detour,
            detour - c["budget"][slots],
            lo,
            hi,
            lo_req,
            hi_req,
            needs_ok,
            seat_ok,
        )

    def _split_hits(self, n: int, p: _Pairs) -> list[OfferHits]:
        keep = np.flatnonzero(p.feasible)
        rid, det, slots = p.rid[keep], p.detour[keep], p.slots[keep]
        order = keep[np.lexsort((slots, det, rid))]
        cuts = np.cumsum(np.bincount(p.rid[order], minlength=n))[:-1]
        dwell = self.params.dwell_min
        return [
            OfferHits(p.slots[o], p.detour[o], p.lo[o], p.t_op[o], p.t_pd[o], dwell)
            for o in np.split(order, cuts)
        ]

    def evaluate(self, slots: IntArray, req: Request) -> OfferHits:
        """Keep the slots where the request alone is feasible (best first, earliest departure)."""
        return self._split_hits(
            1, self._pairs(np.zeros(len(slots), dtype=np.int64), slots, self._req_cols([req]))
        )[0]

    def hits_many(self, reqs: Sequence[Request]) -> list[OfferHits]:
        """Feasible offers of every request of a batch: bulk R-tree query + one NumPy pass."""
        out: list[OfferHits] = []
        for c0 in range(0, len(reqs), CHUNK):
            chunk = reqs[c0 : c0 + CHUNK]
            rid, slots = self._query_many(chunk, 0.0, 0.0)
            out.extend(self._split_hits(len(chunk), self._pairs(rid, slots, self._req_cols(chunk))))
        return out

    def _query_many(self, reqs: Sequence[Request], km: float, minutes: float) -> tuple[IntArray, IntArray]:
        """(request row, slot) pairs whose boxes meet the pickup box (grown by km / minutes)."""
        if len(self) == 0 or not reqs:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        pts = np.array([q.pickup for q in reqs], dtype=np.float64).reshape(-1, 2)
        times = np.array([(to_min(q.earliest), to_min(q.latest)) for q in reqs]).reshape(-1, 2)
        dlat = km / KM_PER_DEG
        cos = np.maximum(0.05, np.cos(np.radians(np.minimum(89.0, np.abs(pts[:, 1]) + dlat))))
        dlon = km / (KM_PER_DEG * cos)
        mins = np.column_stack((pts[:, 0] - dlon, pts[:, 1] - dlat, times[:, 0] - minutes))
        maxs = np.column_stack((pts[:, 0] + dlon, pts[:, 1] + dlat, times[:, 1] + minutes))
        ids, counts = self._tree.intersection_v(mins, maxs)
        return np.repeat(np.arange(len(reqs), dtype=np.int64), counts.astype(np.int64)), ids.astype(np.int64)

    def query_slots(self, req: Request) -> IntArray:
        """R-tree survivors for a request (superset of the feasible offers)."""
        e, l_ = to_min(req.earliest), to_min(req.latest)
        lon, lat = req.pickup
        return np.fromiter(self._tree.intersection((lon, lat, e, lon, lat, l_)), dtype=np.int64)

    def offer_hits(self, req: Request, slots: IntArray | None = None) -> OfferHits:
        return self.evaluate(self.query_slots(req) if slots is None else slots, req)

    def candidates(self, request: Request, limit: int | None = None) -> list[Option]:
        """Feasible single-request options, best first.

        En-route offers first (smallest detour, then earliest pickup), then
        volunteers (least effort, then earliest pickup).
        """
        hits = self.offer_hits(request)
        order = np.lexsort((hits.pickup, np.round(hits.detour, 6)))
        if limit is not None:
            order = order[:limit]
        pickup, dropoff = hits.pickup, hits.dropoff
        tz = request.earliest.tzinfo or UTC
        options = [
            Option(
                request.id,
                self.offer_id(int(hits.slots[i])),
                None,
                from_min(float(hits.depart[i]), tz),
                from_min(float(pickup[i]), tz),
                from_min(float(dropoff[i]), tz),
                float(hits.detour[i]),
            )
            for i in order
        ]
        if limit is None or len(options) < limit:
            vol = sorted(self.volunteer_options(request), key=lambda o: (o.detour_min, o.pickup_at))
            options.extend(vol if limit is None else vol[: limit - len(options)])
        return options

    def volunteer_options(self, request: Request) -> list[Option]:
        """One option per volunteer: its earliest feasible slot."""
        out: list[Option] = []
        tz = request.earliest.tzinfo or UTC
        for vid, duties in self.volunteer_table().duties(request).items():
            d = duties[0]
            out.append(
                Option(
                    request.id,
                    None,
                    vid,
                    from_min(d.leave_home, tz),
                    from_min(d.pickup, tz),
                    from_min(d.dropoff, tz),
                    d.effort_min,
                    from_min(d.end, tz),
                    from_min(d.busy_until, tz),
                )
            )
        return out

    def volunteer_table(self) -> VolunteerTable:
        """Vectorised view of the volunteers, rebuilt lazily after changes."""
        if self._vol_table is None:
            self._vol_table = VolunteerTable(list(self.volunteers.values()), self.params, self.router)
        return self._vol_table

    # -- diagnosis ------------------------------------------------------------------
    def diagnose(self, request: Request) -> tuple[Reason, NearMiss | None]:
        """Most useful reason why no option exists for the request alone."""
        return self.diagnose_many([request])[0]

    def diagnose_many(self, reqs: Sequence[Request]) -> list[tuple[Reason, NearMiss | None]]:
        """Reason per request: the nearest miss among offers near the pickup and volunteers.

        An offer's reason is its most structural failure (detour, then time window,
        seats, needs). Candidates rank by fewest failed rules, then reason (time
        window, detour, seat, needs, volunteer slot, volunteer radius), then minutes.
        """
        out: list[tuple[Reason, NearMiss | None]] = []
        for c0 in range(0, len(reqs), CHUNK):
            chunk = reqs[c0 : c0 + CHUNK]
            rid, slots = self._query_many(chunk, DIAG_RADIUS_KM, DIAG_TIME_MIN)
            best = self._offer_misses(len(chunk), self._pairs(rid, slots, self._req_cols(chunk)), chunk)
            vols = self.volunteer_table().nearest_miss(chunk)
            for k in range(len(chunk)):
                found = [f for f in (best[k], vols[k]) if f is not None]
                if not found:
                    out.append(("no_offer", None))
                else:
                    f = min(found, key=lambda x: x[:3])
                    out.append((f[3], f[4]))
        return out

    def _offer_misses(
        self, n: int, p: _Pairs, reqs: Sequence[Request]
    ) -> list[tuple[int, int, float, Reason, NearMiss] | None]:
        excess = np.maximum(0.0, p.excess)
        late = np.maximum(0.0, p.lo - p.hi)
        bad_t, bad_d = late > EPS_MIN, excess > EPS_MIN
        fails = bad_t.astype(int) + bad_d + (~p.seat_ok) + (~p.needs_ok)
        prio = np.where(bad_d, 1, np.where(bad_t, 0, np.where(~p.seat_ok, 2, 3)))
        order = np.lexsort((late + excess, prio, fails, p.rid))
        first = np.unique(p.rid[order], return_index=True)
        result: list[tuple[int, int, float, Reason, NearMiss] | None] = [None] * n
        c = self._cols
        for r, pos in zip(first[0], first[1], strict=True):
            i = int(order[pos])
            slot, req = int(p.slots[i]), reqs[int(r)]
            oid = self.offer_id(slot)
            reason: Reason
            if prio[i] == 1:
                reason, mins = "detour_too_long", float(excess[i])
                detail = f"detour {p.detour[i]:.1f} min, driver accepts {c['budget'][slot]:.1f}"
            elif prio[i] == 0:
                reason, mins = "no_offer_in_time_window", float(late[i])
                if p.hi_req[i] < p.lo_req[i]:
                    detail = "the request window is shorter than the ride"
                elif c["a"][slot] > p.hi_req[i]:
                    detail = f"driver leaves {mins:.1f} min too late"
                else:
                    detail = f"driver leaves {mins:.1f} min too early"
            elif prio[i] == 2:
                reason, mins = "no_seat", 0.0
                detail = f"{int(self._seats[slot])} seat(s) for {req.passengers} passenger(s)"
            else:
                reason, mins = "needs_not_met", 0.0
                detail = "vehicle lacks: " + ", ".join(sorted(req.needs))
            near = NearMiss(oid, None, reason, round(mins, 1), detail)
            result[int(r)] = (int(fails[i]), int(prio[i]), mins, reason, near)
        return result

    # -- memory -------------------------------------------------------------------------
    def array_bytes(self) -> int:
        """Bytes held by the NumPy columns (the R-tree's C memory is measured separately)."""
        return sum(a.nbytes for a in self._cols.values()) + self._seats.nbytes + self._caps.nbytes
