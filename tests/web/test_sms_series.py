"""A resident texts a recurring appointment: a series, its first trip asked at once, the rest weeks ahead."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from support.factories import RESIDENT_PHONE, post_text

from carpool.clock import PARIS
from carpool.models import AppointmentSeries, OutboundMessage, Request
from carpool.notify.gsm import segments
from carpool.services import series as series_service


def replies(db) -> list[str]:
    with db.session() as session:
        return list(
            session.scalars(
                sa.select(OutboundMessage.body)
                .where(OutboundMessage.to_phone == RESIDENT_PHONE)
                .order_by(OutboundMessage.id)
            )
        )


def test_every_tuesday_by_sms_makes_a_series_and_says_it(client, db, resident):
    post_text(client, "tous les mardis à 10h au kiné de Figeac", RESIDENT_PHONE)

    with db.session() as session:
        series = session.scalars(sa.select(AppointmentSeries)).one()
        assert (series.days, series.every_weeks, series.until, series.dropoff_commune_insee) == (
            (1,),
            1,
            None,
            "46102",
        )
    said = replies(db)[0]
    assert said.startswith("C'est noté : tous les mardis à 10h, vers Figeac.")
    assert segments(said) == 1


def test_the_series_by_sms_gets_its_tuesdays_as_requests(client, db, resident, clock):
    post_text(client, "tous les mardis à 10h au kiné de Figeac jusqu'au 15 décembre", RESIDENT_PHONE)

    with db.session() as session:
        series_service.materialise(session, clock)
        days = session.scalars(sa.select(Request.series_day).order_by(Request.series_day)).all()
    assert days == [date(2026, 11, 24), date(2026, 12, 1), date(2026, 12, 8), date(2026, 12, 15)]
    assert "jusqu'au 15/12" in replies(db)[0]


def test_a_single_tuesday_makes_no_series(client, db, resident):
    post_text(client, "mardi à 10h au kiné de Figeac", RESIDENT_PHONE)

    with db.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(AppointmentSeries)) == 0
        assert session.scalar(sa.select(sa.func.count()).select_from(Request)) == 1


def test_a_series_asked_over_two_texts_is_kept_while_the_time_is_asked(client, db, resident):
    post_text(client, "tous les jeudis au kiné de Figeac", RESIDENT_PHONE)
    post_text(client, "à 14h30", RESIDENT_PHONE)

    with db.session() as session:
        series = session.scalars(sa.select(AppointmentSeries)).one()
        first = session.scalars(sa.select(Request)).one()
        # Its days keep the first trip's window, however the time was read.
        assert (series.days, series.arrive_by) == ((3,), first.latest.astimezone(PARIS).time())
        assert first.series_id == series.id
