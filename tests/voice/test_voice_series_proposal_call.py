"""A landline resident's series occurrence is proposed in a call, its options read one by one."""

from __future__ import annotations

from datetime import time

import sqlalchemy as sa
from support.factories import TUESDAY, add_driver, add_offer, add_request
from support.jobkit import tick
from support.voicekit import said
from test_voice_outbound_calls import outbox, place_calls

from carpool.models import Conversation, Match
from carpool.services import series as series_service


def test_a_series_occurrence_with_two_options_is_a_call_and_2_then_1_books_the_second(
    db, session, association, landline, clock, backend, fake_twilio, phone
):
    first = add_request(session, association, resident=landline, appointment=time(10, 0))
    plan = series_service.SeriesInput(weekdays=(1,), arrive_by=time(10, 0), first_day=TUESDAY.date())
    series_service.create(session, first, plan, actor="user:1")
    add_offer(session, add_driver(session, association), depart=time(8, 0))
    add_offer(session, add_driver(session, association, first_name="Paul"), depart=time(7, 30))
    session.commit()
    clock.advance(hours=7 * 24 - 1)  # Monday 30 November, 09:00: the job runs, calls may ring

    tick(db, clock, "series")
    (row,) = [r for r in outbox(session) if r.idempotency_key == f"request:{first.id}:series-proposal"]
    assert row.channel == "voice"
    wanted = session.scalars(sa.select(Conversation)).one().options[1]["offer_id"]
    session.rollback()
    place_calls(db, backend, clock)
    (_, second, _) = phone.ring(fake_twilio.calls[0], press=("2", "1"))

    assert "Deuxième possibilité" in said(second)
    session.expire_all()
    assert [m.offer_id for m in session.scalars(sa.select(Match))] == [wanted]
