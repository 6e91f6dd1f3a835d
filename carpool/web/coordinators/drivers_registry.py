"""The drivers' registry: who drives, what was checked, and the vetting decision."""

from __future__ import annotations

from typing import Any

from flask import render_template, request

from carpool.errors import InvalidInput
from carpool.extensions import db_session
from carpool.labels import VETTING_STATUSES
from carpool.models import Commune, Driver, VettingStatus
from carpool.services import vetting
from carpool.web.coordinators import bp
from carpool.web.coordinators.common import (
    View,
    actor,
    association_id,
    clock,
    coordinator_required,
    invalid,
    saved,
    scoped,
    today,
)
from carpool.web.coordinators.registry_forms import VettingForm

DONE = {
    VettingStatus.VETTED: "{name} est vérifié : des trajets peuvent lui être proposés.",
    VettingStatus.PAUSED: "{name} est en pause : plus aucun trajet ne lui sera proposé.",
    VettingStatus.PENDING: "{name} est de nouveau à vérifier.",
}


@bp.get("/conducteurs")
@coordinator_required
def drivers() -> str:
    wanted = request.args.get("etat", "")
    status = next((s for s in VettingStatus if s.value == wanted), None)
    session = db_session()
    return render_template(
        "coordinators/drivers.html",
        rows=vetting.registry(session, association_id(), today(), status),
        counts=vetting.counts(session, association_id()),
        status=status,
        labels=VETTING_STATUSES,
        warning_days=vetting.EXPIRY_WARNING_DAYS,
    )


@bp.get("/conducteurs/<int:driver_id>")
@coordinator_required
def driver(driver_id: int) -> str:
    found = scoped(Driver, driver_id)
    form = VettingForm(
        formdata=None,
        obj=found,
        decision=found.vetting.value,
        note=found.vetting_note,
        employee=not found.is_volunteer,
    )
    return render_template("coordinators/driver.html", form=form, **_context(found))


@bp.post("/conducteurs/<int:driver_id>/verification")
@coordinator_required
def driver_vetting(driver_id: int) -> View:
    found = scoped(Driver, driver_id)
    form = VettingForm()
    if not form.validate_on_submit():
        return render_template("coordinators/driver.html", form=form, problems=[], **_context(found)), 422
    decision = VettingStatus(form.decision.data)
    data = vetting.VettingInput(
        decision=decision,
        documents_seen=bool(form.documents_seen.data),
        licence_valid_until=form.licence_valid_until.data,
        insurance_valid_until=form.insurance_valid_until.data,
        note=form.note.data or "",
        employee=bool(form.employee.data),
    )
    session = db_session()
    try:
        vetting.record_vetting(session, found, data, actor=actor(), clock=clock())
    except InvalidInput as error:
        return invalid("coordinators/driver.html", form, error, **_context(found))
    return saved(
        DONE[decision].format(name=f"{found.first_name} {found.last_name}"),
        "coord.driver",
        driver_id=found.id,
    )


def _context(found: Driver) -> dict[str, Any]:
    session = db_session()
    day = today()
    return {
        "driver": found,
        "commune": session.get_one(Commune, found.home_commune_insee).name,
        "licence": vetting.validity(found.licence_valid_until, day),
        "insurance": vetting.validity(found.insurance_valid_until, day),
        "history": vetting.history(session, found),
        "labels": VETTING_STATUSES,
        "history_labels": {f"driver.{s.value}": label for s, label in VETTING_STATUSES.items()},
    }
