"""The map of the day: a server-rendered list, and the same items as JSON for Leaflet.

The list is the page; the map is drawn over it by ``static/map.js`` when
Leaflet loads (tiles come from OpenStreetMap, fetched by the browser only), so
the page works offline, by keyboard and with a screen reader. No inline script:
the page stays compatible with a strict Content-Security-Policy.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, render_template

from carpool.extensions import db_session
from carpool.services import map_data
from carpool.web.coordinators import bp
from carpool.web.coordinators.common import association_id, coordinator_required, now
from carpool.web.filters import heure_filter, jour_filter

TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
TILES_ATTRIBUTION = (
    '&copy; <a href="https://www.openstreetmap.org/copyright">les contributeurs d\'OpenStreetMap</a>'
)


def _collect() -> map_data.MapData:
    data = map_data.collect(db_session(), association_id(), now())
    db_session().rollback()  # read only: end the transaction (SQLite holds the write lock)
    return data


@bp.get("/carte", endpoint="map")
@coordinator_required
def map_page() -> str:
    return render_template("coordinators/map.html", data=_collect(), coarsening=map_data.COARSENING)


@bp.get("/carte.json", endpoint="map_data")
@coordinator_required
def map_json() -> Response:
    data = _collect()
    response = jsonify(
        day=jour_filter(data.day),
        coarsening=map_data.COARSENING,
        tiles={"url": TILES, "attribution": TILES_ATTRIBUTION},
        trips=[_trip(trip) for trip in data.trips],
        requests=[_request(request) for request in data.requests],
        homes=[_home(home) for home in data.homes],
    )
    response.headers["Cache-Control"] = "no-store"  # names of residents: not for shared caches
    return response


def _trip(trip: map_data.TripItem) -> dict[str, Any]:
    return {
        "id": trip.match_id,
        "pickup_at": trip.pickup_at.isoformat(),
        "when": heure_filter(trip.pickup_at),
        "stage": trip.stage,
        "stage_label": trip.stage_label,
        "passenger": trip.passenger,
        "driver": trip.driver,
        "from": _spot(trip.origin),
        "to": _spot(trip.destination),
    }


def _request(request: map_data.RequestItem) -> dict[str, Any]:
    return {
        "id": request.request_id,
        "latest": request.latest.isoformat(),
        "when": f"{jour_filter(request.latest)}, arrivée avant {heure_filter(request.latest)}",
        "passenger": request.passenger,
        "passengers": request.passengers,
        "needs": list(request.needs),
        "from": _spot(request.origin),
        "to": _spot(request.destination),
    }


def _home(home: map_data.HomeItem) -> dict[str, Any]:
    return {
        "id": home.driver_id,
        "driver": home.driver,
        "seats": home.seats,
        "wheelchair_accessible": home.wheelchair_accessible,
        "at": _spot(home.home),
    }


def _spot(spot: map_data.Spot) -> dict[str, Any]:
    return {"name": spot.name, "lon": spot.lon, "lat": spot.lat}
