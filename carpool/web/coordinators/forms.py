"""Forms of the coordinators' pages that are not shared with the drivers' ones."""

from __future__ import annotations

from wtforms import DateField, HiddenField, RadioField, SelectField, StringField, TimeField
from wtforms.validators import Length, Optional

from carpool.web.forms import BaseForm, required


class TotpForm(BaseForm):
    code = StringField(
        "Code à 6 chiffres",
        [required(), Length(max=12)],
        description="Le code affiché par votre application d'authentification.",
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )


class TotpSetupForm(TotpForm):
    pass


class ProposeForm(BaseForm):
    """An option shown on a request page; the server checks it again before using it."""

    driver_id = HiddenField()
    offer_id = HiddenField()
    pickup_at = HiddenField()
    dropoff_at = HiddenField()
    detour_min = HiddenField()


class ManualMatchForm(BaseForm):
    driver = SelectField("Conducteur", [required("Choisissez un conducteur.")])
    offer = SelectField("Sur un trajet déjà proposé ?", [Optional()])
    day = DateField("Jour du départ", [required()])
    time = TimeField(
        "Heure de prise en charge", [required()], description="Heure à laquelle le conducteur passe."
    )
    mode = RadioField(
        "Ensuite",
        [required("Choisissez une suite.")],
        choices=[
            ("sms", "Proposer au passager par SMS (il répond OUI ou NON)"),
            ("book", "Réserver tout de suite (le passager est d'accord, au téléphone)"),
        ],
        default="sms",
    )
