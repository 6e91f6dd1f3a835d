"""A resident texts the service: webhook → understanding → matching → outbox, and back."""

from __future__ import annotations

import itertools
import threading
from datetime import date, time

import pytest
import sqlalchemy as sa
from support.factories import RESIDENT_PHONE, add_driver, add_offer, post_text

from carpool.models import (
    Conversation,
    ConversationState,
    InboundMessage,
    Match,
    MatchStatus,
    Offer,
    OutboundMessage,
    Request,
    RequestStatus,
)
from carpool.notify.gsm import segments
from carpool.services.sms_inbound import handle_inbound

NEXT_TUESDAY = date(2026, 11, 24)  # the clock fixture says Monday 23 November 2026, 10:00 in Paris


@pytest.fixture
def offer(session, association) -> Offer:
    driver = add_driver(session, association)
    offer = add_offer(session, driver, depart=time(8, 0), day=NEXT_TUESDAY)
    session.commit()
    return offer


def text(client, body: str, sender: str = RESIDENT_PHONE, sid: str | None = None, **extra: str):
    return post_text(client, body, sender, sid, **extra)


def replies_to(db, phone: str) -> list[str]:
    with db.session() as session:
        rows = session.scalars(
            sa.select(OutboundMessage).where(OutboundMessage.to_phone == phone).order_by(OutboundMessage.id)
        )
        return [row.body for row in rows]


def test_a_complete_request_gets_numbered_options(client, db, resident, offer):
    response = text(client, "Bjr c Mme Delpech jai rdv a lhopital de cahors mardi a 10h")

    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    (reply,) = replies_to(db, RESIDENT_PHONE)
    assert "Sophie vous prend à" in reply
    assert "Cahors" in reply
    assert "OUI ou NON" in reply
    assert segments(reply) == 1


def test_answering_oui_confirms_the_ride_and_tells_the_driver(client, db, resident, offer):
    text(client, "rdv hopital de cahors mardi 10h")
    text(client, "oui merci")

    with db.session() as session:
        match = session.scalars(sa.select(Match)).one()
        assert match.status is MatchStatus.CONFIRMED
        assert session.get_one(Offer, offer.id).seats_left == 2
        driver_phone = session.scalar(sa.text("SELECT phone FROM driver"))
    confirmation = replies_to(db, RESIDENT_PHONE)[-1]
    assert confirmation.startswith("C'est confirmé : Sophie passe vous prendre mardi 24 nov.")
    assert "Jeanne" in replies_to(db, driver_phone)[0]


def test_missing_pieces_are_asked_one_at_a_time(client, db, resident, offer):
    text(client, "je voudrais aller a cahors svp")
    text(client, "mardi")
    text(client, "rdv a 10h")

    replies = replies_to(db, RESIDENT_PHONE)
    assert replies[0].startswith("Pour quel jour ?")
    assert replies[1].startswith("A quelle heure")  # À is not GSM-7: transliterated to stay in one segment
    assert "Sophie vous prend à" in replies[2]


def test_no_driver_means_we_search_and_coordinators_see_why(client, db, resident):
    text(client, "rdv hopital de cahors mardi 10h")

    assert replies_to(db, RESIDENT_PHONE) == [
        "Bien noté : mardi 24 nov., Centre hospitalier de Cahors, rdv 10h, sans retour. "
        "Nous cherchons un conducteur et vous recontactons vite."
    ]
    with db.session() as session:
        request = session.scalars(sa.select(Request)).one()
        assert request.status is RequestStatus.OPEN
        assert request.unmatched_reason == "no_offer"


def test_a_retried_webhook_is_processed_once(client, db, resident, offer):
    for _ in range(3):
        assert text(client, "rdv hopital de cahors mardi 10h", sid="SM" + "7" * 32).status_code == 200

    assert len(replies_to(db, RESIDENT_PHONE)) == 1
    with db.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Request)) == 1


def test_the_same_webhook_at_once_in_several_workers_is_processed_once(db, session, resident, offer, clock):
    """Twilio retries while the first delivery is still being handled: the unique sid decides."""
    session.commit()
    barrier, outcomes = threading.Barrier(6), []

    def deliver() -> None:
        with db.session() as mine:
            barrier.wait()
            outcome = handle_inbound(
                mine,
                message_sid="SM" + "8" * 32,
                from_phone=RESIDENT_PHONE,
                to_phone="+33639980000",
                body="rdv hopital de cahors mardi 10h",
                clock=clock,
            )
            mine.commit()
            outcomes.append(outcome)

    workers = [threading.Thread(target=deliver) for _ in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)

    assert sorted(o.duplicate for o in outcomes) == [False] + [True] * 5
    assert len(replies_to(db, RESIDENT_PHONE)) == 1
    with db.session() as check:
        assert check.scalar(sa.select(sa.func.count()).select_from(InboundMessage)) == 1
        assert check.scalar(sa.select(sa.func.count()).select_from(Request)) == 1


def test_stop_is_honoured_until_start(client, db, resident, offer):
    text(client, "STOP")
    text(client, "rdv hopital de cahors mardi 10h")
    text(client, "START")

    assert replies_to(db, RESIDENT_PHONE) == [
        "Vous ne recevrez plus nos SMS. Répondez START pour reprendre.",
        "C'est noté, vous recevez de nouveau nos SMS.",
    ]


def test_an_unknown_number_gets_the_association_phone(client, db, association):
    text(client, "bonjour je voudrais un taxi", sender="+33639985555")

    (reply,) = replies_to(db, "+33639985555")
    assert "05 39 98 00 01" in reply
    with db.session() as session:
        assert session.scalars(sa.select(InboundMessage)).one().needs_attention


def test_two_replies_not_understood_go_to_a_coordinator(client, db, resident):
    text(client, "blablabla")
    text(client, "???? ok la")

    replies = replies_to(db, RESIDENT_PHONE)
    assert replies[0].startswith("Désolé, je n'ai pas compris.")
    assert replies[1].startswith("Un coordinateur va vous rappeler.")
    with db.session() as session:
        assert session.scalars(sa.select(Conversation)).one().state is ConversationState.ESCALATED


def test_annuler_cancels_the_ride_and_frees_the_seat(client, db, resident, offer):
    text(client, "rdv hopital de cahors mardi 10h")
    text(client, "oui")
    text(client, "ANNULER")

    with db.session() as session:
        assert session.scalars(sa.select(Match)).one().status is MatchStatus.CANCELLED
        assert session.get_one(Offer, offer.id).seats_left == 3
        assert session.scalars(sa.select(Request)).one().status is RequestStatus.CANCELLED
    assert replies_to(db, RESIDENT_PHONE)[-1].startswith("Votre trajet mardi 24 nov.")


def test_a_conversation_older_than_48_hours_starts_again(client, db, resident, offer, clock):
    text(client, "je voudrais aller a cahors")
    clock.advance(hours=49)
    text(client, "mardi")

    assert replies_to(db, RESIDENT_PHONE)[-1].startswith("Désolé, je n'ai pas compris.")


@pytest.mark.parametrize(
    "form",
    [
        {"MessageSid": "SM1", "From": RESIDENT_PHONE, "Body": "\x00 😀 bad \u202e"},
        {"Foo": "bar"},
        {"MessageSid": "SM2", "From": RESIDENT_PHONE, "Body": "x" * 5000, "Unknown": "field"},
    ],
)
def test_odd_bodies_never_crash(client, resident, form):
    assert client.post("/sms/inbound", data=form).status_code == 200


def test_broken_encoding_is_answered(client, db, resident):
    response = client.post(
        "/sms/inbound",
        data=b"MessageSid=SM9&From=%2B33639981234&Body=%FF%FE%FA",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    assert len(replies_to(db, RESIDENT_PHONE)) == 1


def test_requests_from_elsewhere_are_refused_without_a_token(client, db, resident):
    response = client.post(
        "/sms/inbound",
        data={"MessageSid": "SM3", "From": RESIDENT_PHONE, "Body": "rdv"},
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )

    assert response.status_code == 403
    with db.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(InboundMessage)) == 0


class TestSignedWebhooks:
    TOKEN = "12345678901234567890123456789012"

    @pytest.fixture
    def app(self, db, clock):
        from carpool import create_app

        return create_app({"TESTING": True, "DATABASE": db, "CLOCK": clock, "TWILIO_AUTH_TOKEN": self.TOKEN})

    def sign(self, url: str, form: dict[str, str]) -> str:
        from twilio.request_validator import RequestValidator

        return RequestValidator(self.TOKEN).compute_signature(url, form)

    def form(self) -> dict[str, str]:
        return {"MessageSid": "SM" + "4" * 32, "From": RESIDENT_PHONE, "To": "+33639980000", "Body": "aide"}

    def test_a_genuine_signature_is_accepted(self, client, db, resident):
        form = self.form()
        signature = self.sign("http://localhost/sms/inbound", form)

        response = client.post("/sms/inbound", data=form, headers={"X-Twilio-Signature": signature})

        assert response.status_code == 200
        assert len(replies_to(db, RESIDENT_PHONE)) == 1

    @pytest.mark.parametrize("signature", [None, "", "forged=="])
    def test_a_missing_or_forged_signature_is_refused_and_nothing_stored(
        self, client, db, resident, signature
    ):
        headers = {} if signature is None else {"X-Twilio-Signature": signature}

        response = client.post("/sms/inbound", data=self.form(), headers=headers)

        assert response.status_code == 403
        with db.session() as session:
            assert session.scalar(sa.select(sa.func.count()).select_from(InboundMessage)) == 0

    def test_a_signature_replayed_on_another_message_is_refused(self, client, db, resident):
        signature = self.sign("http://localhost/sms/inbound", self.form())
        tampered = {**self.form(), "Body": "ANNULER"}

        response = client.post("/sms/inbound", data=tampered, headers={"X-Twilio-Signature": signature})

        assert response.status_code == 403
        assert replies_to(db, RESIDENT_PHONE) == []

    def test_behind_a_proxy_the_public_url_is_used(self, db, clock, resident):
        from carpool import create_app

        app = create_app(
            {
                "TESTING": True,
                "DATABASE": db,
                "CLOCK": clock,
                "TWILIO_AUTH_TOKEN": self.TOKEN,
                "PROXY_FIX_HOPS": 1,
                "PUBLIC_BASE_URL": "https://covoit.example.org",  # only its host is served
            }
        )
        form = self.form()
        signature = self.sign("https://covoit.example.org/sms/inbound", form)

        response = app.test_client().post(
            "/sms/inbound",
            data=form,
            headers={
                "X-Twilio-Signature": signature,
                "X-Forwarded-Proto": "https",
                "X-Forwarded-Host": "covoit.example.org",
            },
        )

        assert response.status_code == 200


def test_any_text_gets_an_answer_and_never_a_500(app, db, resident, offer):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    client = app.test_client()
    sids = itertools.count(10_000)

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=1600))
    def any_message(body: str) -> None:
        with db.session() as session:  # every example starts from a fresh conversation
            session.execute(sa.delete(Conversation))
        response = text(client, body, sid=f"SM{next(sids):032d}")
        assert response.status_code == 200

    any_message()
    with db.session() as session:
        stored = session.scalar(sa.select(sa.func.count()).select_from(InboundMessage))
    assert stored == next(sids) - 10_000  # every message was kept, none lost
