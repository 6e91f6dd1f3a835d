"""Today and the coming days: texts waiting for a person, then every trip with its stage,
problems first."""

from __future__ import annotations

from datetime import timedelta

from flask import render_template
from markupsafe import Markup, escape
from werkzeug.wrappers import Response as BaseResponse

from carpool.errors import InvalidInput
from carpool.extensions import db_session
from carpool.models import InboundMessage
from carpool.services import board, desk, long_trips, sms_inbound, voice_messages
from carpool.web.coordinators import bp
from carpool.web.coordinators.common import (
    association_id,
    clock,
    coordinator_required,
    me,
    now,
    posted,
    refused,
    saved,
)
from carpool.web.filters import heure_filter
from carpool.web.forms import ActionForm


@bp.get("/")
@coordinator_required
def today() -> str:
    week = board.week(db_session(), association_id(), now(), with_purpose=me().may_see_purpose)
    alerts = sms_inbound.budget_alerts(db_session(), association_id(), now() - timedelta(days=1))
    return render_template(
        "coordinators/today.html",
        board=week,
        now=now(),
        trip_rows=trip_rows,
        action_form=ActionForm(),
        budget_alerts=alerts,
        voice_messages=voice_messages.waiting(db_session(), association_id()),
        long_trips=long_trips.waiting_reason(db_session(), association_id(), now()),
    )


@bp.post("/messages/<int:message_id>/fait")
@coordinator_required
def message_handled(message_id: int) -> BaseResponse:
    message = posted(InboundMessage, message_id)
    done = desk.mark_handled(db_session(), message, user_id=me().id, clock=clock())
    return saved(
        "Message traité : il n'est plus dans la liste." if done else "Ce message était déjà traité.",
        "coord.today",
    )


@bp.post("/messages/<int:message_id>/rappeler")
@coordinator_required
def message_callback(message_id: int) -> BaseResponse:
    message = posted(InboundMessage, message_id)
    try:
        planned = desk.plan_callback(db_session(), message, user_id=me().id, clock=clock())
    except InvalidInput as error:
        return refused(error, "coord.today")
    return saved(
        "C'est noté : le numéro à rappeler est affiché avec le message."
        if planned
        else "Ce message est déjà pris en charge : rappel prévu, ou traité.",
        "coord.today",
        _anchor=f"message-{message_id}",
    )


def trip_rows(trips: list[board.Trip], show_purpose: bool) -> Markup:
    """The rows of a day's table, built here: a département's week has hundreds of trips, and
    rendering them through the template was most of the page's time. Every text is escaped."""
    rows = []
    for trip in trips:
        flagged = ' class="problem"' if trip.problem or trip.way_back_missing else ""
        purpose = f"<td>{escape(trip.purpose)}</td>" if show_purpose else ""
        problem = ' <span class="visually-hidden">(problème)</span>' if trip.problem else ""
        if trip.way_back_missing:
            problem += f" <strong>{escape(board.HALF_COVERED)}</strong>"
        rows.append(
            f"<tr{flagged}><td>{escape(heure_filter(trip.pickup_at))}</td>"
            f"<td>{escape(trip.passenger)}</td>"
            f"<td>{escape(', '.join(trip.needs) or '—')}</td>"
            f"<td>{escape(trip.origin)} → {escape(trip.destination)}</td>"
            f"<td>{escape(trip.leg_label)}</td>{purpose}"
            f"<td>{escape(trip.driver)}</td>"
            f'<td><span class="stage stage-{escape(trip.stage)}">{escape(trip.stage_label)}</span>'
            f"{problem}</td></tr>"
        )
    return Markup("\n".join(rows))  # noqa: S704 - every value above went through escape()
