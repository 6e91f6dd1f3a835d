"""Every dashboard route, tried by a coordinator (here an admin: the widest rights) of another
association with the ids of this one's records: 403 or 404, nothing of theirs in the answer,
nothing changed. Plus: every route needs a coordinator log-in.

The routes are read from the app's URL map, so a new route is covered, or fails here until its
parameter is known.
"""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal

import pytest
import sqlalchemy as sa
from support.drivers_kit import log_in
from support.factories import add_coordinator, add_driver_account, add_proposal, add_resident

from carpool.db import point
from carpool.models import (
    AppointmentSeries,
    AuditEvent,
    ExpenseChoice,
    InboundMessage,
    LegParticipation,
    Match,
    MonthlyExpenses,
    NamedPlace,
    OutboundMessage,
    Request,
    Resident,
    Role,
    UserAccount,
    VoiceMessage,
)
from carpool.services import drivers, series

SECRET_NAMES = ("Marcel", "Vialaret", "Clinique des Tilleuls", "Gaston", "gaston@example.org", "06 39 97")


@pytest.fixture
def theirs(session, association, clock):
    """Records of ``association`` that the intruder must never reach."""
    resident = add_resident(session, association, first_name="Marcel")
    resident.last_name = "Vialaret"
    association.participation_enabled, association.participation_per_km = True, Decimal("0.20")
    account = add_driver_account(session, association, clock, email="gaston@example.org", first_name="Gaston")
    match = add_proposal(session, association, account, clock, resident=resident)
    their_driver = drivers.driver_of(session, account)
    expenses = MonthlyExpenses(
        association_id=association.id,
        driver_id=their_driver.id,
        month=date(2026, 10, 1),
        choice=ExpenseChoice.WAIVE,
        km=Decimal("57.8"),
        rate_per_km=Decimal("0.529"),
        amount=Decimal("30.58"),
        chosen_at=clock.now(),
    )
    place = NamedPlace(
        association_id=association.id,
        name="Clinique des Tilleuls",
        kind="clinique",
        commune_insee="46042",
        point=point(1.44, 44.45),
    )
    coordinator = add_coordinator(session, association, email="paulette@example.org")
    message = InboundMessage(
        message_sid="SMtheirs",
        association_id=association.id,
        resident_id=resident.id,
        from_phone=resident.phone,
        body="Marcel : rappelez-moi",
        needs_attention=True,
    )
    voice = VoiceMessage(
        association_id=association.id,
        call_sid="CA" + "3" * 32,
        recording_sid="RE" + "3" * 32,
        duration_s=12,
        resident_id=resident.id,
        from_phone=resident.phone,
    )
    session.add_all([place, message, expenses, voice])
    first = session.get_one(Request, match.request_id)
    plan = series.SeriesInput(weekdays=(1,), arrive_by=time(10, 0), first_day=first.latest.date())
    weekly = series.create(session, first, plan, actor="user:1")
    session.commit()
    ids = {
        "resident_id": resident.id,
        "driver_id": drivers.driver_of(session, account).id,
        "request_id": match.request_id,
        "match_id": match.id,
        "place_id": place.id,
        "user_id": coordinator.id,
        "message_id": message.id,
        "series_id": weekly.id,
        "participation_id": session.scalar(sa.select(LegParticipation.id)),
        "expenses_id": expenses.id,
        "voice_message_id": voice.id,
    }
    session.rollback()  # SQLite: reading the ids opened a transaction that would hold the write lock
    return ids


@pytest.fixture
def intruder_client(client, no_csrf, session, other_association):
    intruder = add_coordinator(session, other_association, email="intrus@example.org", role=Role.ADMIN)
    log_in(client, intruder)
    return client


def dashboard_rules(app):
    return sorted(
        (rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/coordination")),
        key=lambda rule: rule.rule,
    )


def snapshot(session) -> tuple:
    session.expire_all()
    rows = (
        session.execute(
            sa.select(Resident.first_name, Resident.last_name, Resident.phone, Resident.notes)
        ).all(),
        session.execute(sa.select(Request.status, Request.note)).all(),
        session.execute(sa.select(Match.status)).all(),
        session.execute(sa.select(NamedPlace.name, NamedPlace.archived_at)).all(),
        session.execute(sa.select(UserAccount.email, UserAccount.role, UserAccount.session_version)).all(),
        session.execute(
            sa.select(InboundMessage.handled_at, InboundMessage.callback_at, InboundMessage.needs_attention)
        ).all(),
        session.scalar(sa.select(sa.func.count()).select_from(OutboundMessage)),
        session.scalar(sa.select(sa.func.count()).select_from(Request)),
        session.execute(sa.select(AppointmentSeries.state)).all(),
        session.execute(sa.select(LegParticipation.paid_on, LegParticipation.method)).all(),
        session.execute(sa.select(MonthlyExpenses.settled_at)).all(),
        session.execute(sa.select(VoiceMessage.handled_at, VoiceMessage.callback_at)).all(),
    )
    session.rollback()  # SQLite: leave no transaction open while the app writes
    return rows


def test_no_route_reaches_another_associations_records(app, intruder_client, session, theirs):
    before = snapshot(session)
    tried = 0
    for rule in dashboard_rules(app):
        if not rule.arguments:
            continue
        unknown = set(rule.arguments) - set(theirs)
        assert not unknown, f"{rule.rule}: add an id for {unknown} to this test"
        url = rule.rule
        for name in rule.arguments:
            url = url.replace(f"<int:{name}>", str(theirs[name]))
        for method in sorted(rule.methods & {"GET", "POST"}):
            response = intruder_client.open(url, method=method, data={"mode": "book", "confirm": "1"})
            body = response.get_data(as_text=True)
            assert response.status_code in (403, 404), (method, url, response.status_code)
            assert not [name for name in SECRET_NAMES if name in body], (method, url)
            tried += 1
    assert tried >= 15
    assert snapshot(session) == before


def test_lists_and_exports_show_nothing_of_another_association(app, intruder_client, theirs):
    for rule in dashboard_rules(app):
        if rule.arguments or "GET" not in rule.methods:
            continue
        response = intruder_client.get(rule.rule + "?q=Marcel")
        assert response.status_code < 500, rule.rule
        if response.mimetype.startswith(("text/", "application/json")):
            body = response.get_data(as_text=True)
            assert not [name for name in SECRET_NAMES if name in body and "Marcel »" not in body], rule.rule


def test_every_route_needs_a_coordinator(app, client, session, association, clock, theirs):
    driver = session.scalars(sa.select(UserAccount).where(UserAccount.role == Role.DRIVER)).one()
    now = int(clock.now().timestamp())
    driver_cookie = {
        "user_id": driver.id,
        "session_version": driver.session_version,
        "login_at": now,
        "seen_at": now,
    }
    session.rollback()
    open_to_visitors = {"coord.login", "coord.second_factor", "coord.logout"}
    for rule in dashboard_rules(app):
        if rule.endpoint in open_to_visitors or "GET" not in rule.methods:
            continue
        url = rule.rule
        for name in rule.arguments:
            url = url.replace(f"<int:{name}>", str(theirs[name]))
        visitor = client.get(url)
        assert visitor.status_code == 302 and "/coordination/connexion" in visitor.headers["Location"], url
    with client.session_transaction() as cookie:
        cookie.update(driver_cookie)
    for rule in dashboard_rules(app):
        if rule.endpoint in open_to_visitors or "GET" not in rule.methods:
            continue
        url = rule.rule
        for name in rule.arguments:
            url = url.replace(f"<int:{name}>", str(theirs[name]))
        assert client.get(url).status_code == 403, url


def test_an_intruders_attempts_leave_no_audit_trail_in_the_other_association(
    intruder_client, session, association, theirs
):
    intruder_client.get(f"/coordination/habitants/{theirs['resident_id']}/export.json")
    exported = session.scalars(
        sa.select(AuditEvent).where(
            AuditEvent.association_id == association.id, AuditEvent.action.like("%exported")
        )
    ).all()
    assert exported == []


def test_huge_ids_answer_404_not_500(coord_client, theirs):
    assert coord_client.get(f"/coordination/demandes/{2**40}").status_code == 404
    assert coord_client.get(f"/coordination/conducteurs/{2**40}").status_code == 404
