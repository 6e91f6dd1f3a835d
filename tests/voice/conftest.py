"""Fixtures of the call tests: a landline resident, a near-miss to propose, the phone that rings."""

from __future__ import annotations

from datetime import time

import pytest
from support.drivers_kit import log_in
from support.factories import CAJARC, add_coordinator, add_driver, add_offer, add_request, add_resident
from support.sendkit import make_backend
from support.voicekit import Phone

LANDLINE = "+33536491201"  # ARCEP's range for fiction (05 36 49 xx xx)


@pytest.fixture
def coordinator(session, association):
    return add_coordinator(session, association)


@pytest.fixture
def coord_client(client, no_csrf, coordinator):
    log_in(client, coordinator)
    return client


@pytest.fixture
def landline(session, association):
    """Marcel, 05 36 49 12 01 at home in Cajarc: reached by phone calls only."""
    resident = add_resident(session, association, LANDLINE, first_name="Marcel", home=CAJARC, channel="voice")
    session.commit()
    return resident


@pytest.fixture
def offer(session, association):
    """Sophie drives Figeac → Cahors at 8:00 on Tuesday."""
    offer = add_offer(session, add_driver(session, association), depart=time(8, 0))
    session.commit()
    return offer


@pytest.fixture
def request_of(session, association, landline):
    """Marcel's request to be in Cahors by 8:30 on Tuesday: Sophie's trip is a near miss to propose."""
    request = add_request(session, association, resident=landline, appointment=time(8, 30))
    session.commit()
    return request


@pytest.fixture
def backend(fake_twilio):
    return make_backend(fake_twilio)


@pytest.fixture
def phone(client, fake_twilio):
    return Phone(client, fake_twilio)


@pytest.fixture
def proposal_call(coord_client, db, request_of, offer, backend, fake_twilio, clock):
    """Marcel's proposal, proposed by a coordinator and placed as a call: the fake's call record."""
    from test_voice_outbound_calls import place_calls, propose

    propose(coord_client, request_of.id)
    place_calls(db, backend, clock)
    return fake_twilio.calls[0]
