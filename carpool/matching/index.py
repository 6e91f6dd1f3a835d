"""Candidate search: offers as space-time boxes + a NumPy exact check.

Each offer is stored once as a 3-D box: the bounding box of its O→E segment
expanded by the largest distance from that segment at which a pickup or dropoff
can still satisfy the detour budget (semi-minor axis of the ellipse with foci O
and E, in crow-fly km, converted to degrees), times its "on the road" interval
[depart_earliest, depart_latest + t(O,E) + budget]. A request is looked up with
the point box of its pickup over [earliest, latest]; the survivors are checked
exactly, vectorised over NumPy columns. Offers whose box would not be reliable
in degrees (near the poles, across the antimeridian, very long) get a world-wide
box: still correct, just always checked.

Offers live in fixed-size NumPy columns addressed by a slot number; removed
slots are recycled. Boxes are kept in a column too and searched two ways:

* single requests (``candidates``): an R-tree, bulk-loaded on first use and
  then updated in O(log n) by add/remove (removal deletes exactly the stored
  box). Boxes are (time, lon, lat) — time first — because the bulk loader (STR)
  slices the first dimension first and time is what separates offers best (a
  request window is an hour or two of a horizon of weeks): half the query cost.
* batches (``hits_many``, ``diagnose_many``): a sweep over the boxes sorted by
  start time, grouped by duration, with the same closed-box test on the same
  floats — exactly the R-tree's pairs, several times cheaper than one R-tree
  search per request, and ``match_batch`` never builds (or imports) the R-tree.
"""

from __future__ import annotations

import ctypes
import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

import numpy as np
import numpy.typing as npt

from carpool.matching.feasibility import Duty, default_max_detour
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
from carpool.matching.router import CrowFlyRouter, FloatArray, Router, haversine_km_v
from carpool.matching.volunteers import VolunteerTable

IntArray = npt.NDArray[np.int64]
KM_PER_DEG = math.pi * 6371.0 / 180.0
TIME_MARGIN_MIN = 1e-3
DIAG_RADIUS_KM = 30.0
DIAG_TIME_MIN = 180.0
CHUNK = 1024
_FLOAT_COLS = ("o_lon", "o_lat", "e_lon", "e_lat", "a", "b", "t_oe", "budget")
_Coords = ctypes.c_double * 3


@functools.cache
def _rtree_c() -> Any:
    """libspatialindex's C API as bound by rtree, if it has the calls used here."""
    from rtree import core

    rt = core.rt
    return rt if hasattr(rt, "Index_Intersects_id") and hasattr(rt, "Index_Free") else None


SWEEP_CLASSES = (256.0, 2048.0, math.inf)
"""Box durations (minutes) separating the sweep groups: one long offer must not widen every range."""
SWEEP_PAIRS = 1 << 20
"""Candidate (request, offer) pairs screened at once by the batch sweep (bounds memory)."""


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
        self._boxes = np.zeros((0, 6))
        self._sweep_groups: list[tuple[IntArray, FloatArray, float]] | None = None
        self.volunteers: dict[str, Volunteer] = {}
        self._vol_table: VolunteerTable | None = None
        offers = list(offers)
        self._grow(len(offers))
        slots = self._store(offers)
        if len(slots):
            self._boxes[slots] = self._box_rows(slots)
        self._rtree: Any = None
        for v in volunteers:
            self.add_volunteer(v)

    @property
    def _tree(self) -> Any:
        """The R-tree (single queries, O(log n) updates), bulk-loaded on first use.

        Batch work (:meth:`hits_many`, :meth:`diagnose_many`) uses the sweep
        instead, so ``match_batch`` / ``carpool match-file`` never import rtree.
        """
        if self._rtree is None:
            from rtree import index as rtree_index

            props = rtree_index.Property()
            props.dimension = 3
            slots = np.fromiter(self._slot_of.values(), dtype=np.int64, count=len(self._slot_of))
            if not len(slots):
                self._rtree = rtree_index.Index(properties=props)
            else:
                boxes = self._boxes[slots]
                try:
                    self._rtree = rtree_index.Index((slots, boxes[:, :3], boxes[:, 3:]), properties=props)
                except NotImplementedError:  # pragma: no cover - libspatialindex < 2.1: stream bulk load
                    stream = ((int(s), tuple(map(float, b)), None) for s, b in zip(slots, boxes, strict=True))
                    self._rtree = rtree_index.Index(stream, properties=props)
        return self._rtree

    def build_tree(self) -> None:
        """Bulk-load the R-tree now (otherwise the first single query or update does)."""
        self._tree  # noqa: B018

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
        boxes = np.zeros((new, 6))
        boxes[: self._size] = self._boxes[: self._size]
        self._seats, self._caps, self._boxes, self._size = seats, caps, boxes, new

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

    def _claim_slot(self, offer_id: str) -> int:
        """A free slot (a removed offer's, else a new one) now holding ``offer_id``."""
        if offer_id in self._slot_of:
            raise ValueError(f"duplicate offer id {offer_id!r}")
        slot = self._free.pop() if self._free else len(self._ids)
        if slot == len(self._ids):
            self._ids.append(offer_id)
        else:
            self._ids[slot] = offer_id
        self._slot_of[offer_id] = slot
        return slot

    def _row(self, offer: Offer) -> tuple[float, ...]:
        """The offer's float columns, in ``_FLOAT_COLS`` order."""
        t_oe = self.router.time_min(offer.origin, offer.destination)
        return (
            offer.origin[0],
            offer.origin[1],
            offer.destination[0],
            offer.destination[1],
            to_min(offer.depart_earliest),
            to_min(offer.depart_latest),
            t_oe,
            default_max_detour(t_oe) if offer.max_detour_min is None else float(offer.max_detour_min),
        )

    def _store(self, offers: Sequence[Offer]) -> IntArray:
        """Write the offers' columns (not their boxes) at once and return their slots."""
        if not offers:
            return np.zeros(0, dtype=np.int64)
        slots = [self._claim_slot(offer.id) for offer in offers]
        at = np.array(slots, dtype=np.int64)
        values = np.array([self._row(offer) for offer in offers], dtype=np.float64)
        for k, c in enumerate(_FLOAT_COLS):
            self._cols[c][at] = values[:, k]
        self._seats[at] = [offer.seats for offer in offers]
        self._caps[at] = [self._bits(offer.capabilities, create=True) for offer in offers]
        return at

    def _box_rows(self, slots: IntArray) -> FloatArray:
        """The offers' 3-D boxes as rows (t_lo, lon_lo, lat_lo, t_hi, lon_hi, lat_hi), vectorised."""
        c = self._cols
        o_lon, o_lat, e_lon, e_lat = (c[k][slots] for k in ("o_lon", "o_lat", "e_lon", "e_lat"))
        t_oe, budget = c["t_oe"][slots], c["budget"][slots]
        t_lo = c["a"][slots] - TIME_MARGIN_MIN
        # An empty window (latest before earliest, e.g. a time in the spring-forward gap) can
        # serve nobody; its box only has to be valid for the R-tree.
        t_hi = np.maximum(c["b"][slots] + t_oe + np.maximum(budget, 0.0) + TIME_MARGIN_MIN, t_lo)
        direct_km = haversine_km_v(o_lon, o_lat, e_lon, e_lat)
        reach_km = np.maximum(0.0, t_oe + budget) * self.router.crow_speed_kmh / 60.0
        half_major = np.maximum(reach_km, direct_km) / 2
        minor_km = np.sqrt(np.maximum(0.0, half_major**2 - (direct_km / 2) ** 2))
        expand_km = minor_km * 1.01 + 0.3 + direct_km**2 / 6371.0
        dlat = expand_km / KM_PER_DEG
        lat_lo, lat_hi = np.minimum(o_lat, e_lat) - dlat, np.maximum(o_lat, e_lat) + dlat
        worst_lat = np.maximum(np.abs(lat_lo), np.abs(lat_hi))
        lon_lo, lon_hi = np.minimum(o_lon, e_lon), np.maximum(o_lon, e_lon)
        dlon = expand_km / (KM_PER_DEG * np.cos(np.radians(np.minimum(worst_lat, 80.0))))
        local = (worst_lat < 80) & (lon_hi - lon_lo < 20) & (direct_km < 1000)
        local &= (lon_lo - dlon > -180) & (lon_hi + dlon < 180)
        rows = np.column_stack((t_lo, lon_lo - dlon, lat_lo, t_hi, lon_hi + dlon, lat_hi))
        rows[~local, 1:3] = (-180.0, -90.0)
        rows[~local, 4:6] = (180.0, 90.0)
        return rows

    def _box(self, slot: int) -> tuple[float, ...]:
        """The offer's box as inserted in the R-tree (time first)."""
        return tuple(float(x) for x in self._boxes[slot])

    def add(self, offer: Offer) -> None:
        """Insert one offer (O(log n)); ids must be unique."""
        self._grow(1)
        slot = int(self._store([offer])[0])
        self._boxes[slot] = self._box_rows(np.array([slot]))[0]
        if self._rtree is not None:
            self._rtree.insert(slot, self._box(slot))
        self._sweep_groups = None

    def remove(self, offer_id: str) -> None:
        """Delete one offer by id; unknown ids raise KeyError."""
        slot = self._slot_of.pop(offer_id)
        if self._rtree is not None:
            self._rtree.delete(slot, self._box(slot))
        self._ids[slot] = None
        self._free.append(slot)
        self._sweep_groups = None

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
        ends = np.cumsum(np.bincount(p.rid[order], minlength=n)).tolist()
        slots_o = p.slots[order]
        det_o, lo_o, op_o, pd_o = p.detour[order], p.lo[order], p.t_op[order], p.t_pd[order]
        dwell = self.params.dwell_min
        out: list[OfferHits] = []
        start = 0
        for end in ends:  # slices of the gathered columns (views), one request each
            cut = slice(start, end)
            out.append(OfferHits(slots_o[cut], det_o[cut], lo_o[cut], op_o[cut], pd_o[cut], dwell))
            start = end
        return out

    def evaluate(self, slots: IntArray, req: Request) -> OfferHits:
        """Keep the slots where the request alone is feasible (best first, earliest departure).

        The single-request case of :meth:`_pairs` + :meth:`_split_hits` with the
        request's values broadcast instead of repeated: same formulas in the same
        order, so the same floats (NumPy ufuncs do not depend on broadcasting).
        """
        c, dwell, r = self._cols, self.params.dwell_min, self.router
        q = np.array([(req.pickup[0], req.pickup[1], req.dropoff[0], req.dropoff[1])], dtype=np.float64)
        p_lon, p_lat, d_lon, d_lat = q[:, 0], q[:, 1], q[:, 2], q[:, 3]
        t_op = r.time_min_v(c["o_lon"][slots], c["o_lat"][slots], p_lon, p_lat)
        t_pd = r.time_min_v(p_lon, p_lat, d_lon, d_lat)
        t_de = r.time_min_v(d_lon, d_lat, c["e_lon"][slots], c["e_lat"][slots])
        detour = t_op + t_pd + t_de + 2 * dwell - c["t_oe"][slots]
        hi_req = to_min(req.latest) - t_op - dwell - t_pd
        lo = np.maximum(c["a"][slots], to_min(req.earliest) - t_op)
        hi = np.minimum(c["b"][slots], hi_req)
        need = self._bits(req.needs, create=False)
        ok = (detour - c["budget"][slots] <= EPS_MIN) & (lo <= hi + EPS_MIN)
        ok &= self._seats[slots] >= req.passengers
        if need < 0:
            ok[:] = False
        elif need:
            ok &= (self._caps[slots] & need) == need
        keep = np.flatnonzero(ok)
        order = keep[np.lexsort((slots[keep], detour[keep]))]
        return OfferHits(
            slots[order], detour[order], lo[order], t_op[order], np.repeat(t_pd, len(order)), dwell
        )

    def hits_many(self, reqs: Sequence[Request]) -> list[OfferHits]:
        """Feasible offers of every request of a batch: bulk R-tree query + one NumPy pass."""
        out: list[OfferHits] = []
        for c0 in range(0, len(reqs), CHUNK):
            chunk = reqs[c0 : c0 + CHUNK]
            rid, slots = self._query_many(chunk, 0.0, 0.0)
            out.extend(self._split_hits(len(chunk), self._pairs(rid, slots, self._req_cols(chunk))))
        return out

    def _query_many(self, reqs: Sequence[Request], km: float, minutes: float) -> tuple[IntArray, IntArray]:
        """(request row, slot) pairs whose boxes meet the pickup box (grown by km / minutes).

        Exactly the pairs the R-tree would return (same closed-box test on the same
        floats), found by a sweep over the boxes sorted by start time, which is
        much cheaper than one R-tree search per request for a batch.
        """
        if len(self) == 0 or not reqs:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        pts = np.array([q.pickup for q in reqs], dtype=np.float64).reshape(-1, 2)
        times = np.array([(to_min(q.earliest), to_min(q.latest)) for q in reqs]).reshape(-1, 2)
        dlat = km / KM_PER_DEG
        cos = np.maximum(0.05, np.cos(np.radians(np.minimum(89.0, np.abs(pts[:, 1]) + dlat))))
        dlon = km / (KM_PER_DEG * cos)
        mins = np.column_stack((times[:, 0] - minutes, pts[:, 0] - dlon, pts[:, 1] - dlat))
        maxs = np.column_stack((times[:, 1] + minutes, pts[:, 0] + dlon, pts[:, 1] + dlat))
        rids: list[IntArray] = []
        found: list[IntArray] = []
        for slots, cols, longest in self._sweep():
            # boxes starting after the query ends cannot meet it, nor those starting more
            # than their group's longest duration (+1 min against rounding) before it starts
            start = np.searchsorted(cols[0], mins[:, 0] - longest - 1.0, side="left")
            stop = np.searchsorted(cols[0], maxs[:, 0], side="right")
            counts = np.maximum(stop - start, 0)
            ends = np.cumsum(counts)
            first = 0
            while first < len(reqs):
                last = max(first + 1, int(np.searchsorted(ends, ends[first] - counts[first] + SWEEP_PAIRS)))
                rows = np.arange(first, min(last, len(reqs)))
                n = counts[rows]
                rid = np.repeat(rows, n)
                pos = np.arange(len(rid)) - np.repeat(np.cumsum(n) - n - start[rows], n)
                ok = cols[3][pos] >= mins[rid, 0]
                for k in (1, 2):
                    ok &= cols[k][pos] <= maxs[rid, k]
                    ok &= cols[3 + k][pos] >= mins[rid, k]
                rids.append(rid[ok])
                found.append(slots[pos[ok]])
                first = int(rows[-1]) + 1
        return np.concatenate(rids), np.concatenate(found)

    def _sweep(self) -> list[tuple[IntArray, FloatArray, float]]:
        """Live offers grouped by box duration, sorted by box start: (slots, box columns, longest)."""
        if self._sweep_groups is None:
            live = np.fromiter(self._slot_of.values(), dtype=np.int64, count=len(self._slot_of))
            boxes = self._boxes[live]
            duration = boxes[:, 3] - boxes[:, 0]
            groups: list[tuple[IntArray, FloatArray, float]] = []
            left = np.ones(len(live), dtype=bool)
            for cap in SWEEP_CLASSES:
                sel = np.flatnonzero(left & ((duration <= cap) | (cap == SWEEP_CLASSES[-1])))
                left[sel] = False
                if len(sel):
                    sel = sel[np.argsort(boxes[sel, 0], kind="stable")]
                    groups.append((live[sel], np.ascontiguousarray(boxes[sel].T), float(duration[sel].max())))
            self._sweep_groups = groups
        return self._sweep_groups

    def query_slots(self, req: Request) -> IntArray:
        """R-tree survivors for a request (superset of the feasible offers).

        The pickup happens in [earliest, latest] (up to EPS_MIN, inside the boxes'
        time margin); an inverted window (e.g. a wall-clock time in a DST gap) is
        searched over [earliest, earliest] rather than rejected by the R-tree.
        """
        lon, lat = req.pickup
        e, l_ = to_min(req.earliest), to_min(req.latest)
        lo, hi = (e, lon, lat), (max(e, l_), lon, lat)
        tree = self._tree
        rt = _rtree_c()
        if rt is None:
            return np.fromiter(tree.intersection((*lo, *hi)), dtype=np.int64)
        # rtree's own intersection() minus its per-id generator: one copy of the C result
        found = ctypes.pointer(ctypes.c_int64())
        count = ctypes.c_uint64(0)
        lo_c, hi_c = _Coords(*lo), _Coords(*hi)
        rt.Index_Intersects_id(tree.handle, lo_c, hi_c, 3, ctypes.byref(found), ctypes.byref(count))
        try:
            return np.frombuffer(ctypes.string_at(found, 8 * count.value), dtype=np.int64)
        finally:
            rt.Index_Free(ctypes.cast(found, ctypes.POINTER(ctypes.c_void_p)))

    def offer_hits(self, req: Request, slots: IntArray | None = None) -> OfferHits:
        return self.evaluate(self.query_slots(req) if slots is None else slots, req)

    def candidates(self, request: Request, limit: int | None = None) -> list[Option]:
        """Feasible single-request options, best first.

        En-route offers first (smallest detour, then earliest pickup), then
        volunteers (least effort, then earliest pickup). Volunteers are only
        looked at when the offers do not fill ``limit``.
        """
        hits = self.offer_hits(request)
        order = np.lexsort((hits.pickup, np.round(hits.detour, 6)))
        if limit is not None:
            order = order[:limit]
        options = self._offer_options(request, hits, order)
        if (limit is None or len(options) < limit) and self.volunteers:
            options.extend(self._volunteer_best(request, None if limit is None else limit - len(options)))
        return options

    def _volunteer_best(self, request: Request, count: int | None) -> list[Option]:
        """The ``count`` best of :meth:`volunteer_options` (least effort, then earliest pickup).

        Sorted on the same key values as the options would give, but only the
        returned options are built.
        """
        tz = request.earliest.tzinfo or UTC
        firsts = [(vid, duties[0]) for vid, duties in self.volunteer_table().duties(request).items()]
        firsts.sort(key=lambda vd: (vd[1].effort_min, from_min(vd[1].pickup, tz)))
        return [
            _duty_option(request.id, vid, d, tz) for vid, d in (firsts if count is None else firsts[:count])
        ]

    def _offer_options(self, request: Request, hits: OfferHits, order: IntArray) -> list[Option]:
        """Options for hits[order]: values converted in bulk, datetimes as ``from_min`` makes them."""
        if not len(order):
            return []
        tz = request.earliest.tzinfo or UTC
        depart, t_op = hits.depart[order], hits.t_op[order]
        pickup = depart + t_op
        dropoff = depart + t_op + hits.dwell + hits.t_pd[order]
        stamp = datetime.fromtimestamp
        ids, rid = self._ids, request.id
        return [
            Option(rid, ids[s], None, stamp(d, tz), stamp(p, tz), stamp(q, tz), x)
            for s, d, p, q, x in zip(
                hits.slots[order].tolist(),
                (depart * 60.0).tolist(),
                (pickup * 60.0).tolist(),
                (dropoff * 60.0).tolist(),
                hits.detour[order].tolist(),
                strict=True,
            )
        ]

    def volunteer_options(self, request: Request) -> list[Option]:
        """One option per volunteer: its earliest feasible slot."""
        out: list[Option] = []
        if not self.volunteers:
            return out
        tz = request.earliest.tzinfo or UTC
        for vid, duties in self.volunteer_table().duties(request).items():
            out.append(_duty_option(request.id, vid, duties[0], tz))
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
        order = np.lexsort((p.slots, late + excess, prio, fails, p.rid))
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


def _duty_option(request_id: str, volunteer_id: str, duty: Duty, tz: tzinfo) -> Option:
    """The option a volunteer's duty gives, with its times back in the request's time zone."""
    return Option(
        request_id,
        None,
        volunteer_id,
        from_min(duty.leave_home, tz),
        from_min(duty.pickup, tz),
        from_min(duty.dropoff, tz),
        duty.effort_min,
        from_min(duty.end, tz),
        from_min(duty.busy_until, tz),
    )
