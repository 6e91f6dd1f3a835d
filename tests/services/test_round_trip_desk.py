"""Round trips in the coordinators' services: half-covered trips, both legs of a request, the
way back given up, and round trips counted in the figures (both backends)."""

from __future__ import annotations

import io
from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from support.factories import PARIS, TUESDAY, add_driver, add_request, add_resident

from carpool.errors import InvalidInput
from carpool.models import AuditEvent, Leg, Match, MatchStatus, RequestStatus
from carpool.services import board, desk, figures

APPOINTMENT = datetime.combine(TUESDAY.date(), time(10, 0), tzinfo=PARIS)


def round_trip(
    session, association, *, back: MatchStatus | None = None, one_way=False, out=MatchStatus.CONFIRMED
):
    """A Cajarc → Cahors appointment with a way back at 11:30; its legs in the given states."""
    request = add_request(
        session,
        association,
        resident=add_resident(session, association),
        latest=APPOINTMENT,
        return_at=APPOINTMENT + timedelta(minutes=90),
        return_latest=APPOINTMENT + timedelta(minutes=180),
        one_way=one_way,
        status=RequestStatus.DONE if out is MatchStatus.COMPLETED else RequestStatus.MATCHED,
    )
    driver = add_driver(session, association)
    legs = [(Leg.OUT, out, APPOINTMENT - timedelta(minutes=50))]
    if back is not None:
        legs.append((Leg.BACK, back, request.return_at))
    for leg, status, pickup in legs:
        session.add(
            Match(
                request_id=request.id,
                driver_id=driver.id,
                leg=leg,
                pickup_at=pickup,
                dropoff_at=pickup + timedelta(minutes=40),
                status=status,
                status_changed_at=APPOINTMENT - timedelta(days=3),
            )
        )
    session.flush()
    return request


def test_a_round_trip_without_a_way_back_is_half_covered(session, association, clock):
    half = round_trip(session, association)
    round_trip(session, association, back=MatchStatus.PROPOSED)
    round_trip(session, association, one_way=True)

    found = desk.unserved(session, association.id, clock.now(), page=1)

    assert [u.request.id for u in found.half_covered] == [half.id]


def test_a_way_back_that_ended_leaves_the_trip_half_covered_again(session, association, clock):
    request = round_trip(session, association, back=MatchStatus.DECLINED)

    found = desk.unserved(session, association.id, clock.now(), page=1)

    assert [u.request.id for u in found.half_covered] == [request.id]
    assert desk.leg_is_open(session, request, Leg.BACK)


def test_the_board_flags_the_outward_trip_whose_way_back_is_missing(session, association):
    round_trip(session, association)
    round_trip(session, association, back=MatchStatus.CONFIRMED)
    monday = APPOINTMENT - timedelta(days=1)

    week = board.week(session, association.id, monday, days=3)

    assert [(t.leg, t.way_back_missing) for t in week.half_covered] == [(Leg.OUT, True)]
    legs = sorted(t.leg_label for t in week.days[TUESDAY.date()])
    assert legs == ["aller", "aller", "retour"]


def test_both_legs_of_a_request_with_their_drivers(session, association):
    request = round_trip(session, association, back=MatchStatus.ACCEPTED)

    out, back = desk.legs_of(session, request)

    assert (out.label, out.state, out.waiting) == ("aller", "confirmé", False)
    assert (back.label, back.waiting) == ("retour", False)
    assert back.earliest == request.return_at and back.driver is not None


def test_one_way_is_recorded_with_its_reason(session, association):
    request = round_trip(session, association)

    desk.accept_one_way(session, request, " sa fille la ramène ", actor="user:1")

    assert request.one_way is True
    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "request.one_way")).one()
    assert event.details["reason"] == "sa fille la ramène"
    assert len(desk.legs_of(session, request)) == 1


@pytest.mark.parametrize(
    ("back", "reason", "message"),
    [
        (None, "", "Indiquez pourquoi"),
        (MatchStatus.CONFIRMED, "sa fille", "Le retour a déjà un conducteur"),
    ],
)
def test_one_way_is_refused_without_a_reason_or_over_a_driven_way_back(
    session, association, back, reason, message
):
    request = round_trip(session, association, back=back)

    with pytest.raises(InvalidInput) as refused:
        desk.accept_one_way(session, request, reason, actor="user:1")

    assert message in " ".join(refused.value.errors.values())
    assert request.one_way is False


def test_figures_count_round_trips_served_both_ways_and_half_served(session, association):
    round_trip(session, association, out=MatchStatus.COMPLETED, back=MatchStatus.COMPLETED)
    round_trip(session, association, out=MatchStatus.COMPLETED, back=MatchStatus.CANCELLED)
    round_trip(session, association, out=MatchStatus.COMPLETED)
    round_trip(session, association, out=MatchStatus.COMPLETED, one_way=True)

    report = figures.report(session, association.id, date(2026, 12, 1), date(2026, 12, 1))

    assert (report.round_trips.served, report.round_trips.half_served) == (1, 2)


def test_the_exports_carry_the_round_trips_on_the_total_row(session, association):
    round_trip(session, association, out=MatchStatus.COMPLETED, back=MatchStatus.COMPLETED)
    round_trip(session, association, out=MatchStatus.COMPLETED)
    round_trip(session, association, out=MatchStatus.COMPLETED)
    report = figures.report(session, association.id, date(2026, 11, 1), date(2026, 12, 1))

    csv_rows = [
        line.split(";") for line in figures.to_csv(report, with_purpose=False).lstrip("\ufeff").splitlines()
    ]
    book = load_workbook(io.BytesIO(figures.to_xlsx(report, with_purpose=False)))
    sheet_rows = list(book["Par mois"].iter_rows(values_only=True))

    assert csv_rows[0][-2:] == ["allers_retours_assures", "allers_retours_aller_seul"]
    assert [row[0] for row in csv_rows[1:]] == ["2026-11", "2026-12", "total"]
    assert [row[-2:] for row in csv_rows[1:]] == [["", ""], ["", ""], ["1", "2"]]
    assert sheet_rows[0][-2:] == ("allers_retours_assures", "allers_retours_aller_seul")
    assert [row[-2:] for row in sheet_rows[1:]] == [(None, None), (None, None), (1, 2)]
    assert "allers_retours_assures" not in next(book["Par commune"].iter_rows(values_only=True))
