"""Mileage: the month's statement, as a page and as CSV, and the driver's choice for the month."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Response, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from carpool.clock import parse_month
from carpool.errors import InvalidInput
from carpool.extensions import db_session
from carpool.services import expenses, mileage
from carpool.web import auth
from carpool.web.drivers import bp
from carpool.web.drivers.common import driver_required, me, now, today
from carpool.web.forms import ActionForm, check_action


def _month() -> date:
    month = parse_month(request.args.get("mois") or request.form.get("mois"), today())
    return month if month <= today() + timedelta(days=31) else today().replace(day=1)


@bp.get("/indemnites")
@driver_required
def mileage_statement() -> str:
    _user, driver = me()
    month = _month()
    statement = mileage.statement(db_session(), driver, month)
    return render_template(
        "drivers/mileage.html",
        driver=driver,
        statement=statement,
        month_value=month.strftime("%Y-%m"),
        month_over=mileage.month_bounds(month)[1] <= now(),
        rules=mileage.RULES,
        labels=expenses.CHOICE_LABELS,
        choice_form=ActionForm(prefix="choix"),
    )


@bp.post("/indemnites/choix")
@driver_required
def mileage_choice() -> BaseResponse:
    _user, driver = me()
    check_action("choix")
    month = _month()
    session = db_session()
    try:
        row = expenses.choose(
            session,
            driver,
            month,
            request.form.get("choice", ""),
            actor=f"driver:{driver.id}",
            clock=auth.clock(),
        )
    except InvalidInput as error:
        session.rollback()
        flash(" ".join(error.errors.values()), "error")
    else:
        session.commit()
        flash(f"Votre choix pour {month:%m/%Y} est enregistré : {expenses.CHOICE_LABELS[row.choice]}.")
    return redirect(url_for("drivers.mileage_statement", mois=f"{month:%Y-%m}"))


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
