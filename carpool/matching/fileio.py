"""``carpool match-file``: JSON in, JSON out, one clear line on bad input.

Validation happens before any matching so that a coordinator who hand-edits a
file gets ``error: requests[3] (id "r7"): latest is before earliest`` and exit
code 2, never a traceback. Heavy modules (NumPy, R-tree, OR-Tools) are only
imported once the input is known to be valid, and OR-Tools only on contention.
"""

from __future__ import annotations

import json
import math
import sys
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from carpool.clock import PARIS
from carpool.matching.model import MatchResult, Offer, Params, Request, Slot, Volunteer


class InputError(ValueError):
    """One problem in the input file, already phrased for the user."""


def _where(kind: str, pos: int, raw: object) -> str:
    if isinstance(raw, dict) and isinstance(raw.get("id"), str):
        return f'{kind}[{pos}] (id "{raw["id"]}")'
    return f"{kind}[{pos}]"


def _obj(raw: object, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise InputError(f"{where}: must be a JSON object")
    return raw


def _field(raw: dict[str, Any], key: str, where: str) -> Any:
    if key not in raw:
        raise InputError(f'{where}: missing field "{key}"')
    return raw[key]


def _number(value: object, where: str, key: str, low: float = -math.inf, high: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(f"{where}: {key} must be a number")
    if not low <= value <= high:
        raise InputError(f"{where}: {key} must be between {low:g} and {high:g} (got {value:g})")
    return float(value)


def _int(value: object, where: str, key: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{where}: {key} must be an integer")
    if value < low:
        raise InputError(f"{where}: {key} must be at least {low} (got {value})")
    return value


def _bool(value: object, where: str, key: str) -> bool:
    if not isinstance(value, bool):
        raise InputError(f"{where}: {key} must be true or false")
    return value


def _point(value: object, where: str, key: str) -> tuple[float, float]:
    if not isinstance(value, list) or len(value) != 2:
        raise InputError(f"{where}: {key} must be [lon, lat]")
    lon, lat = value
    if type(lon) is float and type(lat) is float and -180 <= lon <= 180 and -90 <= lat <= 90:
        return lon, lat  # the common case, as the checks below would return it
    lon = _number(value[0], where, f"{key} longitude", -180, 180)
    lat = _number(value[1], where, f"{key} latitude", -90, 90)
    return lon, lat


def parse_time(value: object, where: str, key: str) -> datetime:
    """ISO 8601 with a UTC offset (or ``Z``), optionally suffixed ``[Area/City]``."""
    if not isinstance(value, str):
        raise InputError(f"{where}: {key} must be an ISO 8601 string")
    text, zone = value.strip(), None
    if text.endswith("]") and "[" in text:
        text, name = text[:-1].split("[", 1)
        try:
            zone = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise InputError(f"{where}: {key} has an unknown time zone {name!r}") from None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"{where}: {key} is not an ISO 8601 timestamp: {value!r}") from None
    if moment.tzinfo is None:
        if zone is None:
            raise InputError(f"{where}: {key} is a naive timestamp (no UTC offset): {value!r}")
        moment = moment.replace(tzinfo=zone)
    return moment


def _ids(items: list[Any], kind: str) -> None:
    seen: set[str] = set()
    for pos, raw in enumerate(items):
        where = _where(kind, pos, raw)
        ident = _field(_obj(raw, where), "id", where)
        if not isinstance(ident, str) or not ident:
            raise InputError(f"{where}: id must be a non-empty string")
        if ident in seen:
            raise InputError(f'{where}: duplicate id "{ident}"')
        seen.add(ident)


def _caps(raw: dict[str, Any], where: str) -> frozenset[str]:
    return (
        frozenset({"wheelchair"}) if _bool(raw.get("wheelchair", False), where, "wheelchair") else frozenset()
    )


def _window(raw: dict[str, Any], where: str, first: str, last: str) -> tuple[datetime, datetime]:
    """Two required times of one object, the second not before the first."""
    start = parse_time(_field(raw, first, where), where, first)
    end = parse_time(_field(raw, last, where), where, last)
    if end < start:
        raise InputError(f"{where}: {last} is before {first}")
    return start, end


def _offer(raw: dict[str, Any], where: str) -> Offer:
    early, late = _window(raw, where, "depart_earliest", "depart_latest")
    detour = raw.get("max_detour_min")
    return Offer(
        raw["id"],
        _point(_field(raw, "origin", where), where, "origin"),
        _point(_field(raw, "destination", where), where, "destination"),
        early,
        late,
        _int(_field(raw, "seats", where), where, "seats", 1),
        None if detour is None else _number(detour, where, "max_detour_min", 0, 24 * 60),
        _caps(raw, where),
    )


def _volunteer(raw: dict[str, Any], where: str) -> Volunteer:
    slots_raw = _field(raw, "slots", where)
    if not isinstance(slots_raw, list):
        raise InputError(f"{where}: slots must be a list")
    slots: list[Slot] = []
    for k, s in enumerate(slots_raw):
        at = f"{where} slots[{k}]"
        s = _obj(s, at)
        slots.append(Slot(*_window(s, at, "start", "end")))
    return Volunteer(
        raw["id"],
        _point(_field(raw, "home", where), where, "home"),
        _number(_field(raw, "radius_km", where), where, "radius_km", 0, 20_000),
        tuple(slots),
        _int(_field(raw, "max_trips", where), where, "max_trips", 0),
        _int(raw.get("seats", 4), where, "seats", 1),
        _caps(raw, where),
    )


def _request(raw: dict[str, Any], where: str) -> Request:
    earliest, latest = _window(raw, where, "earliest", "latest")
    ret_raw = raw.get("return_time")
    ret = None if ret_raw is None else parse_time(ret_raw, where, "return_time")
    if ret is not None and ret < earliest:
        raise InputError(f"{where}: return_time is before earliest")
    home_raw = raw.get("return_latest")
    home = None if home_raw is None else parse_time(home_raw, where, "return_latest")
    if home is not None and ret is None:
        raise InputError(f"{where}: return_latest needs a return_time")
    if home is not None and ret is not None and home < ret:
        raise InputError(f"{where}: return_latest is before return_time")
    needs = raw.get("needs", [])
    if not isinstance(needs, list) or not all(isinstance(n, str) and n for n in needs):
        raise InputError(f"{where}: needs must be a list of strings")
    return Request(
        raw["id"],
        _point(_field(raw, "pickup", where), where, "pickup"),
        _point(_field(raw, "dropoff", where), where, "dropoff"),
        earliest,
        latest,
        _int(raw.get("passengers", 1), where, "passengers", 1),
        frozenset(needs),
        _bool(raw.get("medical", False), where, "medical"),
        ret,
        home,
    )


def _params(raw: object) -> Params:
    if raw is None:
        return Params()
    p = _obj(raw, "params")
    return Params(
        circuity=_number(p.get("circuity", 1.3), "params", "circuity", 1, 10),
        speed_kmh=_number(p.get("speed_kmh", 50), "params", "speed_kmh", 1, 300),
        dwell_min=_number(p.get("dwell_min", 3), "params", "dwell_min", 0, 120),
    )


def parse_input(doc: object) -> tuple[Params, list[Offer], list[Volunteer], list[Request]]:
    """Validate the whole document; the first problem raises :class:`InputError`."""
    top = _obj(doc, "input")
    params = _params(top.get("params"))
    lists: dict[str, list[Any]] = {}
    for kind in ("offers", "volunteers", "requests"):
        raw = top.get(kind, []) if kind == "volunteers" else _field(top, kind, "input")
        if not isinstance(raw, list):
            raise InputError(f"input: {kind} must be a list")
        _ids(raw, kind)
        lists[kind] = raw
    offers = [_offer(r, _where("offers", k, r)) for k, r in enumerate(lists["offers"])]
    vols = [_volunteer(r, _where("volunteers", k, r)) for k, r in enumerate(lists["volunteers"])]
    reqs = [_request(r, _where("requests", k, r)) for k, r in enumerate(lists["requests"])]
    return params, offers, vols, reqs


def iso_paris(moment: datetime) -> str:
    """ISO 8601 with the Europe/Paris offset, rounded to the nearest second."""
    rounded = (moment + timedelta(microseconds=500_000)).replace(microsecond=0)
    return rounded.astimezone(PARIS).isoformat()


def result_to_json(result: MatchResult) -> dict[str, Any]:
    return {
        "assignments": [
            {
                "request": a.request_id,
                "offer": a.offer_id,
                "volunteer": a.volunteer_id,
                "pickup_at": iso_paris(a.pickup_at),
                "dropoff_at": iso_paris(a.dropoff_at),
                "detour_min": round(a.detour_min, 1),
                "leg": a.leg,
            }
            for a in result.assignments
        ],
        "unmatched": [
            {
                "request": u.request_id,
                "reason": u.reason,
                "near_miss": None
                if u.near_miss is None
                else {
                    "offer": u.near_miss.offer_id,
                    "volunteer": u.near_miss.volunteer_id,
                    "missed_by_min": u.near_miss.missed_by_min,
                    "detail": u.near_miss.detail,
                },
            }
            for u in result.unmatched
        ],
        "stats": result.stats,
    }


def main_match_file(input_path: str, output_path: str | None) -> int:
    """Run the matcher on a JSON file; 0 on success, 2 on bad input, 1 if output fails."""
    try:
        with open(input_path, encoding="utf-8") as handle:
            doc = json.load(handle)
    except OSError as exc:
        print(f"error: cannot read {input_path}: {exc.strerror}", file=sys.stderr)
        return 2
    except UnicodeDecodeError:
        print(f"error: {input_path} is not UTF-8 text", file=sys.stderr)
        return 2
    except json.JSONDecodeError as exc:
        print(
            f"error: {input_path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
            file=sys.stderr,
        )
        return 2
    except RecursionError:
        print(f"error: {input_path} is nested too deeply", file=sys.stderr)
        return 2
    try:
        params, offers, vols, reqs = parse_input(doc)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from carpool.matching.roundtrip import match_round_trips

    text = json.dumps(
        result_to_json(match_round_trips(offers, vols, reqs, params)),
        ensure_ascii=False,
        separators=(",", ":"),
    )
    if output_path is None:
        sys.stdout.write(text + "\n")
        return 0
    try:
        with open(output_path, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
    except OSError as exc:
        print(f"error: cannot write {output_path}: {exc.strerror}", file=sys.stderr)
        return 1
    return 0
