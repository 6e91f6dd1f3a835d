"""Framework-free matching engine: residents' requests × drivers' offers and volunteers.

Public API::

    match_batch(offers, volunteers, requests, params=None, router=None) -> MatchResult
    match_round_trips(offers, volunteers, requests, params=None, router=None) -> MatchResult
        (both legs of round trips jointly; assignments carry ``leg``; the same as
        match_batch when no request has a return_time)
    CandidateIndex(offers=(), volunteers=(), params=None, router=None)
        .add(offer) / .remove(offer_id) / .candidates(request, limit=None) -> list[Option]

Nothing here imports Flask, SQLAlchemy or the rest of ``carpool`` (only the pure
``carpool.gazetteer`` for the synthetic benchmark data). OR-Tools is imported
lazily, only when a batch has contention.
"""

from __future__ import annotations

from carpool.matching.assign import greedy_batch, match_batch
from carpool.matching.feasibility import default_max_detour
from carpool.matching.index import CandidateIndex
from carpool.matching.model import (
    Assignment,
    MatchResult,
    NearMiss,
    Offer,
    Option,
    Params,
    Point,
    Request,
    RoutePlan,
    Slot,
    Stop,
    Unmatched,
    Volunteer,
)
from carpool.matching.roundtrip import back_leg, match_round_trips
from carpool.matching.router import CrowFlyRouter, Router, haversine_km

__all__ = [
    "Assignment",
    "CandidateIndex",
    "CrowFlyRouter",
    "MatchResult",
    "NearMiss",
    "Offer",
    "Option",
    "Params",
    "Point",
    "Request",
    "RoutePlan",
    "Router",
    "Slot",
    "Stop",
    "Unmatched",
    "Volunteer",
    "back_leg",
    "default_max_detour",
    "greedy_batch",
    "haversine_km",
    "match_batch",
    "match_round_trips",
]
