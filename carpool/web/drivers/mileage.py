"""Mileage: the month's statement, as a page and as CSV."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import Response, render_template, request

from carpool.extensions import db_session
from carpool.services import mileage
from carpool.web.drivers import bp
from carpool.web.drivers.common import driver_required, me, today


def _month() -> date:
    try:
        wanted = datetime.strptime(request.args.get("mois", ""), "%Y-%m").date()
    except ValueError:
        return today().replace(day=1)
    return wanted if date(2020, 1, 1) <= wanted <= today() + timedelta(days=31) else today().replace(day=1)


@bp.get("/indemnites")
@driver_required
def mileage_statement() -> str:
    _user, driver = me()
    month = _month()
    return render_template(
        "drivers/mileage.html",
        driver=driver,
        statement=mileage.statement(db_session(), driver, month),
        month_value=month.strftime("%Y-%m"),
    )


@bp.get("/indemnites.csv")
@driver_required
def mileage_csv() -> Response:
    _user, driver = me()
    month = _month()
    body = mileage.to_csv(mileage.statement(db_session(), driver, month))
    return Response(
        "\ufeff" + body,  # the BOM makes spreadsheets read UTF-8
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="indemnites-{month:%Y-%m}.csv"'},
    )
