"""Two live associations on one instance, each with drivers, residents, trips, places, texts and a
series, and one person known to both (the same mobile number): every page, export, API route and
job of one shows and touches only its own records.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import date, time, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from support.drivers_kit import log_in
from support.factories import (
    CAHORS,
    RESIDENT_PHONE,
    WHERE,
    add_association,
    add_coordinator,
    add_driver_account,
    add_offer,
    add_proposal,
    add_resident,
)
from support.jobkit import tick

from carpool.db import point
from carpool.jobs import JOBS
from carpool.models import (
    AppointmentSeries,
    Driver,
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
    VoiceMessage,
)
from carpool.services import accounts, drivers, series


@dataclass
class Side:
    """One association's records, and the words that must never show on the other side."""

    association_id: int
    admin: SimpleNamespace  # id and session_version, read once: no ORM object to refresh later
    ids: dict[str, int]
    secrets: tuple[str, ...]
    token: str


def build(session, clock, association, *, resident_name, driver_name, email, place, text) -> Side:
    resident = add_resident(session, association, RESIDENT_PHONE, first_name=resident_name[0])
    resident.last_name = resident_name[1]
    other_resident = add_resident(session, association, first_name=resident_name[0] + "-Bis")
    association.participation_enabled, association.participation_per_km = True, Decimal("0.20")
    account = add_driver_account(session, association, clock, email=email, first_name=driver_name)
    driver_row = drivers.driver_of(session, account)
    offer = add_offer(session, driver_row, day=date(2026, 12, 1))
    session.commit()
    match = add_proposal(session, association, account, clock, offer=offer, resident=resident)
    add_proposal(session, association, account, clock, resident=other_resident)
    named = NamedPlace(
        association_id=association.id,
        name=place,
        kind="clinique",
        commune_insee=CAHORS,
        point=point(*WHERE[CAHORS]),
    )
    message = InboundMessage(
        message_sid=f"SM{association.id:032d}",
        association_id=association.id,
        resident_id=resident.id,
        from_phone=resident.phone,
        body=text,
        needs_attention=True,
        created_at=clock.now() - timedelta(days=30),
    )
    expenses = MonthlyExpenses(
        association_id=association.id,
        driver_id=driver_row.id,
        month=date(2026, 10, 1),
        choice=ExpenseChoice.WAIVE,
        km=Decimal("57.8"),
        rate_per_km=Decimal("0.529"),
        amount=Decimal("30.58"),
        chosen_at=clock.now(),
    )
    voice = VoiceMessage(
        association_id=association.id,
        call_sid=f"CA{association.id:032d}",
        recording_sid=f"RE{association.id:032d}",
        duration_s=12,
        resident_id=resident.id,
        from_phone=resident.phone,
    )
    session.add_all([named, message, expenses, voice])
    first = session.get_one(Request, match.request_id)
    plan = series.SeriesInput(weekdays=(1, 3), arrive_by=time(10, 0), first_day=first.latest.date())
    weekly = series.create(session, first, plan, actor="user:1")
    admin = add_coordinator(session, association, email=f"admin-{email}", role=Role.ADMIN)
    _token, secret = accounts.create_api_token(session, account, "tests", clock)
    session.commit()
    ids = {
        "resident_id": resident.id,
        "driver_id": driver_row.id,
        "request_id": match.request_id,
        "match_id": match.id,
        "offer_id": offer.id,
        "place_id": named.id,
        "user_id": admin.id,
        "message_id": message.id,
        "series_id": weekly.id,
        "participation_id": session.scalars(
            sa.select(LegParticipation.id).where(LegParticipation.match_id == match.id)
        ).one(),
        "expenses_id": expenses.id,
        "voice_message_id": voice.id,
    }
    secrets = (*resident_name, driver_name, email, place, text)
    login = SimpleNamespace(id=admin.id, session_version=admin.session_version)
    return Side(association.id, login, ids, secrets, secret)


@pytest.fixture
def sides(session, association, clock, cheap_passwords) -> tuple[Side, Side]:
    """The Lot (``association``) and Val-d'Oise, each live; Jeanne's number is known to both."""
    town = add_association(session, "Val-d'Oise Solidarité", sms_number="06 39 98 00 95", phone=None)
    session.commit()
    lot = build(
        session,
        clock,
        association,
        resident_name=("Marcel", "Vialaret"),
        driver_name="Gaston",
        email="gaston@example.org",
        place="Clinique des Tilleuls",
        text="Marcel : rappelez-moi",
    )
    val_doise = build(
        session,
        clock,
        town,
        resident_name=("Odile", "Ferrandon"),
        driver_name="Timothée",
        email="timothee@example.org",
        place="Polyclinique du Parc Ouest",
        text="Odile : je serai chez ma fille",
    )
    session.rollback()  # SQLite: reading the ids opened a transaction that would hold the write lock
    return lot, val_doise


def both_ways(sides: tuple[Side, Side]) -> list[tuple[Side, Side]]:
    lot, val_doise = sides
    return [(lot, val_doise), (val_doise, lot)]


def readable(response) -> str:
    """A page, a CSV or JSON as text; a spreadsheet (a zip of XML files) as its files' text."""
    data = response.get_data()
    if data.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "".join(archive.read(name).decode("utf-8", "replace") for name in archive.namelist())
    return data.decode("utf-8", "replace")


def leaked(body: str, other: Side, searched: str = "") -> list[str]:
    """The other side's words in ``body``; a word searched for is echoed in the search field."""
    return [secret for secret in other.secrets if secret in body and secret != searched]


def dashboard_pages(app) -> list[str]:
    return sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/coordination") and not rule.arguments and "GET" in rule.methods
    )


def test_every_dashboard_list_and_export_shows_its_own_association_only(app, sides):
    for mine, theirs in both_ways(sides):
        client = app.test_client()
        log_in(client, mine.admin)
        shown_mine = set()
        for url in dashboard_pages(app):
            for searched in ("", mine.secrets[0], theirs.secrets[0]):
                response = client.get(url, query_string={"q": searched} if searched else None)
                assert response.status_code < 500, url
                body = readable(response)
                assert not leaked(body, theirs, searched), (url, searched, leaked(body, theirs, searched))
                shown_mine.update(secret for secret in mine.secrets if secret in body)
        # Live, not empty: the association's own names do show on its pages.
        assert {mine.secrets[0], mine.secrets[2], mine.secrets[4]} <= shown_mine


def snapshot(session) -> tuple:
    """What a refused request must leave as it was, in both associations."""
    session.expire_all()
    rows = tuple(
        session.execute(sa.select(*columns).order_by(columns[0])).all()
        for columns in (
            (Resident.id, Resident.first_name, Resident.last_name, Resident.notes),
            (Request.id, Request.status, Request.note),
            (Match.id, Match.status),
            (NamedPlace.id, NamedPlace.name, NamedPlace.archived_at),
            (InboundMessage.id, InboundMessage.handled_at, InboundMessage.needs_attention),
            (AppointmentSeries.id, AppointmentSeries.state),
            (OutboundMessage.id,),
        )
    )
    session.rollback()
    return rows


def test_no_dashboard_route_opens_or_changes_the_other_associations_records(app, session, sides, no_csrf):
    before = snapshot(session)
    for mine, theirs in both_ways(sides):
        client = app.test_client()
        log_in(client, mine.admin)
        tried = 0
        for rule in app.url_map.iter_rules():
            if not rule.rule.startswith("/coordination") or not rule.arguments:
                continue
            assert set(rule.arguments) <= set(theirs.ids), rule.rule
            url = rule.rule
            for name in rule.arguments:
                url = url.replace(f"<int:{name}>", str(theirs.ids[name]))
            for method in sorted(rule.methods & {"GET", "POST"}):
                response = client.open(url, method=method, data={"mode": "book", "confirm": "1"})
                assert response.status_code in (403, 404), (method, url, response.status_code)
                assert not leaked(readable(response), theirs), (method, url)
                tried += 1
        assert tried >= 15
    assert snapshot(session) == before


def test_the_api_lists_and_opens_only_the_drivers_own_association(app, sides):
    for mine, theirs in both_ways(sides):
        client = app.test_client()
        headers = {"Authorization": f"Bearer {mine.token}"}
        for url in ("/api/v1/me", "/api/v1/offers", "/api/v1/matches", "/api/v1/places", "/api/v1/mileage"):
            response = client.get(url, headers=headers)
            assert response.status_code == 200, url
            assert not leaked(readable(response), theirs), url
        assert client.get(f"/api/v1/offers/{theirs.ids['offer_id']}", headers=headers).status_code == 404
        for action in ("accept", "decline"):
            answer = client.post(f"/api/v1/matches/{theirs.ids['match_id']}/{action}", headers=headers)
            assert answer.status_code == 404, action
        cancel = client.post(f"/api/v1/offers/{theirs.ids['offer_id']}/cancel", headers=headers)
        assert cancel.status_code == 404


def test_every_job_keeps_each_record_and_text_in_its_own_association(db, session, sides, clock):
    lot, val_doise = sides
    for days in (0, 1, 3, 8):  # proposals expire, series run, reminders and retention come due
        clock.advance(days=days)
        tick(db, clock, *JOBS)

    session.expire_all()
    owner_of_resident = dict(session.execute(sa.select(Resident.id, Resident.association_id)).all())
    owner_of_driver_phone = dict(session.execute(sa.select(Driver.phone, Driver.association_id)).all())
    texts = session.scalars(sa.select(OutboundMessage)).all()
    assert {t.association_id for t in texts} == {lot.association_id, val_doise.association_id}
    for sent in texts:
        if sent.resident_id is not None:
            assert sent.association_id == owner_of_resident[sent.resident_id], sent.idempotency_key
        elif sent.to_phone in owner_of_driver_phone:
            assert sent.association_id == owner_of_driver_phone[sent.to_phone], sent.idempotency_key
    # The person both associations know heard from each about its own trips only.
    to_jeanne = [t for t in texts if t.to_phone == RESIDENT_PHONE]
    assert {t.association_id for t in to_jeanne} == {lot.association_id, val_doise.association_id}
    for sent in to_jeanne:
        other = val_doise if sent.association_id == lot.association_id else lot
        assert not leaked(sent.body or "", other), sent.body
    requests = session.execute(
        sa.select(Request.association_id, Resident.association_id, AppointmentSeries.association_id)
        .join(Resident, Resident.id == Request.resident_id)
        .outerjoin(AppointmentSeries, AppointmentSeries.id == Request.series_id)
    ).all()
    assert len(requests) > 4  # the series added occurrences
    assert all(row[0] == row[1] and row[2] in (None, row[0]) for row in requests)
    drivers_of_matches = session.execute(
        sa.select(Request.association_id, Driver.association_id)
        .join(Match, Match.request_id == Request.id)
        .join(Driver, Driver.id == Match.driver_id)
    ).all()
    assert all(request_side == driver_side for request_side, driver_side in drivers_of_matches)
    session.rollback()


def test_retention_follows_each_associations_own_duration(db, session, sides, clock):
    lot, val_doise = sides
    session.execute(
        sa.text("UPDATE association SET sms_retention_days = :days WHERE id = :id"),
        [{"days": 7, "id": lot.association_id}, {"days": 365, "id": val_doise.association_id}],
    )
    session.commit()

    tick(db, clock, "retention")

    bodies = dict(session.execute(sa.select(InboundMessage.association_id, InboundMessage.body)).all())
    assert bodies[lot.association_id] in (None, "")  # 30 days old, kept 7: erased
    assert bodies[val_doise.association_id] == "Odile : je serai chez ma fille"  # kept a year
    session.rollback()
