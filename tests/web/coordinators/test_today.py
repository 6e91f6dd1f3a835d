"""The week at a glance: each trip with its stage, problems first, failed SMS without numbers."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from support.coordkit import page_queries
from support.drivers_kit import log_in, text
from support.factories import add_coordinator, add_driver_account, add_proposal, add_resident

from carpool.models import Driver, Match, MatchStatus, OutboundMessage, OutboundStatus
from carpool.notify.outbox import enqueue
from carpool.services import board, drivers


@pytest.fixture
def driver_account(session, association, clock):
    return add_driver_account(session, association, clock)


def trip(session, association, account, clock, *, days=1, status=MatchStatus.CONFIRMED, **fields):
    match = add_proposal(session, association, account, clock, pickup_at=clock.now() + timedelta(days=days))
    session.execute(sa.update(Match).where(Match.id == match.id).values(status=status, **fields))
    session.commit()
    return match


def week(session, association, clock, with_purpose=True):
    return board.week(session, association.id, clock.now(), with_purpose=with_purpose)


def test_each_trip_shows_its_stage_and_a_sent_reminder_counts(session, association, driver_account, clock):
    confirmed = trip(session, association, driver_account, clock)
    reminded = trip(session, association, driver_account, clock, days=2)
    row = enqueue(session, f"match:{reminded.id}:reminder:eve", "+33639970001", "Rappel")
    row.status = OutboundStatus.SENT
    session.commit()
    stages = {
        t.match_id: t.stage_label for trips in week(session, association, clock).days.values() for t in trips
    }
    assert stages == {confirmed.id: "confirmé", reminded.id: "rappel envoyé"}


def test_an_unanswered_proposal_and_a_cancellation_come_first(session, association, driver_account, clock):
    slow = trip(
        session, association, driver_account, clock, status=MatchStatus.PROPOSED,
        status_changed_at=clock.now() - timedelta(hours=6),
    )  # fmt: skip
    cancelled = trip(
        session, association, driver_account, clock, days=3, status=MatchStatus.CANCELLED,
        cancelled_by="driver:1", cancel_reason="panne de voiture",
    )  # fmt: skip
    trip(session, association, driver_account, clock, days=4)  # a confirmed trip is no problem
    problems = {t.match_id: t.problem for t in week(session, association, clock).problems}
    assert problems == {
        slow.id: "le conducteur n'a pas répondu depuis 6 h",
        cancelled.id: "annulé par le conducteur : panne de voiture",
    }


def test_a_failed_sms_is_listed_with_the_persons_name_not_their_number(
    coord_client, session, association, clock
):
    resident = add_resident(session, association, first_name="Odette")
    row = enqueue(
        session, "x:1", resident.phone, "Bonjour", association_id=association.id, resident_id=resident.id
    )
    row.status, row.error_message = OutboundStatus.FAILED, "numéro injoignable"
    session.commit()
    page = text(coord_client.get("/coordination/"))
    assert "SMS non remis" in page and "Odette Delpech" in page and "numéro injoignable" in page
    assert resident.phone not in page and "06 39 97" not in page


def test_a_failed_sms_to_a_driver_is_never_shown_as_a_residents_with_the_same_number(
    coord_client, session, association, driver_account
):
    driver = drivers.driver_of(session, driver_account)
    impostor = add_resident(session, association, first_name="Faux")
    impostor.phone = driver.phone  # registered before such numbers were refused
    row = enqueue(session, "account:1:reset", driver.phone, "Lien", association_id=association.id)
    row.status, row.error_message = OutboundStatus.FAILED, "numéro injoignable"
    session.commit()

    page = text(coord_client.get("/coordination/"))

    assert "Sophie (conducteur)" in page
    assert "Faux Delpech" not in page and f"/coordination/habitants/{impostor.id}" not in page


def test_the_purpose_column_is_only_for_those_who_may_see_it(
    client, no_csrf, session, association, driver_account, clock
):
    trip(session, association, driver_account, clock)
    log_in(client, add_coordinator(session, association, email="b@example.org", sees_health_data=False))
    page = text(client.get("/coordination/"))
    assert "Jeanne" in page and "Motif" not in page and "santé" not in page


def test_another_associations_trips_are_not_on_the_board(
    coord_client, session, association, other_association, clock
):
    stranger = add_driver_account(session, other_association, clock, email="autre@example.org")
    resident = add_resident(session, other_association, first_name="Marcel")
    add_proposal(session, other_association, stranger, clock, resident=resident)
    page = text(coord_client.get("/coordination/"))
    assert "Marcel" not in page
    assert session.scalar(sa.select(sa.func.count()).select_from(OutboundMessage)) == 0


def test_either_reminder_counts_once_it_has_left_and_only_for_a_confirmed_trip(
    session, association, driver_account, clock
):
    delivered = trip(session, association, driver_account, clock)
    failed = trip(session, association, driver_account, clock, days=2)
    proposed = trip(session, association, driver_account, clock, days=3, status=MatchStatus.PROPOSED)
    for match, status in (
        (delivered, OutboundStatus.DELIVERED),
        (failed, OutboundStatus.FAILED),
        (proposed, OutboundStatus.SENT),
    ):
        enqueue(session, f"match:{match.id}:reminder:1h", "+33639970001", "Rappel").status = status
    session.commit()
    stages = {t.match_id: t.stage for trips in week(session, association, clock).days.values() for t in trips}
    assert stages == {delivered.id: "reminded", failed.id: "confirmed", proposed.id: "proposed"}


def test_a_passengers_needs_and_names_are_shown_in_a_fixed_order(session, association, driver_account, clock):
    resident = add_resident(session, association, first_name="Odette", wheelchair=True, walker=True)
    resident.needs_help_boarding = True
    match = add_proposal(session, association, driver_account, clock, resident=resident)
    session.commit()
    (shown,) = [t for trips in week(session, association, clock).days.values() for t in trips]
    assert shown.match_id == match.id
    assert shown.needs == ("aide pour monter en voiture", "déambulateur", "fauteuil roulant")
    assert (shown.passenger, shown.passenger_id, shown.request_id) == (
        "Odette Delpech",
        resident.id,
        match.request_id,
    )
    assert (shown.origin, shown.destination, shown.purpose) == ("Cajarc", "Cahors", "santé")
    assert shown.driver.startswith(session.get(Driver, match.driver_id).first_name)


def test_the_board_runs_a_fixed_number_of_queries(
    coord_client, db, session, association, driver_account, clock
):
    trip(session, association, driver_account, clock)
    few = page_queries(db, coord_client, "/coordination/")
    for days in range(1, 6):
        trip(session, association, driver_account, clock, days=days)
    assert page_queries(db, coord_client, "/coordination/") == few


def test_names_in_the_trip_rows_are_escaped(coord_client, session, association, driver_account, clock):
    resident = add_resident(session, association, first_name='<b>Zoé</b> & "Léa"')
    add_proposal(session, association, driver_account, clock, resident=resident)
    session.commit()
    page = coord_client.get("/coordination/").get_data(as_text=True)
    assert "<td>&lt;b&gt;Zoé&lt;/b&gt; &amp; &#34;Léa&#34; Delpech</td>" in page
    assert "<b>Zoé</b>" not in page
    assert '<span class="stage stage-proposed">proposé au conducteur</span>' in page


def test_a_reached_sms_budget_is_shown_first_with_a_masked_number(
    app, coord_client, session, association, clock
):
    app.config["SMS_REPLY_BUDGET_PER_NUMBER"] = 1
    resident = add_resident(session, association, first_name="Odette")
    session.commit()
    for sid in ("SMB1", "SMB2"):
        form = {"MessageSid": sid, "From": resident.phone, "To": "+33639980000", "Body": "blablabla"}
        coord_client.post("/sms/inbound", data=form)

    page = text(coord_client.get("/coordination/"))

    assert "Limite de SMS atteinte" in page and "jusqu'à 11 h 00" in page
    assert resident.phone not in page and f"•• •• •• {resident.phone[-2:]}" in page
