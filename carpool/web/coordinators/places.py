"""The named places' registry: the association's own places, editable; the shared ones, read-only.

Shared places (no association) are never found by ``scoped``: editing or
archiving one answers 404, like a place of another association.
"""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from werkzeug.wrappers import Response as BaseResponse

from carpool.db import lon_lat
from carpool.errors import InvalidInput
from carpool.extensions import db_session
from carpool.models import Commune, NamedPlace
from carpool.services import places_registry
from carpool.services.places import commune_label, place_suggestions
from carpool.services.places_registry import PlaceInput
from carpool.web.coordinators import bp
from carpool.web.coordinators.common import (
    View,
    actor,
    association_id,
    clock,
    coordinator_required,
    form_page,
    invalid,
    posted,
    refused,
    saved,
    scoped,
)
from carpool.web.coordinators.registry_forms import PlaceForm
from carpool.web.forms import ActionForm

FORM = "coordinators/place_form.html"


@bp.get("/lieux")
@coordinator_required
def places() -> str:
    return render_template(
        "coordinators/places.html",
        registry=places_registry.registry(db_session(), association_id()),
        kinds=places_registry.KINDS,
        action_form=ActionForm(),
    )


@bp.route("/lieux/nouveau", methods=["GET", "POST"])
@coordinator_required
def place_new() -> View:
    form = PlaceForm()
    if not form.validate_on_submit():
        return form_page(FORM, form, place=None, **_communes())
    session = db_session()
    try:
        place = places_registry.create_place(session, association_id(), _input(form), actor=actor())
    except InvalidInput as error:
        return invalid(FORM, form, error, place=None, **_communes())
    return saved(f"Le lieu « {place.name} » est ajouté.", "coord.places")


@bp.route("/lieux/<int:place_id>/modifier", methods=["GET", "POST"])
@coordinator_required
def place_edit(place_id: int) -> View:
    place = scoped(NamedPlace, place_id)
    form = PlaceForm() if request.method == "POST" else PlaceForm(formdata=None, **_current(place))
    if not form.validate_on_submit():
        return form_page(FORM, form, place=place, **_communes())
    session = db_session()
    try:
        places_registry.update_place(session, place, _input(form), actor=actor())
    except InvalidInput as error:
        return invalid(FORM, form, error, place=place, **_communes())
    return saved(f"Le lieu « {place.name} » est enregistré.", "coord.places")


@bp.post("/lieux/<int:place_id>/archiver")
@coordinator_required
def place_archive(place_id: int) -> BaseResponse:
    place = posted(NamedPlace, place_id)
    places_registry.archive_place(db_session(), place, actor=actor(), clock=clock())
    return saved(f"Le lieu « {place.name} » est archivé : il n'est plus proposé.", "coord.places")


@bp.post("/lieux/<int:place_id>/restaurer")
@coordinator_required
def place_restore(place_id: int) -> BaseResponse:
    place = posted(NamedPlace, place_id)
    try:
        places_registry.restore_place(db_session(), place, actor=actor())
    except InvalidInput as error:
        return refused(error, "coord.places")
    return saved(f"Le lieu « {place.name} » est de nouveau proposé.", "coord.places")


def _input(form: PlaceForm) -> PlaceInput:
    return PlaceInput(
        name=form.name.data or "",
        kind=form.kind.data or "",
        commune=form.commune.data or "",
        latitude=form.latitude.data or "",
        longitude=form.longitude.data or "",
    )


def _current(place: NamedPlace) -> dict[str, Any]:
    """The form's starting values; coordinators see the commune as they would type it."""
    commune = db_session().get_one(Commune, place.commune_insee)
    lon, lat = lon_lat(place.point)
    return {
        "name": place.name,
        "kind": place.kind,
        "commune": commune_label(commune),
        "latitude": f"{lat:.5f}".replace(".", ","),
        "longitude": f"{lon:.5f}".replace(".", ","),
    }


def _communes() -> dict[str, list[str]]:
    labels = place_suggestions(db_session(), 0)
    return {"commune_labels": [label for label in labels if label.endswith(")")]}
