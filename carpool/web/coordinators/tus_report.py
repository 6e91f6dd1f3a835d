"""The annual report of the transport d'utilité sociale: the page, its CSV and XLSX, and the
association's own figures (entered once by an admin in Réglages).

The year comes from ``annee``; a wrong one gives last year's report back with a French
message. Trip purposes are health data: only those allowed see their lines. Exports are audited.
"""

from __future__ import annotations

from flask import Response, render_template, request
from wtforms import DateField, IntegerField, TextAreaField
from wtforms.validators import Length, NumberRange, Optional

from carpool.errors import InvalidInput
from carpool.extensions import db_session
from carpool.services import tus_report as service
from carpool.web.coordinators import bp
from carpool.web.coordinators.common import (
    View,
    actor,
    admin_required,
    association,
    coordinator_required,
    form_page,
    invalid,
    me,
    record,
    saved,
    today,
)
from carpool.web.coordinators.figures import XLSX
from carpool.web.forms import BaseForm

PAGE = "coordinators/tus_report.html"


@bp.get("/rapport-annuel")
@coordinator_required
def tus_report() -> View:
    year, problem = _year()
    report = _build(year)
    page = render_template(
        PAGE,
        report=report,
        year=year,
        problem=problem,
        lines=service.lines(report, with_purpose=me().may_see_purpose),
        states=service.STATES,
        method=service.METHOD,
        first_year=service.first_year(association()),
        last_year=today().year,
    )
    return (page, 422) if problem else page


@bp.get("/rapport-annuel.csv")
@coordinator_required
def tus_report_csv() -> View:
    return _export(
        "csv", "text/csv", lambda r: "\ufeff" + service.to_csv(r, with_purpose=me().may_see_purpose)
    )


@bp.get("/rapport-annuel.xlsx")
@coordinator_required
def tus_report_xlsx() -> View:
    return _export("xlsx", XLSX, lambda r: service.to_xlsx(r, with_purpose=me().may_see_purpose))


def _export(kind: str, mimetype: str, body: object) -> View:
    year, problem = _year()
    if problem:
        return tus_report()
    content = body(_build(year))  # type: ignore[operator]
    record("tus_report.exported", format=kind, year=year, with_purpose=me().may_see_purpose)
    db_session().commit()
    return Response(
        content,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="rapport-tus-{year}.{kind}"'},
    )


def _year() -> tuple[int, str]:
    """The year asked, or last year (this year in the association's first year) with the problem."""
    current = association()
    default = max(today().year - 1, service.first_year(current))
    text = request.args.get("annee", "").strip()
    if not text:
        return default, ""
    try:
        return service.checked_year(text, current, today()), ""
    except InvalidInput as error:
        return default, error.errors["annee"]


def _build(year: int) -> service.TusReport:
    return service.build(db_session(), association(), year, today=today())


# --- the association's figures (Réglages) ---------------------------------------------------


class AssociationFiguresForm(BaseForm):
    founded_on = DateField("Date de création de l'association", [Optional()])
    employees_count = IntegerField("Salariés", [Optional(), NumberRange(0, 100000, "Un nombre positif.")])
    volunteers_count = IntegerField("Bénévoles", [Optional(), NumberRange(0, 100000, "Un nombre positif.")])
    members_count = IntegerField("Adhérents", [Optional(), NumberRange(0, 1000000, "Un nombre positif.")])
    tus_rules = TextAreaField(
        "Règles de l'association pour la prise en charge des personnes",
        [Optional(), Length(max=4000)],
        description="Par exemple : sur réservation 48 h à l'avance, du lundi au vendredi, 100 km au plus.",
    )


FIGURES_PAGE = "coordinators/association_figures.html"


@bp.route("/reglages/rapport-annuel", methods=["GET", "POST"])
@admin_required
def association_figures() -> View:
    current = association()
    form = AssociationFiguresForm(obj=None if request.method == "POST" else current)
    if not form.validate_on_submit():
        return form_page(FIGURES_PAGE, form)
    try:
        service.set_association_figures(
            db_session(),
            current,
            service.AssociationFigures(
                founded_on=form.founded_on.data,
                employees=form.employees_count.data,
                volunteers=form.volunteers_count.data,
                members=form.members_count.data,
                rules=form.tus_rules.data or "",
            ),
            actor=actor(),
            today=today(),
        )
    except InvalidInput as error:
        return invalid(FIGURES_PAGE, form, error)
    return saved("Les chiffres de l'association sont enregistrés.", "coord.association_figures")
