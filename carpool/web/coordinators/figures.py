"""Figures for funders: the page, its chart and its CSV / XLSX exports.

The period comes from ``du`` and ``au`` (YYYY-MM) and an optional ``commune``
(INSEE code of residence); nonsense gives the default period back with a
message, never an error page. Trip purposes are health data: only coordinators
allowed to see them get the purpose columns. Exports are audited.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from flask import Response, render_template, request
from markupsafe import Markup, escape

from carpool.clock import PARIS, plausible_day
from carpool.extensions import db_session
from carpool.labels import PURPOSES
from carpool.models import Purpose
from carpool.services import figures as service
from carpool.web.coordinators import bp
from carpool.web.coordinators.charts import Series, grouped_bars
from carpool.web.coordinators.common import View, association_id, coordinator_required, me, now, record

SHORT_MONTHS = (
    "janv.", "févr.", "mars", "avr.", "mai", "juin",
    "juil.", "août", "sept.", "oct.", "nov.", "déc.",
)  # fmt: skip
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class Period:
    first: date
    last: date
    commune: str | None = None
    problems: list[str] = field(default_factory=list)
    fields: set[str] = field(default_factory=set)  # the parameters in error

    @property
    def args(self) -> dict[str, str]:
        args = {"du": f"{self.first:%Y-%m}", "au": f"{self.last:%Y-%m}"}
        if self.commune:
            args["commune"] = self.commune
        return args


@bp.get("/chiffres")
@coordinator_required
def figures() -> View:
    period, communes = _period()
    return _page(period, communes)


@bp.get("/chiffres.csv")
@coordinator_required
def figures_csv() -> View:
    return _export(
        "csv",
        "text/csv",
        # the BOM makes spreadsheets read UTF-8
        lambda report, period, communes: "\ufeff" + service.to_csv(report, with_purpose=me().may_see_purpose),
    )


@bp.get("/chiffres.xlsx")
@coordinator_required
def figures_xlsx() -> View:
    return _export(
        "xlsx",
        XLSX,
        lambda report, period, communes: service.to_xlsx(
            report, with_purpose=me().may_see_purpose, commune_name=communes.get(period.commune or "")
        ),
    )


def _export(
    kind: str, mimetype: str, body: Callable[[service.Report, Period, dict[str, str]], str | bytes]
) -> View:
    """The report as a file to download, audited; the page with its messages if the period is wrong."""
    period, communes = _period()
    if period.problems:
        return _page(period, communes)
    content = body(_report(period, communes), period, communes)
    _audit(kind, period)
    return Response(
        content,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{_filename(period)}.{kind}"'},
    )


def _page(period: Period, communes: dict[str, str]) -> View:
    report = _report(period, communes)
    purposes = PURPOSES if me().may_see_purpose else {}
    page = render_template(
        "coordinators/figures.html",
        report=report,
        period=period,
        communes=communes,
        chart=_chart(report),
        purposes=purposes,
        method=service.METHOD,
        max_months=service.MAX_MONTHS,
        num=number,
        cells=lambda f: cells(f, purposes),
        rows=lambda lines, **kwargs: rows(lines, purposes, **kwargs),
    )
    return (page, 422) if period.problems else page


def number(value: float | None, digits: int = 0) -> str:
    """A figure the French way: "12 345,6"; a dash when there is none."""
    if value is None:
        return "—"
    return f"{value:,.{digits}f}".replace(",", " ").replace(".", ",")


def cells(f: service.Figures, purposes: dict[Purpose, str]) -> Markup:
    """The numeric cells of one line of the tables."""
    return Markup(_cells(f, purposes))  # noqa: S704 - numbers only, see _cells


def rows(lines: list[service.Figures], purposes: dict[Purpose, str], *, capitalize: bool = False) -> Markup:
    """One table row per line, headed by its label: built here, a département has hundreds of communes."""
    return Markup(  # noqa: S704 - the labels go through escape(), the rest are numbers
        "".join(
            f'<tr><th scope="row">{escape(f.label.capitalize() if capitalize else f.label)}</th>'
            f"{_cells(f, purposes)}</tr>\n"
            for f in lines
        )
    )


def _cells(f: service.Figures, purposes: dict[Purpose, str]) -> str:
    # Every value is a number formatted by number(), never text from a user: nothing to escape.
    by_purpose = "".join(f'<td class="num">{number(f.by_purpose[p])}</td>' for p in purposes)
    return (
        f'<td class="num">{number(f.trips)}</td><td class="num">{number(f.people)}</td>'
        f'<td class="num">{number(f.passengers)}</td>{by_purpose}'
        f'<td class="num">{number(f.km)}</td><td class="num">{number(f.co2_emitted_kg)}</td>'
        f'<td class="num">{number(f.co2_replaced_kg)}</td><td class="num">{number(f.co2_avoided_kg)}</td>'
        f'<td class="num">{number(f.unmet)}</td><td class="num">{number(f.confirmation_hours, 1)}</td>'
        f'<td class="num">{number(f.volunteer_hours, 1)}</td>'
    )


def _report(period: Period, communes: dict[str, str]) -> service.Report:
    return service.report(
        db_session(),
        association_id(),
        period.first,
        period.last,
        commune=period.commune,
        commune_names=communes,
    )


def _period() -> tuple[Period, dict[str, str]]:
    """The asked period, or the last twelve months with the reasons it was not taken."""
    this_month = now().astimezone(PARIS).date().replace(day=1)
    default_first = _shift(this_month, -11)
    communes = dict(service.communes_served(db_session(), association_id()))
    period = Period(default_first, this_month)
    first = _month(request.args.get("du"), "du", "début", period)
    last = _month(request.args.get("au"), "au", "fin", period)
    commune = request.args.get("commune", "").strip() or None
    if commune is not None and commune not in communes:
        period.problems.append(
            "Cette commune ne fait pas partie de votre territoire : choisissez-la dans la liste."
        )
        period.fields.add("commune")
        commune = None
    first, last = first or (_shift(last, -11) if last else default_first), last or this_month
    if first > last:
        period.problems.append("Le mois de début doit précéder le mois de fin.")
        period.fields.update({"du", "au"})
    elif len(service.months_between(first, last)) > service.MAX_MONTHS:
        period.problems.append(f"La période est limitée à {service.MAX_MONTHS} mois : raccourcissez-la.")
        period.fields.update({"du", "au"})
    else:
        period.first, period.last = first, last
    period.commune = commune
    return period, communes


def _month(value: str | None, name: str, word: str, period: Period) -> date | None:
    if not value:
        return None
    try:
        month = datetime.strptime(value.strip(), "%Y-%m").date()
    except ValueError:
        month = None
    if month is None or not plausible_day(month):
        period.problems.append(
            f"Le mois de {word} n'est pas valide : écrivez-le sous la forme AAAA-MM (2026-01)."
        )
        period.fields.add(name)
        return None
    return month


def _shift(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _chart(report: service.Report) -> Markup:
    labels = [f"{SHORT_MONTHS[f.month.month - 1]} {f.month:%y}" for f in report.months if f.month]
    return grouped_bars(
        "figures-chart",
        "Trajets effectués et demandes non satisfaites par mois",
        "Les mêmes chiffres figurent dans le tableau « Chiffres par mois » ci-dessous.",
        labels,
        [
            Series("Trajets effectués", [f.trips for f in report.months]),
            Series("Demandes non satisfaites", [f.unmet for f in report.months]),
        ],
    )


def _filename(period: Period) -> str:
    commune = f"-{period.commune}" if period.commune else ""
    return f"chiffres-{period.first:%Y-%m}-{period.last:%Y-%m}{commune}"


def _audit(fmt: str, period: Period) -> None:
    record("figures.exported", format=fmt, with_purpose=me().may_see_purpose, **period.args)
    db_session().commit()
