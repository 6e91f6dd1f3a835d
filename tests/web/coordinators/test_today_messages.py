"""The first page lists the texts that need a person, first: who, when, what, why; "Fait" and "Rappeler"."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from support.coordkit import page_queries
from support.drivers_kit import csrf_token, log_in, text
from support.factories import add_coordinator, add_resident

from carpool.models import AuditEvent, InboundMessage
from carpool.services.sms_inbound import handle_inbound

UNKNOWN = "+33639985555"
_sids = itertools.count(1)


def texted(session, clock, sender: str, body: str, at: datetime | None = None) -> int:
    """One SMS through the real inbound path; its id (``at`` sets when it arrived)."""
    sid = f"SMW{next(_sids):031d}"
    handle_inbound(
        session, message_sid=sid, from_phone=sender, to_phone="+33639980000", body=body, clock=clock
    )
    message = session.scalars(sa.select(InboundMessage).where(InboundMessage.message_sid == sid)).one()
    if at is not None:
        message.created_at = at
    session.commit()
    return message.id


def state(session, message_id: int) -> tuple:
    session.expire_all()
    message = session.get_one(InboundMessage, message_id)
    events = session.scalar(
        sa.select(sa.func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action.in_(("sms.handled", "sms.callback_planned")))
    )
    row = (message.handled_at, message.handled_by_id, message.callback_at, message.callback_by_id, events)
    session.rollback()  # SQLite: leave no transaction open while the app writes
    return row


@pytest.fixture
def jeanne(session, association):
    return add_resident(session, association, first_name="Jeanne")


def test_texts_that_need_a_person_come_first_with_who_when_what_and_why(coord_client, session, clock, jeanne):
    texted(
        session, clock, UNKNOWN, "bonjour je voudrais un taxi", at=datetime(2026, 11, 22, 17, 5, tzinfo=UTC)
    )
    texted(session, clock, jeanne.phone, "AIDE", at=datetime(2026, 11, 23, 8, 30, tzinfo=UTC))

    page = text(coord_client.get("/coordination/"))

    assert (
        page.index("À traiter")
        < page.index("Trajets, SMS et appels à surveiller")
        < page.index("Aucun trajet")
    )
    assert "2 messages à traiter" in page
    newest, oldest = page.index("« AIDE »"), page.index("« bonjour je voudrais un taxi »")
    assert newest < oldest
    assert "Jeanne Delpech" in page and "demande à être rappelé(e)" in page
    assert "lundi 23 novembre 2026 à 9 h 30" in page  # Europe/Paris
    assert "dimanche 22 novembre 2026 à 18 h 05" in page
    assert "numéro inconnu (+33 6 •• •• •• 55)" in page


def test_neither_an_unknown_senders_number_nor_a_residents_is_shown_before_a_call_back(
    coord_client, session, clock, jeanne
):
    texted(session, clock, UNKNOWN, "allo")
    texted(session, clock, jeanne.phone, "AIDE")

    page = text(coord_client.get("/coordination/"))

    assert "55 55" not in page and "5555" not in page
    assert jeanne.phone not in page and jeanne.phone[-4:] not in page
    assert page.count("Rappeler") == 1  # nobody can call back a number they cannot see


def test_done_takes_the_text_off_the_page_and_a_second_click_changes_nothing(
    coord_client, session, clock, coordinator
):
    message_id = texted(session, clock, UNKNOWN, "allo")

    first = coord_client.post(f"/coordination/messages/{message_id}/fait")
    after_first = state(session, message_id)
    second = coord_client.post(f"/coordination/messages/{message_id}/fait", follow_redirects=True)

    assert first.status_code == 302
    assert after_first[1] == coordinator.id and after_first[4] == 1
    assert state(session, message_id) == after_first
    page = text(second)
    assert "Ce message était déjà traité." in page and "« allo »" not in page
    assert "Aucun message à traiter" in page


def test_call_back_shows_the_residents_phone_and_their_page_once(
    coord_client, session, clock, coordinator, jeanne
):
    message_id = texted(session, clock, jeanne.phone, "AIDE")

    page = text(coord_client.post(f"/coordination/messages/{message_id}/rappeler", follow_redirects=True))
    after_first = state(session, message_id)
    again = text(coord_client.post(f"/coordination/messages/{message_id}/rappeler", follow_redirects=True))

    assert "Rappel prévu par claire@example.org" in page
    assert f'href="tel:{jeanne.phone}"' in page
    assert f"/coordination/habitants/{jeanne.id}" in page
    assert "« AIDE »" in page  # still to handle until someone marks it done
    assert after_first[3] == coordinator.id and after_first[4] == 1
    assert "Ce message est déjà pris en charge : rappel prévu, ou traité." in again
    assert state(session, message_id) == after_first


def test_an_unknown_number_cannot_be_called_back(coord_client, session, clock):
    message_id = texted(session, clock, UNKNOWN, "allo")
    before = state(session, message_id)

    page = text(coord_client.post(f"/coordination/messages/{message_id}/rappeler", follow_redirects=True))

    assert "Ce numéro est inconnu et n'est pas affiché" in page
    assert state(session, message_id) == before


def test_actions_without_the_csrf_token_are_refused(client, session, clock, coordinator, jeanne):
    log_in(client, coordinator)
    message_id = texted(session, clock, jeanne.phone, "AIDE")
    before = state(session, message_id)

    for action in ("fait", "rappeler"):
        assert client.post(f"/coordination/messages/{message_id}/{action}").status_code == 400
    assert state(session, message_id) == before

    token = csrf_token(client.get("/coordination/").get_data(as_text=True))
    response = client.post(f"/coordination/messages/{message_id}/fait", data={"csrf_token": token})
    assert response.status_code == 302 and state(session, message_id)[0] is not None


def test_another_associations_text_is_neither_shown_nor_reachable(
    client, no_csrf, session, clock, association, other_association
):
    message_id = texted(session, clock, UNKNOWN, "Marcel ici, rappelez moi")  # goes to the Lot's number
    intruder = add_coordinator(session, other_association, email="intrus@example.org")
    log_in(client, intruder)
    before = state(session, message_id)

    page = text(client.get("/coordination/"))
    refused = [
        client.post(f"/coordination/messages/{message_id}/{a}").status_code for a in ("fait", "rappeler")
    ]

    assert "Marcel" not in page and "Aucun message à traiter" in page
    assert refused == [404, 404]
    assert state(session, message_id) == before


def test_the_page_reads_the_texts_in_a_fixed_number_of_queries(coord_client, db, session, clock, jeanne):
    texted(session, clock, jeanne.phone, "AIDE")
    few = page_queries(db, coord_client, "/coordination/")
    for n in range(6):
        texted(session, clock, f"+3363998550{n}", "allo")
    assert page_queries(db, coord_client, "/coordination/") == few
