"""Each association's calls leave from its own line: a resident who calls back reaches its menu."""

from __future__ import annotations

import sqlalchemy as sa
from support.factories import add_association
from support.fake_twilio import FakeTwilio
from support.sendkit import SENDER

from carpool.models.messages import OutboundMessage
from carpool.notify import outbox
from carpool.notify.backends import TwilioBackend
from carpool.notify.dispatcher import dispatch_once

BASE = "https://covoiturage.example.org"
VOICE_FROM = "+33539980099"


def backend(fake: FakeTwilio, *, voice_from: str = "") -> TwilioBackend:
    return TwilioBackend(
        fake.account_sid,
        fake.auth_token,
        from_number=SENDER,
        api_base_url=fake.base_url,
        timeout_seconds=2.0,
        voice_from=voice_from,
    )


def place(db, fake: FakeTwilio, clock, lines: dict[str, tuple[str | None, str | None]], **kwargs):
    """One call per association (name → (phone, sms_number)) and one without any: ``to`` → ``from``."""
    with db.session() as session:
        for n, (name, (line, sms_number)) in enumerate(lines.items()):
            association = add_association(session, name, phone=line, sms_number=sms_number)
            outbox.enqueue(
                session, f"k:{n}", f"+3353649120{n}", "Rappel", channel="voice", association_id=association.id
            )
        outbox.enqueue(session, "k:none", "+33536491209", "Rappel", channel="voice")
    report = dispatch_once(db, backend(fake, **kwargs), clock, public_base_url=BASE)
    assert report.called == len(lines) + 1
    return {call["to"]: call["from"] for call in fake.calls}


def test_two_associations_each_call_from_their_own_phone_line(db, fake_twilio, clock):
    callers = place(
        db,
        fake_twilio,
        clock,
        {
            "Lot Mobilité": ("05 39 98 00 01", "06 39 98 00 00"),
            "Val-d'Oise Solidarité": ("+33 1 39 98 00 02", "06 39 98 00 95"),
        },
    )
    assert (callers["+33536491200"], callers["+33536491201"]) == ("+33539980001", "+33139980002")


def test_an_association_without_a_phone_line_calls_from_its_sms_number(db, fake_twilio, clock):
    callers = place(db, fake_twilio, clock, {"SMS seulement": (None, "06 39 98 00 95")})
    assert callers["+33536491200"] == "+33639980095"


def test_an_unreadable_phone_line_falls_back_to_the_sms_number(db, fake_twilio, clock):
    callers = place(db, fake_twilio, clock, {"Ligne illisible": ("standard", "06 39 98 00 95")})
    assert callers["+33536491200"] == "+33639980095"


def test_without_any_line_a_call_leaves_from_voice_from(db, fake_twilio, clock):
    callers = place(db, fake_twilio, clock, {"Sans numéro": (None, None)}, voice_from=VOICE_FROM)
    assert callers == {"+33536491200": VOICE_FROM, "+33536491209": VOICE_FROM}


def test_without_any_line_nor_voice_from_a_call_leaves_from_twilio_from(db, fake_twilio, clock):
    callers = place(db, fake_twilio, clock, {"Sans numéro": (None, None)})
    assert callers == {"+33536491200": SENDER, "+33536491209": SENDER}


def test_a_line_twilio_refuses_as_caller_id_calls_from_voice_from_once(db, fake_twilio, clock):
    """The office's own landline is no Twilio number: refused before any call, so VOICE_FROM calls."""
    fake_twilio.caller_ids = {VOICE_FROM, "+33639980095"}
    callers = place(
        db,
        fake_twilio,
        clock,
        {"Standard hors Twilio": ("05 65 12 34 56", None), "Numéro Twilio": (None, "06 39 98 00 95")},
        voice_from=VOICE_FROM,
    )
    assert callers == {"+33536491200": VOICE_FROM, "+33536491201": "+33639980095", "+33536491209": VOICE_FROM}
    assert len(fake_twilio.calls) == 3


def test_a_refused_caller_id_without_voice_from_is_a_permanent_failure(db, fake_twilio, clock):
    fake_twilio.caller_ids = {"+33639980095"}
    with db.session() as session:
        association = add_association(session, "Standard hors Twilio", phone="05 65 12 34 56")
        outbox.enqueue(
            session, "k:0", "+33536491200", "Rappel", channel="voice", association_id=association.id
        )
    report = dispatch_once(db, backend(fake_twilio), clock, public_base_url=BASE)
    assert (report.called, report.failed, fake_twilio.calls) == (0, 1, [])
    with db.session() as session:
        assert session.scalars(sa.select(OutboundMessage.error_code)).all() == ["21210"]
