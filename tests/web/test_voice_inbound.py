"""A person calls the association's number: greeting, keypad menu, a person or a voice message.

Every request is signed as Twilio signs it (the app has a token); the clock says
Monday 23 November 2026, 10:00 in Paris.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from support.factories import (
    RESIDENT_PHONE,
    SERVICE_NUMBER,
    add_driver,
    add_offer,
    add_resident,
    add_trip,
    new_message_sid,
)
from support.voicekit import LINE, TOKEN, ring, signed

from carpool.clock import PARIS
from carpool.models import Association, AuditEvent, Match, MatchStatus, VoiceCall, VoiceMessage

NEXT_TUESDAY = date(2026, 11, 24)
RECORDING_SID = "RE" + "a1" * 16
MONDAY_HOURS = {"0": ["09:00", "12:00"]}
ON_DUTY = "+33639985555"


@pytest.fixture
def app(db, clock):
    from carpool import create_app

    return create_app({"TESTING": True, "DATABASE": db, "CLOCK": clock, "TWILIO_AUTH_TOKEN": TOKEN})


@pytest.fixture
def open_office(session, association):
    association.on_duty_phone = ON_DUTY
    association.office_hours = MONDAY_HOURS
    session.commit()
    return association


def test_an_unknown_caller_hears_what_the_service_is_and_a_french_keypad_menu(client, association):
    call = ring(client, "+33565000000")

    gather = call.gather()
    assert gather.get("input") == "dtmf speech"
    assert gather.get("language") == "fr-FR"
    assert gather.get("numDigits") == "1"
    assert "transport solidaire" in call.spoken()
    assert "Pour parler à une personne, tapez 3." in call.spoken()
    assert "tapez 1" not in call.spoken()
    assert all(say.get("voice") == "Polly.Lea" for say in call.twiml.iter("Say"))


def test_a_resident_is_greeted_by_first_name(client, resident):
    call = ring(client, RESIDENT_PHONE)

    assert call.spoken().startswith("Bonjour Jeanne.")
    assert "Pour entendre vos prochains trajets, tapez 1." in call.spoken()


def test_a_resident_calling_from_a_number_written_otherwise_is_still_known(client, resident):
    call = ring(client, "0033639981234")

    assert call.spoken().startswith("Bonjour Jeanne.")


def test_a_resident_of_another_association_is_a_stranger_here(client, session, association):
    other = Association(name="Aveyron Solidaire", sms_number="06 39 98 00 02", phone="05 39 98 00 02")
    session.add(other)
    session.flush()
    add_resident(session, other, "+33639987777", first_name="Paul")
    session.commit()

    call = ring(client, "+33639987777")

    assert "Paul" not in call.spoken()
    assert "transport solidaire" in call.spoken()


def test_digit_3_outside_the_office_hours_records_a_message_of_two_minutes_at_most(client, association):
    call = ring(client, "+33565000000")
    call.press("3")

    record = call.twiml.find("Record")
    assert record is not None
    assert record.get("maxLength") == "120"
    assert record.get("recordingStatusCallback") == "/voice/inbound/enregistrement"
    assert "Nos bureaux sont fermés" in call.spoken()


def test_digit_3_within_the_office_hours_rings_the_on_duty_phone_showing_the_association(client, open_office):
    call = ring(client, "+33565000000")
    call.press("3")

    dial = call.twiml.find("Dial")
    assert dial is not None
    assert dial.get("callerId") == LINE
    assert dial.findtext("Number") == ON_DUTY


def test_nobody_answering_on_duty_leads_to_a_voice_message(client, open_office):
    call = ring(client, "+33565000000")
    call.press("3")
    call.post(call.twiml.find("Dial").get("action"), DialCallStatus="no-answer")

    assert call.twiml.find("Record") is not None
    assert "Personne n'a pu répondre" in call.spoken()


def test_a_finished_conversation_with_the_coordinator_ends_the_call(client, open_office):
    call = ring(client, "+33565000000")
    call.press("3")
    call.post(call.twiml.find("Dial").get("action"), DialCallStatus="completed")

    assert call.twiml.find("Hangup") is not None
    assert call.twiml.find("Record") is None


def test_french_speech_is_accepted_as_well_as_the_keypad(client, association):
    call = ring(client, "+33565000000")
    call.press(speech="Je voudrais parler à une personne")

    assert call.twiml.find("Record") is not None


def test_silence_repeats_the_menu_once_then_says_goodbye(client, association):
    call = ring(client, "+33565000000")

    call.press("")
    assert "Je n'ai pas compris" in call.spoken()
    assert call.twiml.find("Gather") is not None
    call.press("7")
    assert call.twiml.find("Hangup") is not None
    assert "Au revoir" in call.spoken()


def test_9_repeats_the_menu(client, resident):
    call = ring(client, RESIDENT_PHONE)
    call.press("9")

    assert "Pour entendre vos prochains trajets, tapez 1." in call.spoken()


def test_a_recording_is_kept_once_with_the_caller_and_the_resident(client, db, resident, clock):
    call = ring(client, RESIDENT_PHONE)
    call.press("3")
    status = {
        "CallSid": call.sid,
        "RecordingSid": RECORDING_SID,
        "RecordingUrl": "https://api.twilio.com/x",
        "RecordingDuration": "42",
        "RecordingStatus": "completed",
    }

    first = signed(client, "/voice/inbound/enregistrement", status)
    replayed = signed(client, "/voice/inbound/enregistrement", status)

    assert (first.status_code, replayed.status_code) == (204, 204)
    with db.session() as session:
        (message,) = session.scalars(sa.select(VoiceMessage)).all()
        assert (message.recording_sid, message.duration_s) == (RECORDING_SID, 42)
        assert (message.resident_id, message.from_phone) == (resident.id, RESIDENT_PHONE)
        assert message.created_at == clock.now()


def test_a_recording_callback_for_an_unknown_call_changes_nothing(client, db, association):
    status = {"CallSid": "CA" + "9" * 32, "RecordingSid": RECORDING_SID, "RecordingStatus": "completed"}

    assert signed(client, "/voice/inbound/enregistrement", status).status_code == 204
    with db.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(VoiceMessage)) == 0


@pytest.mark.parametrize(
    "path", ["/voice/inbound/menu", "/voice/inbound/proposition", "/voice/inbound/fin-appel"]
)
def test_a_step_of_an_unknown_call_says_goodbye_and_changes_nothing(client, db, association, path):
    response = signed(client, path, {"CallSid": "CA" + "8" * 32, "Digits": "3"})

    assert response.status_code == 200
    assert b"<Hangup" in response.data
    with db.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(VoiceCall)) == 0


@pytest.mark.parametrize("form", [{}, {"CallSid": "CA" + "7" * 32}, {"From": "+33565000000"}])
def test_missing_fields_get_a_goodbye_not_an_error(client, db, association, form):
    response = signed(client, "/voice/inbound", form)

    assert response.status_code == 200
    assert b"<Hangup" in response.data
    with db.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(VoiceCall)) == 0


@pytest.mark.parametrize("headers", [{}, {"X-Twilio-Signature": "forged=="}])
def test_a_call_without_a_valid_signature_is_refused(client, db, association, headers):
    form = {"CallSid": "CA" + "6" * 32, "From": "+33565000000", "To": LINE}

    assert client.post("/voice/inbound", data=form, headers=headers).status_code == 403
    with db.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(VoiceCall)) == 0


def test_a_replayed_call_webhook_is_counted_once(client, db, association):
    sid = "CA" + "5" * 32
    ring(client, "+33565000000", sid=sid)
    again = ring(client, "+33565000000", sid=sid)

    assert again.gather() is not None
    with db.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(VoiceCall)) == 1


def test_a_caller_dialing_again_and_again_leaves_a_few_messages_and_one_alert(client, db, association):
    answers = []
    for _ in range(12):
        call = ring(client, "+33565000000")
        if call.twiml.find("Gather") is None:
            answers.append("refused")
            continue
        call.press("3")
        if call.twiml.find("Record") is not None:
            signed(
                client,
                "/voice/inbound/enregistrement",
                {
                    "CallSid": call.sid,
                    "RecordingSid": f"RE{len(answers):032d}",
                    "RecordingStatus": "completed",
                },
            )
            answers.append("recorded")
        else:
            answers.append("told")

    assert answers.count("recorded") == 2
    assert answers.count("refused") == 12 - 5
    with db.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(VoiceMessage)) == 2
        alerts = session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "voice_calls_limited")
        ).all()
        assert len(alerts) == 1
        assert "+33565000000" not in str(alerts[0].details)


# --- 1: next trips; 2: the pending proposal ---------------------------------------------------


def text(client, body: str) -> None:
    """The resident texts the service (signed too: the app checks signatures)."""
    form = {"MessageSid": new_message_sid(), "From": RESIDENT_PHONE, "To": SERVICE_NUMBER, "Body": body}
    assert signed(client, "/sms/inbound", form).status_code == 200


@pytest.fixture
def offer(session, association):
    driver = add_driver(session, association)
    offer = add_offer(session, driver, depart=time(8, 0), day=NEXT_TUESDAY)
    session.commit()
    return offer


def test_the_next_trips_are_told_with_the_day_the_time_and_the_driver(client, session, association, resident):
    pickup = datetime(2026, 11, 24, 9, 20, tzinfo=PARIS)
    add_trip(session, association, pickup_at=pickup, booked_at=pickup - timedelta(days=2), person=resident)
    session.commit()

    call = ring(client, RESIDENT_PHONE)
    call.press("1")

    assert "Mardi 24 novembre à 9 heures 20, Sophie vous prend pour aller à Cahors." in call.spoken()
    assert call.twiml.find("Gather") is not None


def test_a_resident_without_trips_hears_so(client, resident):
    call = ring(client, RESIDENT_PHONE)
    call.press("1")

    assert "Vous n'avez pas de trajet prévu" in call.spoken()


def test_answering_oui_to_the_pending_proposal_books_it_once(client, db, resident, offer):
    text(client, "rdv hopital de cahors mardi 10h")
    call = ring(client, RESIDENT_PHONE)
    assert "Pour répondre à la proposition de trajet, tapez 2." in call.spoken()

    call.press("2")
    assert "Voici la proposition. Sophie vous prend mardi 24 novembre" in call.spoken()
    proposal = call.gather()
    call.press(speech="oui")
    told = call.spoken()
    call.twiml = None
    again = call.post(proposal.get("action"), Digits="1")

    assert "C'est confirmé : Sophie passe vous prendre mardi 24 novembre" in told
    assert again.find("Hangup") is not None
    assert "C'est confirmé" in call.spoken()
    with db.session() as session:
        (match,) = session.scalars(sa.select(Match)).all()
        assert match.status is MatchStatus.CONFIRMED


def test_answering_non_declines_the_proposal(client, db, resident, offer):
    text(client, "rdv hopital de cahors mardi 10h")
    call = ring(client, RESIDENT_PHONE)
    call.press("2")
    call.press("2")

    assert "vous refusez cette proposition" in call.spoken()
    with db.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Match)) == 0


# --- contact without exposing numbers ---------------------------------------------------------


def trip_today(session, association, resident, clock, *, in_hours: int):
    """A driver and their booked trip with ``resident`` today (committed)."""
    driver = add_driver(session, association)
    now = clock.now()
    booked = now - timedelta(days=1)
    add_trip(
        session,
        association,
        pickup_at=now + timedelta(hours=in_hours),
        booked_at=booked,
        driver=driver,
        person=resident,
    )
    session.commit()
    return driver


def test_a_driver_with_a_trip_today_reaches_the_passenger_through_the_association(
    client, session, association, resident, clock
):
    driver = trip_today(session, association, resident, clock, in_hours=2)

    call = ring(client, driver.phone)
    assert "Pour joindre votre passager d'aujourd'hui, tapez 1." in call.spoken()
    call.press("1")

    dial = call.twiml.find("Dial")
    assert dial.get("callerId") == LINE
    assert dial.findtext("Number") == RESIDENT_PHONE
    assert driver.phone not in call.spoken() and RESIDENT_PHONE not in call.spoken()


def test_a_resident_reaches_today_s_driver_with_4(client, session, association, resident, clock):
    driver = trip_today(session, association, resident, clock, in_hours=1)

    call = ring(client, RESIDENT_PHONE)
    call.press("4")

    dial = call.twiml.find("Dial")
    assert (dial.get("callerId"), dial.findtext("Number")) == (LINE, driver.phone)


def test_a_driver_without_a_trip_today_only_gets_a_person(client, session, association):
    driver = add_driver(session, association)
    session.commit()

    call = ring(client, driver.phone)
    call.press("1")

    assert "Je n'ai pas compris" in call.spoken()


HOSTILE = ["<Say>x</Say>", "avant\x00après", "x" * 5000, "'; DROP TABLE voice_call; --", "١٢٣", ""]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_fields_in_every_step_never_make_a_500(client, resident, value):
    call = ring(client, RESIDENT_PHONE)
    answers = [
        signed(client, "/voice/inbound", {"CallSid": value, "From": value, "To": value}),
        signed(client, "/voice/inbound/menu", {"CallSid": call.sid, "Digits": value, "SpeechResult": value}),
        signed(client, "/voice/inbound/proposition", {"CallSid": value, "Digits": value}),
        signed(client, "/voice/inbound/fin-appel", {"CallSid": call.sid, "DialCallStatus": value}),
        signed(
            client,
            "/voice/inbound/enregistrement",
            {
                "CallSid": call.sid,
                "RecordingSid": value,
                "RecordingDuration": value,
                "RecordingStatus": value,
            },
        ),
    ]

    expected = [400] * 5 if "\x00" in value else [200, 200, 200, 200, 204]  # NUL: refused app-wide
    assert [a.status_code for a in answers] == expected
    assert all(b"DROP TABLE" not in a.data and b"<Say>x" not in a.data for a in answers)


def test_without_the_called_number_the_association_s_own_is_shown_to_the_on_duty_phone(client, open_office):
    call = ring(client, "+33565000000", to="")
    call.press("3")

    assert call.twiml.find("Dial").get("callerId") == LINE


def test_after_stop_no_proposal_is_offered_on_the_phone(client, session, resident, offer):
    text(client, "rdv hopital de cahors mardi 10h")
    session.refresh(resident)
    resident.sms_opted_out_at = datetime(2026, 11, 23, 8, 0, tzinfo=PARIS)
    session.commit()

    call = ring(client, RESIDENT_PHONE)
    call.press("2")

    assert "tapez 2" not in call.spoken()
    assert "Je n'ai pas compris" in call.spoken()
