"""GDPR tools on a resident's record: export (JSON and readable page), and erasure keeping statistics."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from support.drivers_kit import count, log_in, one, text
from support.factories import add_coordinator, add_driver_account, add_proposal, add_resident, add_texts

from carpool.models import (
    AuditEvent,
    InboundMessage,
    Match,
    MatchStatus,
    OutboundMessage,
    Request,
    Resident,
)
from carpool.services import bookings


def url(resident, tail: str = "") -> str:
    return f"/coordination/habitants/{resident.id}{tail}"


@pytest.fixture
def jeanne(session, association, clock):
    """Jeanne, with a trip done last week, and a text each way."""
    person = add_resident(session, association)
    person.notes = "Portail vert"
    add_texts(session, association, person)
    session.commit()
    driver = add_driver_account(session, association, clock)
    clock.advance(days=-10)
    match = add_proposal(session, association, driver, clock, resident=person, actor="system")
    for status in (MatchStatus.ACCEPTED, MatchStatus.CONFIRMED, MatchStatus.COMPLETED):
        bookings.transition(session, match, status, actor="system", clock=clock)
    session.commit()
    clock.advance(days=10)
    return person


def actions(session) -> list[str]:
    found = list(session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))
    session.commit()
    return found


# --- export ----------------------------------------------------------------------------------


def test_the_json_export_is_a_download_with_texts_and_trips(coord_client, jeanne):
    response = coord_client.get(url(jeanne, "/export.json"))

    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    data = json.loads(response.get_data(as_text=True))
    assert data["profile"]["phone"] == jeanne.phone and data["profile"]["notes"] == "Portail vert"
    assert [m["body"] for m in data["sms_received"]] == ["Bonjour, rdv cardiologue mardi"]
    assert "Sophie vous prendra mardi" in [m["body"] for m in data["sms_sent"]]
    assert [(r["purpose"], r["status"]) for r in data["requests"]] == [("medical", "done")]
    assert [m["status"] for m in data["matches"]] == ["completed"]


def test_the_export_is_audited(coord_client, session, coordinator, jeanne):
    coord_client.get(url(jeanne, "/export.json"))

    event = one(session, sa.select(AuditEvent).where(AuditEvent.action == "resident.exported"))
    assert (event.actor, event.subject_id) == (f"user:{coordinator.id}", jeanne.id)


def test_the_readable_page_shows_everything_and_is_audited(coord_client, session, jeanne):
    response = coord_client.get(url(jeanne, "/donnees"))

    assert response.status_code == 200
    page = text(response)
    assert "Bonjour, rdv cardiologue mardi" in page and "Sophie vous prendra mardi" in page
    assert "Portail vert" in page and "santé" in page and "Cajarc → Cahors" in page
    assert '<th scope="col">Texte</th>' in page and "<caption>" in page
    assert actions(session)[-1] == "resident.exported"


def test_only_accounts_cleared_for_health_data_may_export(client, no_csrf, session, association, jeanne):
    log_in(client, add_coordinator(session, association, email="paul@example.org", sees_health_data=False))

    assert client.get(url(jeanne, "/export.json")).status_code == 403
    assert client.get(url(jeanne, "/donnees")).status_code == 403
    assert "resident.exported" not in actions(session)


# --- erasure ---------------------------------------------------------------------------------


def test_the_erasure_asks_for_confirmation_first(coord_client, session, jeanne):
    page = text(coord_client.get(url(jeanne, "/effacer")))
    assert "définitif" in page and 'name="confirm"' in page

    response = coord_client.post(url(jeanne, "/effacer"), data={})

    assert response.status_code == 422
    assert "Cochez la case" in text(response)
    assert one(session, sa.select(Resident)).first_name == "Jeanne"


def test_erasure_removes_name_phone_notes_and_texts(coord_client, session, jeanne):
    phone = jeanne.phone

    response = coord_client.post(url(jeanne, "/effacer"), data={"confirm": "y"})

    assert response.status_code == 302
    person = one(session, sa.select(Resident))
    assert (person.first_name, person.last_name, person.notes) == ("Anonyme", "", "")
    assert person.phone != phone and person.erased_at is not None
    bodies = set(session.scalars(sa.select(InboundMessage.body))) | set(
        session.scalars(sa.select(OutboundMessage.body))
    )
    session.commit()
    assert bodies == {None}
    assert "resident.erased" in actions(session)


def test_erasure_keeps_the_trip_counts(coord_client, session, jeanne):
    before = (count(session, Request), count(session, Match))

    coord_client.post(url(jeanne, "/effacer"), data={"confirm": "y"})

    assert (count(session, Request), count(session, Match)) == before
    assert one(session, sa.select(Match)).status is MatchStatus.COMPLETED


def test_an_erased_resident_leaves_the_registry_and_their_page_says_so(coord_client, jeanne):
    coord_client.post(url(jeanne, "/effacer"), data={"confirm": "y"})

    assert "Delpech" not in text(coord_client.get("/coordination/habitants"))
    page = text(coord_client.get(url(jeanne)))
    assert "Habitant effacé" in page and "Delpech" not in page and "Portail vert" not in page
    assert coord_client.get(url(jeanne, "/modifier")).status_code == 404
    assert coord_client.get(url(jeanne, "/export.json")).status_code == 404


def test_erasure_waits_while_a_driver_is_engaged(coord_client, session, association, clock, jeanne):
    add_proposal(
        session,
        association,
        add_driver_account(session, association, clock, email="luc@example.org", phone="06 39 98 10 02"),
        clock,
        resident=jeanne,
    )

    assert "Un conducteur est engagé" in text(coord_client.get(url(jeanne, "/effacer")))
    response = coord_client.post(url(jeanne, "/effacer"), data={"confirm": "y"})

    assert response.status_code == 422
    assert "annulez-le d'abord" in text(response)
    person = one(session, sa.select(Resident))
    assert (person.first_name, person.erased_at) == ("Jeanne", None)
    assert "resident.erased" not in actions(session)
