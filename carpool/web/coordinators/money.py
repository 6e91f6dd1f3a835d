"""Money pages: residents' participation (payments, monthly statements) and drivers' expenses.

Participation and expenses are read by every coordinator; the settings are the
admins' (``/reglages/argent``, a section of the settings page). Statements and
receipts are printable pages with a CSV twin.
"""

from __future__ import annotations

from flask import Response, render_template, request
from wtforms import DateField, SelectField
from wtforms.validators import Optional

from carpool.clock import parse_month
from carpool.errors import InvalidInput
from carpool.extensions import db_session
from carpool.models import LegParticipation, MonthlyExpenses, PaymentMethod, Resident
from carpool.services import expenses, money_settings, participation
from carpool.web.coordinators import bp, settings
from carpool.web.coordinators.common import (
    View,
    actor,
    admin_required,
    association,
    clock,
    coordinator_required,
    invalid,
    posted,
    refused,
    saved,
    scoped,
    today,
)
from carpool.web.coordinators.money_forms import MoneyForm
from carpool.web.forms import ActionForm, BaseForm

METHOD_CHOICES = [("", "Choisir…")] + [
    (m.value, participation.METHOD_LABELS[m].capitalize()) for m in PaymentMethod
]


class PaymentForm(BaseForm):
    method = SelectField("Moyen de paiement", choices=METHOD_CHOICES, validate_choice=False)
    paid_on = DateField("Payé le", [Optional()])


@bp.post("/reglages/argent")
@admin_required
def money_settings_save() -> View:
    current = association()
    form = MoneyForm(prefix="money")
    page = settings.page_context(current, money_form=form)
    if not form.validate_on_submit():
        return render_template(settings.PAGE, **page), 422
    data = money_settings.MoneyInput(
        participation_enabled=bool(form.participation_enabled.data),
        participation_per_km=form.participation_per_km.data or "",
        legal_address=form.legal_address.data or "",
        legal_number=form.legal_number.data or "",
        legal_object=form.legal_object.data or "",
    )
    try:
        money_settings.update_money_settings(db_session(), current, data, actor=actor())
    except InvalidInput as error:
        return invalid(settings.PAGE, form, error, **page)
    return saved("Les réglages de participation et de reçus sont enregistrés.", "coord.settings")


# --- participation -------------------------------------------------------------------------


@bp.get("/participations")
@coordinator_required
def participations() -> str:
    month = parse_month(request.args.get("mois"), today())
    current = association()
    statement = participation.month_statement(db_session(), current, month)
    db_session().rollback()  # read only
    forms = {
        line.id: PaymentForm(prefix=f"p{line.id}", formdata=None, paid_on=today()) for line in statement.lines
    }
    return render_template(
        "coordinators/participations.html",
        statement=statement,
        month_value=f"{month:%Y-%m}",
        pay_forms=forms,
        cancel_form=ActionForm,
    )


@bp.post("/participations/<int:participation_id>/paiement")
@coordinator_required
def participation_paid(participation_id: int) -> View:
    row = scoped(LegParticipation, participation_id)
    form = PaymentForm(prefix=f"p{row.id}")
    month = request.form.get("mois", "")
    if not form.validate_on_submit():
        error = InvalidInput({"": " ".join(e for errs in form.errors.values() for e in errs)})
        return refused(error, "coord.participations", mois=month)
    try:
        participation.mark_paid(
            db_session(),
            row,
            method=form.method.data or "",
            paid_on=form.paid_on.data,
            today=today(),
            actor=actor(),
        )
    except InvalidInput as error:
        return refused(error, "coord.participations", mois=month)
    return saved("Le paiement est enregistré.", "coord.participations", mois=month)


@bp.post("/participations/<int:participation_id>/annulation")
@coordinator_required
def participation_unpaid(participation_id: int) -> View:
    row = posted(LegParticipation, participation_id)
    participation.cancel_payment(db_session(), row, actor=actor())
    return saved("Le paiement est annulé.", "coord.participations", mois=request.form.get("mois", ""))


@bp.get("/habitants/<int:resident_id>/participations")
@coordinator_required
def resident_participation(resident_id: int) -> str:
    statement = _resident_statement(resident_id)
    return render_template(
        "coordinators/resident_participation.html",
        statement=statement,
        month_value=f"{statement.month:%Y-%m}",
    )


@bp.get("/habitants/<int:resident_id>/participations.csv")
@coordinator_required
def resident_participation_csv(resident_id: int) -> Response:
    statement = _resident_statement(resident_id)
    return csv_response(
        participation.to_csv(statement), f"participation-{resident_id}-{statement.month:%Y-%m}.csv"
    )


def _resident_statement(resident_id: int) -> participation.MonthStatement:
    """The month asked (``mois``) of this association's resident; 404 for anyone else's."""
    resident = scoped(Resident, resident_id)
    month = parse_month(request.args.get("mois"), today())
    statement = participation.month_statement(db_session(), association(), month, resident)
    db_session().rollback()  # read only: end the transaction (SQLite holds the write lock)
    return statement


def csv_response(body: str, filename: str) -> Response:
    return Response(
        "\ufeff" + body,  # the BOM makes spreadsheets read UTF-8
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


# --- drivers' expenses ---------------------------------------------------------------------


def _year() -> int:
    year = request.args.get("annee", type=int)
    return year if year is not None and 2000 <= year <= 2099 else today().year


@bp.get("/frais")
@coordinator_required
def expenses_page() -> str:
    year = _year()
    rows = expenses.year_choices(db_session(), association().id, year)
    db_session().rollback()
    return render_template(
        "coordinators/expenses.html",
        year=year,
        rows=rows,
        labels=expenses.CHOICE_LABELS,
        settle_form=ActionForm,
    )


@bp.post("/frais/<int:expenses_id>/reglement")
@coordinator_required
def expenses_settle(expenses_id: int) -> View:
    row = posted(MonthlyExpenses, expenses_id)
    try:
        expenses.settle(db_session(), row, actor=actor(), clock=clock())
    except InvalidInput as error:
        return refused(error, "coord.expenses_page", annee=row.month.year)
    return saved(
        "Le mois est réglé : le choix du conducteur est arrêté.", "coord.expenses_page", annee=row.month.year
    )


@bp.get("/frais/recus")
@coordinator_required
def expenses_receipts() -> str:
    year = _year()
    data = expenses.receipts(db_session(), association(), year)
    db_session().rollback()
    return render_template("coordinators/receipts.html", data=data, issued=today())


@bp.get("/frais/recus.csv")
@coordinator_required
def expenses_receipts_csv() -> Response:
    year = _year()
    data = expenses.receipts(db_session(), association(), year)
    db_session().rollback()
    return csv_response(expenses.receipts_csv(data), f"abandons-de-frais-{year}.csv")
