"""match-file: bad input → exit 2 and exactly one line on stderr; good input → valid JSON."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from carpool.matching.fileio import main_match_file

GOOD: dict[str, Any] = {
    "params": {"circuity": 1.3, "speed_kmh": 50, "dwell_min": 3},
    "offers": [
        {
            "id": "o1",
            "origin": [2.0346, 44.6098],
            "destination": [1.44062, 44.44683],
            "depart_earliest": "2026-12-01T08:00:00+01:00",
            "depart_latest": "2026-12-01T08:30:00+01:00",
            "seats": 3,
            "max_detour_min": 15,
        }
    ],
    "volunteers": [
        {
            "id": "v1",
            "home": [1.6, 44.6],
            "radius_km": 25,
            "slots": [{"start": "2026-12-01T08:00:00+01:00", "end": "2026-12-01T12:00:00+01:00"}],
            "max_trips": 2,
        }
    ],
    "requests": [
        {
            "id": "r1",
            "pickup": [1.84315, 44.48475],
            "dropoff": [1.4364, 44.4498],
            "earliest": "2026-12-01T07:00:00Z",
            "latest": "2026-12-01T10:00:00+01:00",
            "passengers": 1,
            "medical": True,
            "return_time": None,
        },
        {
            "id": "r2",
            "pickup": [1.62, 44.62],
            "dropoff": [1.4364, 44.4498],
            "earliest": "2026-12-01T08:00:00+01:00[Europe/Paris]",
            "latest": "2026-12-01T11:00:00[Europe/Paris]",
            "needs": ["wheelchair"],
        },
        {
            "id": "r3",
            "pickup": [1.62, 44.62],
            "dropoff": [1.4364, 44.4498],
            "earliest": "2026-12-01T08:00:00+01:00",
            "latest": "2026-12-01T11:00:00+01:00",
        },
    ],
}


def _run(
    tmp_path: Path, doc: object, capsys: pytest.CaptureFixture[str], raw: str | None = None
) -> tuple[int, str, str]:
    src = tmp_path / "in.json"
    src.write_text(raw if raw is not None else json.dumps(doc), encoding="utf-8")
    code = main_match_file(str(src), None)
    out, err = capsys.readouterr()
    return code, out, err


def test_good_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(tmp_path, GOOD, capsys)
    assert code == 0 and err == ""
    doc = json.loads(out)
    by = {a["request"]: a for a in doc["assignments"]}
    assert by["r1"]["offer"] == "o1" and by["r1"]["volunteer"] is None
    assert by["r1"]["pickup_at"].endswith("+01:00") and by["r1"]["pickup_at"].startswith("2026-12-01T08:")
    assert by["r1"]["detour_min"] == round(by["r1"]["detour_min"], 1)
    assert by["r3"]["volunteer"] == "v1"
    assert doc["unmatched"] == [
        {"request": "r2", "reason": "needs_not_met", "near_miss": doc["unmatched"][0]["near_miss"]}
    ]
    assert doc["stats"]["served_requests"] == 2
    dst = tmp_path / "out.json"
    assert main_match_file(str(tmp_path / "in.json"), str(dst)) == 0
    assert json.loads(dst.read_text())["assignments"] == doc["assignments"]


def _set(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(GOOD)
    node: Any = doc
    for key in path[:-1]:
        node = node[key]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return doc


_DELETE = object()
BAD: list[tuple[dict[str, Any], str]] = [
    (_set(("requests", 0, "latest"), _DELETE), 'requests[0] (id "r1"): missing field "latest"'),
    (
        _set(("requests", 2, "latest"), "2026-12-01T07:00:00+01:00"),
        'requests[2] (id "r3"): latest is before earliest',
    ),
    (
        _set(("offers", 0, "depart_latest"), "2026-12-01T07:00:00+01:00"),
        "depart_latest is before depart_earliest",
    ),
    (_set(("requests", 0, "earliest"), "2026-12-01T07:00:00"), "naive timestamp"),
    (_set(("requests", 0, "earliest"), "2026-12-01T07:00:00[Mars/Olympus]"), "unknown time zone"),
    (_set(("requests", 0, "earliest"), "tomorrow"), "not an ISO 8601 timestamp"),
    (_set(("requests", 0, "pickup"), [181.0, 44.0]), "pickup longitude must be between -180 and 180"),
    (_set(("offers", 0, "origin"), [1.0, -91.0]), "origin latitude must be between -90 and 90"),
    (_set(("requests", 0, "pickup"), [1.0]), "pickup must be [lon, lat]"),
    (_set(("requests", 1, "id"), "r1"), 'duplicate id "r1"'),
    (_set(("offers", 0, "seats"), 0), "seats must be at least 1"),
    (_set(("offers", 0, "seats"), "3"), "seats must be an integer"),
    (_set(("offers", 0, "seats"), True), "seats must be an integer"),
    (_set(("requests", 0, "medical"), "yes"), "medical must be true or false"),
    (_set(("requests", 0, "passengers"), 1.5), "passengers must be an integer"),
    (
        _set(
            ("volunteers", 0, "slots"),
            [{"start": "2026-12-01T12:00:00+01:00", "end": "2026-12-01T08:00:00+01:00"}],
        ),
        "end is before start",
    ),
    (_set(("volunteers", 0, "max_trips"), _DELETE), 'volunteers[0] (id "v1"): missing field "max_trips"'),
    (_set(("params",), {"speed_kmh": "fast"}), "params: speed_kmh must be a number"),
    (_set(("requests",), {"id": "r1"}), "requests must be a list"),
    (_set(("requests", 0), "r1"), "requests[0]: must be a JSON object"),
    (_set(("offers",), _DELETE), 'missing field "offers"'),
    (_set(("requests", 0, "needs"), "wheelchair"), "needs must be a list of strings"),
]


@pytest.mark.parametrize(("doc", "message"), BAD, ids=[m for _, m in BAD])
def test_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], doc: dict[str, Any], message: str
) -> None:
    code, out, err = _run(tmp_path, doc, capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err, err


@pytest.mark.parametrize("raw", ["{not json", "[]", "", '{"offers": [], "requests": [], "params": [1]}'])
def test_not_json_or_wrong_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str], raw: str) -> None:
    code, out, err = _run(tmp_path, None, capsys, raw=raw)
    assert code == 2 and out == "" and err.count("\n") == 1 and err.startswith("error: ")


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main_match_file(str(tmp_path / "nope.json"), None) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_empty_batch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(tmp_path, {"offers": [], "requests": []}, capsys)
    assert code == 0 and json.loads(out)["assignments"] == []


# -- round trips (issue 16) ----------------------------------------------------------------

BACK_OFFER = {
    "id": "o2",
    "origin": [1.44062, 44.44683],
    "destination": [2.0346, 44.6098],
    "depart_earliest": "2026-12-01T11:20:00+01:00",
    "depart_latest": "2026-12-01T11:50:00+01:00",
    "seats": 3,
    "max_detour_min": 15,
}


def _round_trip_doc(ret: str = "2026-12-01T11:30:00+01:00", **extra: Any) -> dict[str, Any]:
    doc = copy.deepcopy(GOOD)
    doc["offers"].append(copy.deepcopy(BACK_OFFER))
    doc["requests"][0]["return_time"] = ret
    doc["requests"][0].update(extra)
    return doc


def _legs(doc: dict[str, Any], request: str) -> list[dict[str, Any]]:
    return [a for a in doc["assignments"] if a["request"] == request]


def test_round_trip_gets_one_out_and_one_back_entry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(tmp_path, _round_trip_doc(), capsys)
    legs = _legs(json.loads(out), "r1")
    assert code == 0 and sorted(a["leg"] for a in legs) == ["back", "out"]


def test_every_assignment_says_its_leg(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run(tmp_path, _round_trip_doc(), capsys)
    assert all(a["leg"] in ("out", "back") for a in json.loads(out)["assignments"])


def test_each_leg_inside_its_window(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = _round_trip_doc(return_latest="2026-12-01T13:00:00+01:00")
    _, out, _ = _run(tmp_path, doc, capsys)
    by_leg = {a["leg"]: a for a in _legs(json.loads(out), "r1")}
    at = datetime.fromisoformat
    assert at("2026-12-01T07:00:00Z") <= at(by_leg["out"]["pickup_at"])
    assert at(by_leg["out"]["dropoff_at"]) <= at("2026-12-01T10:00:00+01:00")
    assert at("2026-12-01T11:30:00+01:00") <= at(by_leg["back"]["pickup_at"])
    assert at(by_leg["back"]["dropoff_at"]) <= at("2026-12-01T13:00:00+01:00")


def test_waiting_volunteer_gives_two_entries(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = copy.deepcopy(GOOD)
    doc["requests"][2]["return_time"] = "2026-12-01T10:30:00+01:00"
    _, out, _ = _run(tmp_path, doc, capsys)
    legs = _legs(json.loads(out), "r3")
    assert sorted((a["leg"], a["volunteer"]) for a in legs) == [("back", "v1"), ("out", "v1")]


def test_no_way_back_is_no_return_with_the_near_miss(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = _round_trip_doc()
    doc["offers"][1]["depart_earliest"] = "2026-12-01T16:00:00+01:00"
    doc["offers"][1]["depart_latest"] = "2026-12-01T16:30:00+01:00"
    doc["volunteers"] = []
    _, out, _ = _run(tmp_path, doc, capsys)
    result = json.loads(out)
    assert _legs(result, "r1") == []
    (miss,) = [u for u in result["unmatched"] if u["request"] == "r1"]
    assert miss["reason"] == "no_return" and miss["near_miss"]["offer"] == "o2"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"return_latest": "2026-12-01T11:00:00+01:00"},
            'requests[0] (id "r1"): return_latest is before return_time',
        ),
        ({"return_latest": "soon"}, "return_latest is not an ISO 8601 timestamp"),
    ],
)
def test_bad_return_window(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: dict[str, Any], message: str
) -> None:
    code, out, err = _run(tmp_path, _round_trip_doc(**extra), capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err, err


def test_return_latest_without_return_time(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = _set(("requests", 2, "return_latest"), "2026-12-01T13:00:00+01:00")
    code, _, err = _run(tmp_path, doc, capsys)
    assert code == 2 and err.count("\n") == 1 and "return_latest needs a return_time" in err
