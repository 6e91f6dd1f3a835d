"""Today and the coming days: every trip with its stage, problems first."""

from __future__ import annotations

from flask import render_template

from carpool.extensions import db_session
from carpool.services import board
from carpool.web.coordinators import bp
from carpool.web.coordinators.common import association_id, coordinator_required, me, now


@bp.get("/")
@coordinator_required
def today() -> str:
    week = board.week(db_session(), association_id(), now(), with_purpose=me().may_see_purpose)
    return render_template("coordinators/today.html", board=week, now=now())
