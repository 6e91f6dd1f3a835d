"""The proposal SMS names the participation only when the association asks one, and the
amount announced is the amount then recorded for the leg."""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal

import pytest
import sqlalchemy as sa
from support.factories import RESIDENT_PHONE, add_driver, add_offer, post_text
from test_sms_webhook import replies_to

from carpool.models import Association, LegParticipation
from carpool.notify.gsm import segments
from carpool.text import euros

NEXT_TUESDAY = date(2026, 11, 24)  # the clock fixture says Monday 23 November 2026


@pytest.fixture
def offer(session, association):
    offer = add_offer(session, add_driver(session, association), depart=time(8, 0), day=NEXT_TUESDAY)
    session.commit()
    return offer


def test_no_participation_is_mentioned_when_the_association_asks_none(client, db, resident, offer):
    post_text(client, "rdv hopital de cahors mardi 10h", RESIDENT_PHONE)

    (proposal,) = replies_to(db, RESIDENT_PHONE)
    assert "Participation" not in proposal


def test_the_proposal_names_the_participation_that_the_booking_records(client, db, session, resident, offer):
    association = session.get_one(Association, resident.association_id)
    association.participation_enabled, association.participation_per_km = True, Decimal("0.20")
    session.commit()

    post_text(client, "rdv hopital de cahors mardi 10h", RESIDENT_PHONE)
    post_text(client, "oui", RESIDENT_PHONE)

    proposal = replies_to(db, RESIDENT_PHONE)[0]
    with db.session() as fresh:
        recorded = fresh.scalars(sa.select(LegParticipation)).one()
    assert f"Participation {euros(recorded.amount)}." in proposal
    assert recorded.amount > 0 and recorded.price_per_km == Decimal("0.200")
    assert segments(proposal) == 1
