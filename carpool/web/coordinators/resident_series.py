"""A resident's recurring appointments on their page: pause (a hospital stay), resume, end."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, url_for
from werkzeug.wrappers import Response as BaseResponse
from wtforms import DateField, HiddenField
from wtforms.validators import AnyOf, Optional

from carpool.errors import InvalidInput
from carpool.extensions import db_session
from carpool.models import AppointmentSeries, Resident
from carpool.services import series as appointment_series
from carpool.web.coordinators import bp
from carpool.web.coordinators.common import actor, coordinator_required, now, scoped, today
from carpool.web.forms import BaseForm

DONE = {
    "pause": "Série en pause : {} trajet(s) à venir annulé(s). Les trajets déjà trouvés restent à annuler.",
    "resume": "Série reprise : {} trajet(s) rétabli(s).",
    "end": "Série terminée : {} trajet(s) à venir annulé(s). Les trajets déjà trouvés restent à annuler.",
}


class SeriesActionForm(BaseForm):
    action = HiddenField(validators=[AnyOf(list(DONE))])
    paused_until = DateField("En pause jusqu'au", [Optional()], description="Vide : jusqu'à reprise.")


def context(resident: Resident) -> dict[str, Any]:
    """What the resident page's section needs (empty for an erased resident: nothing shown)."""
    if resident.erased_at is not None:
        return {}
    return {
        "series": appointment_series.of_resident(db_session(), resident.id),
        "series_form": SeriesActionForm(),
        "describe_series": appointment_series.describe,
    }


@bp.post("/habitants/<int:resident_id>/series/<int:series_id>")
@coordinator_required
def resident_series(resident_id: int, series_id: int) -> BaseResponse:
    series = scoped(AppointmentSeries, series_id)
    if series.resident_id != resident_id:
        abort(404)
    form = SeriesActionForm()
    back = redirect(url_for("coord.resident", resident_id=resident_id))
    if not form.validate_on_submit():
        flash("Date de reprise invalide.")
        return back
    session = db_session()
    try:
        if form.action.data == "pause":
            changed = appointment_series.pause(
                session, series, form.paused_until.data, actor=actor(), today=today()
            )
        elif form.action.data == "resume":
            changed = appointment_series.resume(session, series, actor=actor(), today=today())
        else:
            changed = appointment_series.end(session, series, actor=actor(), now=now())
    except InvalidInput as error:
        session.rollback()
        flash(" ".join(error.errors.values()))
        return back
    session.commit()
    flash(DONE[form.action.data].format(changed))
    return back
