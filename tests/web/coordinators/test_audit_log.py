"""The journal: newest first, 50 a page, filtered, names not ids, phone numbers masked, CSV audited."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from support.drivers_kit import text
from support.factories import add_driver, add_driver_account, add_resident

from carpool.models import AuditEvent
from carpool.services import audit_view

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # the clock fixture


def event(session, association, action="match.proposed", *, actor="system", at=None, **details) -> AuditEvent:
    record = AuditEvent(
        association_id=association.id,
        actor=actor,
        action=action,
        subject_type="Match",
        subject_id=7,
        details=details,
        at=at or NOW,
    )
    session.add(record)
    session.flush()
    return record


def journal(client, **query) -> str:
    response = client.get("/coordination/journal", query_string=query)
    assert response.status_code == 200
    return text(response)


def numbers(page: str) -> list[int]:
    """The ``n`` of the "step n" details, in the order shown."""
    return [int(n) for n in re.findall(r"step : (\d+)", re.sub(r"<[^>]+>", "", page))]


@pytest.fixture
def hundred_and_twenty(session, association):
    for n in range(120):
        event(session, association, at=NOW - timedelta(minutes=120 - n), step=n)
    session.commit()


def test_the_newest_events_come_first(coord_client, hundred_and_twenty):
    shown = numbers(journal(coord_client))
    assert shown == list(range(119, 69, -1))


def test_pages_of_50_go_back_in_time_without_gaps_or_repeats(coord_client, hundred_and_twenty):
    seen, query = [], {}
    while True:
        response = coord_client.get("/coordination/journal", query_string=query)
        seen += numbers(text(response))
        older = re.search(r'href="[^"]*avant=(\d+)[^"]*" rel="next"', response.get_data(as_text=True))
        if older is None:
            break
        query = {"avant": older.group(1)}
    assert seen == list(range(119, -1, -1))


def test_events_at_the_same_instant_are_not_lost_between_pages(session, association):
    for n in range(60):
        event(session, association, step=n)  # one timestamp for all: the id breaks the tie
    session.commit()
    first = audit_view.page(session, association.id, audit_view.Filters())
    second = audit_view.page(session, association.id, audit_view.Filters(), before=first.next_cursor)
    ids = [entry.id for entry in first.entries + second.entries]
    assert len(ids) == len(set(ids)) == 60 and second.next_cursor is None


def test_the_bookings_filter_shows_only_match_events(coord_client, session, association):
    event(session, association, "match.accepted", step=1)
    event(session, association, "account.login", step=2)
    event(session, association, "resident.anonymised", step=3)
    session.commit()
    assert numbers(journal(coord_client, quoi="match")) == [1]


def test_the_exports_filter_finds_every_kind_of_export(coord_client, session, association):
    event(session, association, "audit.exported", step=1)
    event(session, association, "mileage.exported", step=2)
    event(session, association, "match.proposed", step=3)
    session.commit()
    assert sorted(numbers(journal(coord_client, quoi="export"))) == [1, 2]


def test_the_actor_filter_keeps_one_kind_of_actor(coord_client, session, association):
    event(session, association, actor="resident:4", step=1)
    event(session, association, actor="system", step=2)
    event(session, association, actor="user:3", step=3)
    session.commit()
    assert numbers(journal(coord_client, qui="resident")) == [1]
    assert numbers(journal(coord_client, qui="system")) == [2]


def test_the_date_range_is_in_paris_days_and_inclusive(coord_client, session, association):
    event(session, association, at=datetime(2026, 11, 19, 22, 59, tzinfo=UTC), step=1)  # 19th 23:59 in Paris
    event(session, association, at=datetime(2026, 11, 19, 23, 0, tzinfo=UTC), step=2)  # 20th 00:00 in Paris
    event(session, association, at=datetime(2026, 11, 21, 22, 59, tzinfo=UTC), step=3)  # 21st 23:59
    event(session, association, at=datetime(2026, 11, 21, 23, 0, tzinfo=UTC), step=4)  # 22nd 00:00
    session.commit()
    assert numbers(journal(coord_client, du="2026-11-20", au="2026-11-21")) == [3, 2]


def test_a_wrong_date_is_explained_not_a_crash(coord_client, session, association):
    event(session, association, step=1)
    session.commit()
    page = journal(coord_client, du="hier")
    assert "La date de début n'est pas une date" in page and numbers(page) == [1]


def test_another_associations_events_never_show(coord_client, session, association, other_association):
    event(session, association, step=1)
    event(session, other_association, step=2)
    session.commit()
    assert numbers(journal(coord_client)) == [1]
    body = coord_client.get("/coordination/journal.csv").get_data(as_text=True)
    assert "step : 1" in body and "step : 2" not in body


def test_phone_numbers_never_show_in_clear(coord_client, session, association):
    event(
        session, association, "sms.unknown_number", to_phone="+33612345678", why="rappeler le 06 12 34 56 79"
    )
    session.commit()
    page = journal(coord_client)
    assert "+33 6 •• •• •• 78" in page and "+33 6 •• •• •• 79" in page
    assert not re.search(r"\d{2}[ .]?\d{2}[ .]?\d{2}[ .]?\d{2}", page.replace("2026", ""))


def test_actors_are_shown_by_name(coord_client, session, association, clock, coordinator):
    driver = add_driver(session, association)
    resident = add_resident(session, association, first_name="Odette")
    account = add_driver_account(session, association, clock, email="marc@example.org", first_name="Marc")
    event(session, association, actor=f"driver:{driver.id}")
    event(session, association, actor=f"resident:{resident.id}")
    event(session, association, actor=f"user:{coordinator.id}")
    event(session, association, actor=f"user:{account.id}")
    session.commit()
    page = journal(coord_client)
    assert "Sophie Delmas (conducteur)" in page
    assert "Odette Delpech (habitant)" in page
    assert "claire@example.org (coordination)" in page
    assert "Marc Delmas (conducteur)" in page


def test_people_of_another_association_stay_anonymous(coord_client, session, association, other_association):
    stranger = add_resident(session, other_association, first_name="Gisèle")
    event(session, association, actor=f"resident:{stranger.id}")
    session.commit()
    page = journal(coord_client)
    assert "Gisèle" not in page and f"habitant n° {stranger.id}" in page


def test_names_take_one_query_per_kind_of_actor_whatever_the_page(session, association, db):
    for n in range(30):
        driver = add_driver(session, association)
        resident = add_resident(session, association)
        event(session, association, actor=f"driver:{driver.id}", step=n)
        event(session, association, actor=f"resident:{resident.id}", step=n)
    session.commit()
    statements: list[str] = []
    listen = lambda *args: statements.append(args[2])  # noqa: E731 (conn, cursor, statement, ...)
    sa.event.listen(db.engine, "before_cursor_execute", listen)
    try:
        page = audit_view.page(session, association.id, audit_view.Filters())
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listen)
        session.commit()
    assert len(page.entries) == 50
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 3


def test_actions_have_french_labels(coord_client, session, association):
    event(session, association, "match.proposed")
    event(session, association, "driver.vetted")
    event(session, association, "something.new")
    session.commit()
    page = journal(coord_client)
    assert "Passager proposé à un conducteur" in page and "Conducteur validé" in page
    assert "something.new" in page


def test_details_are_escaped(coord_client, session, association):
    event(session, association, reason="<script>alert('x')</script>")
    session.commit()
    body = coord_client.get("/coordination/journal").get_data(as_text=True)
    assert "<script>alert" not in body and "&lt;script&gt;alert" in body


def test_the_csv_export_is_itself_audited(coord_client, session, association, coordinator):
    event(session, association, "match.accepted", step=1)
    session.commit()
    response = coord_client.get("/coordination/journal.csv", query_string={"quoi": "match"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'filename="journal-2026-11-23.csv"' in response.headers["Content-Disposition"]
    exported = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "audit.exported")).one()
    session.commit()
    assert exported.actor == f"user:{coordinator.id}" and exported.association_id == association.id
    assert exported.details == {"rows": 1, "quoi": "match"}


def test_the_csv_is_formula_safe_and_masks_phones(coord_client, session, association):
    event(session, association, "sms.escalated", why='=HYPERLINK("http://x")', phone="0612345678")
    session.commit()
    body = coord_client.get("/coordination/journal.csv").get_data(as_text=True).lstrip("\ufeff")
    header, row = list(csv.reader(io.StringIO(body), delimiter=";"))
    assert header[:3] == ["date", "qui", "action"]
    assert row[2] == "SMS transmis à la coordination"
    assert "0612345678" not in body and "+33 6 •• •• •• 78" in row[5]
    assert all(not cell.startswith(("=", "+", "-", "@")) for cell in row)


def test_a_formula_at_the_start_of_a_cell_is_neutralised(session, association):
    event(session, association, actor="=cmd|' /C calc'!A0")
    session.commit()
    body, rows = audit_view.to_csv(audit_view.entries(session, association.id, audit_view.Filters()))
    session.commit()
    assert rows == 1 and ";'=cmd" in body


def test_drivers_cannot_read_the_journal(client, session, association, clock):
    from support.drivers_kit import log_in

    log_in(client, add_driver_account(session, association, clock))
    assert client.get("/coordination/journal").status_code == 403
    assert client.get("/coordination/journal.csv").status_code == 403
