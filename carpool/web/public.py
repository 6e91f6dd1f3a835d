"""Pages anyone may see: the landing page and the health check."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, render_template
from sqlalchemy.exc import SQLAlchemyError

from carpool.extensions import database, db_session
from carpool.services import drivers, gazetteer

bp = Blueprint("public", __name__)


@bp.get("/")
def index() -> str:
    associations = drivers.associations(db_session())
    # Several associations: each one's number, as a text is answered by the one it is sent to.
    numbers = [(a.name, a.sms_number) for a in associations if a.sms_number]
    sms_number = current_app.config["SMS_PUBLIC_NUMBER"] or (numbers[0][1] if len(numbers) == 1 else "")
    return render_template(
        "public/index.html",
        associations=associations,
        sms_number=sms_number,
        sms_numbers=[] if sms_number else numbers,
    )


@bp.get("/healthz")
def healthz() -> tuple[Any, int]:
    """For load balancers and monitoring: 200 when the database answers, 503 otherwise."""
    try:
        communes = gazetteer.commune_count(db_session())
    except SQLAlchemyError:
        current_app.logger.warning("health check: database unreachable")
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(
        status="ok",
        database=database().dialect,
        spatial=current_app.config["SPATIAL_VERSION"],
        communes=communes,
    ), 200
