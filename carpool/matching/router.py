"""Travel times and distances between points.

The engine only talks to a :class:`Router`; the default :class:`CrowFlyRouter`
needs no network and is what the spec prescribes (haversine × circuity at a
fixed speed). A road router can be plugged in later if it honours the same
contract, including ``crow_speed_kmh`` which the spatial index needs to bound
how far from a route a feasible pickup can be.
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np
import numpy.typing as npt

from carpool.matching.model import Point

EARTH_RADIUS_KM = 6371.0
FloatArray = npt.NDArray[np.float64]


def haversine_km(a: Point, b: Point) -> float:
    """Great-circle distance in km between two (lon, lat) points."""
    lon1, lat1 = math.radians(a[0]), math.radians(a[1])
    lon2, lat2 = math.radians(b[0]), math.radians(b[1])
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, h)))


def haversine_km_v(lon1: FloatArray, lat1: FloatArray, lon2: FloatArray, lat2: FloatArray) -> FloatArray:
    """Vectorised :func:`haversine_km` (arguments broadcast, degrees)."""
    rlat1, rlat2 = np.radians(lat1), np.radians(lat2)
    h = (
        np.sin((rlat2 - rlat1) / 2) ** 2
        + np.cos(rlat1) * np.cos(rlat2) * np.sin((np.radians(lon2) - np.radians(lon1)) / 2) ** 2
    )
    return np.asarray(2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.minimum(1.0, h))), dtype=np.float64)


class Router(Protocol):
    """Travel time (minutes) and distance (km) between points.

    Contract used by the index and the exact checks: times obey the triangle
    inequality, and ``time_min(a, b) >= 60 * haversine_km(a, b) / crow_speed_kmh``.
    """

    @property
    def crow_speed_kmh(self) -> float: ...

    def time_min(self, a: Point, b: Point) -> float: ...

    def distance_km(self, a: Point, b: Point) -> float: ...

    def time_min_v(
        self, lon1: FloatArray, lat1: FloatArray, lon2: FloatArray, lat2: FloatArray
    ) -> FloatArray:
        """Vectorised time_min over broadcast arrays of coordinates."""
        ...


class CrowFlyRouter:
    """Haversine distance × circuity, driven at a constant speed."""

    def __init__(self, circuity: float = 1.3, speed_kmh: float = 50.0) -> None:
        if circuity < 1 or speed_kmh <= 0:
            raise ValueError("circuity must be >= 1 and speed_kmh > 0")
        self.circuity = circuity
        self.speed_kmh = speed_kmh
        self._min_per_km = 60.0 * circuity / speed_kmh

    @property
    def crow_speed_kmh(self) -> float:
        return self.speed_kmh / self.circuity

    def distance_km(self, a: Point, b: Point) -> float:
        return haversine_km(a, b) * self.circuity

    def time_min(self, a: Point, b: Point) -> float:
        return haversine_km(a, b) * self._min_per_km

    def time_min_v(
        self, lon1: FloatArray, lat1: FloatArray, lon2: FloatArray, lat2: FloatArray
    ) -> FloatArray:
        return haversine_km_v(lon1, lat1, lon2, lat2) * self._min_per_km
