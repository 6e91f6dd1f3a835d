"""The matcher's road speed is the association's: a town's short rides take longer than 50 km/h says."""

from __future__ import annotations

from datetime import time

from support.factories import add_driver, add_offer, add_request, add_resident

from carpool.models import Association
from carpool.services import matching


def test_the_index_follows_the_associations_road_speed_and_is_rebuilt_when_it_changes(
    session, association, clock
):
    assert matching.candidate_index(session, association.id, clock).params.speed_kmh == 50

    session.get_one(Association, association.id).road_speed_kmh = 25
    session.flush()

    assert matching.candidate_index(session, association.id, clock).params.speed_kmh == 25


def test_at_town_speed_a_long_ride_that_fits_at_50_kmh_arrives_too_late(session, association, clock):
    driver = add_driver(session, association)
    add_offer(session, driver, depart=time(8, 0))  # Figeac → Cahors, about 60 km
    request = add_request(session, association, resident=add_resident(session, association))
    session.commit()
    assert matching.ride_options(session, request, clock)  # at 50 km/h: there for 10:00

    session.get_one(Association, association.id).road_speed_kmh = 20
    session.commit()

    assert matching.ride_options(session, request, clock) == []
