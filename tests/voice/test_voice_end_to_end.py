"""End to end: a landline resident registered on the phone → matched → proposal call → 1 → booked
→ confirmation call → eve reminder call, through the real twilio client and the fake's phone."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from support.factories import TUESDAY
from support.voicekit import said
from test_voice_outbound_calls import outbox, place_calls, propose

from carpool.models import Match, MatchStatus, Request, Resident
from carpool.services import reminders

TRIP = {"destination": "Cahors", "day": TUESDAY.date().isoformat(), "arrive_by": "10:00", "passengers": "1"}
CALLER = {"first_name": "Marcel", "last_name": "Vidal", "phone": "05 36 49 12 05", "home_commune": "Cajarc"}


def test_a_landline_resident_books_by_phone_and_is_called_for_each_notice(
    coord_client, session, db, offer, backend, fake_twilio, clock, phone
):
    coord_client.post("/coordination/appel/nouveau", data={**CALLER, "consent": "y"})
    resident = session.scalars(sa.select(Resident)).one()
    session.commit()
    assert resident.channel == "voice"
    coord_client.post(f"/coordination/appel/{resident.id}", data=TRIP)
    request = session.scalars(sa.select(Request)).one()
    session.commit()

    propose(coord_client, request.id)
    place_calls(db, backend, clock)
    (proposal, booked) = phone.ring(fake_twilio.calls[0], press=("1",))
    assert "Sophie vous prend" in said(proposal) and "Au revoir" in said(booked)
    match = session.scalars(sa.select(Match)).one()
    assert match.status is MatchStatus.CONFIRMED
    driver_phone = offer_driver_phone(session, match)
    session.commit()

    place_calls(db, backend, clock)  # the confirmation: a call to Marcel, an SMS to Sophie
    assert [c["to"] for c in fake_twilio.calls] == ["+33536491205", "+33536491205"]
    (confirmation,) = phone.ring(fake_twilio.calls[1])
    assert "C'est confirmé" in said(confirmation) and "ANNULER" not in said(confirmation)
    assert [m["to"] for m in fake_twilio.messages] == [driver_phone]

    # Rows are stamped by the wall clock; the test's clock is in November: booked "now".
    session.execute(sa.update(Match).where(Match.id == match.id).values(created_at=clock.now()))
    session.commit()
    clock.current = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)  # 18:00 in Paris, the eve
    reminders.send_due(session, clock)
    session.commit()
    place_calls(db, backend, clock)
    (eve,) = phone.ring(fake_twilio.calls[2])
    assert "Rappel : Sophie passe vous prendre" in said(eve)
    assert {r.channel for r in outbox(session) if r.resident_id == resident.id} == {"voice"}
    assert [r.status.value for r in outbox(session) if r.channel == "voice"] == ["delivered"] * 3


def offer_driver_phone(session, match) -> str:
    from carpool.models import Driver

    return session.get_one(Driver, match.driver_id).phone
