"""Seats are never promised twice, and matches move only along the state machine."""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from support.booking_race import try_to_book
from support.factories import add_driver, add_offer, add_request

from carpool.models import AuditEvent, Match, MatchStatus, Offer, Request, RequestStatus, Resident
from carpool.services.bookings import SeatUnavailable, TransitionRefused, propose, transition


def add_requests(session, association, count: int) -> list[Request]:
    requests = []
    for n in range(count):
        request = add_request(session, association)
        session.execute(
            sa.update(Resident).where(Resident.id == request.resident_id).values(phone=f"+3363997{n:04d}")
        )
        requests.append(request)
    session.commit()
    return requests


def book(session, request, offer, clock) -> Match:
    return propose(
        session,
        request,
        driver_id=offer.driver_id,
        offer_id=offer.id,
        pickup_at=request.earliest,
        dropoff_at=request.latest,
        detour_min=4.0,
        actor="test",
        clock=clock,
    )


def one_seat_offer(session, association) -> Offer:
    offer = add_offer(session, add_driver(session, association), seats=1)
    session.commit()
    return offer


def seats_left(db, offer_id: int) -> int:
    with db.session() as session:
        return session.get_one(Offer, offer_id).seats_left


def test_a_proposal_holds_the_seats(db, session, association, clock):
    offer = add_offer(session, add_driver(session, association), seats=3)
    (request,) = add_requests(session, association, 1)

    book(session, request, offer, clock)
    session.commit()

    assert seats_left(db, offer.id) == 2
    assert session.get_one(Request, request.id).status is RequestStatus.MATCHED


def test_the_last_seat_cannot_be_taken_twice_and_nothing_is_written(db, session, association, clock):
    offer = one_seat_offer(session, association)
    first, second = add_requests(session, association, 2)
    book(session, first, offer, clock)
    session.commit()

    with pytest.raises(SeatUnavailable), db.session() as other:
        book(other, other.get_one(Request, second.id), other.get_one(Offer, offer.id), clock)

    with db.session() as check:
        assert check.get_one(Request, second.id).status is RequestStatus.OPEN
        assert check.scalar(sa.select(sa.func.count()).select_from(Match)) == 1


def test_fifty_threads_racing_for_the_last_seat_book_it_once(db, session, association, clock):
    offer = one_seat_offer(session, association)
    requests = add_requests(session, association, 50)
    barrier = threading.Barrier(50)

    def attempt(request_id: int) -> bool:
        barrier.wait()
        try:
            with db.session() as own:
                book(own, own.get_one(Request, request_id), own.get_one(Offer, offer.id), clock)
            return True
        except SeatUnavailable:
            return False

    with ThreadPoolExecutor(max_workers=50) as pool:
        outcomes = list(pool.map(attempt, [r.id for r in requests]))

    assert outcomes.count(True) == 1
    assert seats_left(db, offer.id) == 0


def test_several_processes_racing_for_the_last_seat_book_it_once(db, database_url, session, association):
    offer = one_seat_offer(session, association)
    requests = add_requests(session, association, 8)
    context = multiprocessing.get_context("spawn")

    with context.Pool(4) as pool:
        outcomes = pool.starmap(
            try_to_book, [(database_url, r.id, offer.id, offer.driver_id) for r in requests]
        )

    assert outcomes.count(True) == 1
    assert seats_left(db, offer.id) == 0


def test_the_driver_accepts_then_the_passenger_confirms(db, session, association, clock):
    offer = add_offer(session, add_driver(session, association))
    (request,) = add_requests(session, association, 1)
    match = book(session, request, offer, clock)

    transition(session, match, MatchStatus.ACCEPTED, actor="driver:1", clock=clock)
    transition(session, match, MatchStatus.CONFIRMED, actor="resident:1", clock=clock)
    session.commit()

    actions = session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert match.status is MatchStatus.CONFIRMED
    assert [a for a in actions if a.startswith("match.")] == [
        "match.proposed",
        "match.accepted",
        "match.confirmed",
    ]


def test_a_confirmed_match_cannot_go_back_to_proposed(session, association, clock):
    offer = add_offer(session, add_driver(session, association))
    (request,) = add_requests(session, association, 1)
    match = book(session, request, offer, clock)
    transition(session, match, MatchStatus.ACCEPTED, actor="driver:1", clock=clock)

    with pytest.raises(TransitionRefused):
        transition(session, match, MatchStatus.PROPOSED, actor="driver:1", clock=clock)


def test_cancelling_gives_the_seats_back_and_reopens_the_request(db, session, association, clock):
    offer = add_offer(session, add_driver(session, association), seats=2)
    (request,) = add_requests(session, association, 1)
    match = book(session, request, offer, clock)

    transition(
        session, match, MatchStatus.CANCELLED, actor="driver:1", clock=clock, reason="panne de voiture"
    )
    session.commit()

    assert seats_left(db, offer.id) == 2
    assert session.get_one(Request, request.id).status is RequestStatus.OPEN
    assert (match.cancelled_by, match.cancel_reason) == ("driver:1", "panne de voiture")


def test_twenty_accept_clicks_at_once_accept_the_match_once(db, session, association, clock):
    offer = add_offer(session, add_driver(session, association))
    (request,) = add_requests(session, association, 1)
    match_id = book(session, request, offer, clock).id
    session.commit()
    barrier = threading.Barrier(20)

    def attempt(n: int) -> bool:
        barrier.wait()
        try:
            with db.session() as own:
                transition(
                    own, own.get_one(Match, match_id), MatchStatus.ACCEPTED, actor=f"user:{n}", clock=clock
                )
            return True
        except TransitionRefused:
            return False

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(attempt, range(20)))

    assert outcomes.count(True) == 1
    with db.session() as check:
        accepted = check.scalars(sa.select(AuditEvent).where(AuditEvent.action == "match.accepted")).all()
        assert len(accepted) == 1
