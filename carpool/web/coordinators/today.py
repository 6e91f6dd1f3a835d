"""Today and the coming days: every trip with its stage, problems first."""

from __future__ import annotations

from datetime import timedelta

from flask import render_template
from markupsafe import Markup, escape

from carpool.extensions import db_session
from carpool.services import board, sms_inbound
from carpool.web.coordinators import bp
from carpool.web.coordinators.common import association_id, coordinator_required, me, now
from carpool.web.drivers import heure_filter


@bp.get("/")
@coordinator_required
def today() -> str:
    week = board.week(db_session(), association_id(), now(), with_purpose=me().may_see_purpose)
    alerts = sms_inbound.budget_alerts(db_session(), association_id(), now() - timedelta(days=1))
    return render_template(
        "coordinators/today.html", board=week, now=now(), trip_rows=trip_rows, budget_alerts=alerts
    )


def trip_rows(trips: list[board.Trip], show_purpose: bool) -> Markup:
    """The rows of a day's table, built here: a département's week has hundreds of trips, and
    rendering them through the template was most of the page's time. Every text is escaped."""
    rows = []
    for trip in trips:
        flagged = ' class="problem"' if trip.problem else ""
        purpose = f"<td>{escape(trip.purpose)}</td>" if show_purpose else ""
        problem = ' <span class="visually-hidden">(problème)</span>' if trip.problem else ""
        rows.append(
            f"<tr{flagged}><td>{escape(heure_filter(trip.pickup_at))}</td>"
            f"<td>{escape(trip.passenger)}</td>"
            f"<td>{escape(', '.join(trip.needs) or '—')}</td>"
            f"<td>{escape(trip.origin)} → {escape(trip.destination)}</td>{purpose}"
            f"<td>{escape(trip.driver)}</td>"
            f'<td><span class="stage stage-{escape(trip.stage)}">{escape(trip.stage_label)}</span>'
            f"{problem}</td></tr>"
        )
    return Markup("\n".join(rows))  # noqa: S704 - every value above went through escape()
