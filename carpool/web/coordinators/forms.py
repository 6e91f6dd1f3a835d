"""Forms of the coordinators' pages that are not shared with the drivers' ones."""

from __future__ import annotations

from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import Length, NumberRange, Optional

from carpool.clock import WEEKDAYS
from carpool.web.forms import BaseForm, MultiCheckboxField, code_field, required


class TotpForm(BaseForm):
    code = code_field("Code à 6 chiffres", "Le code affiché par votre application d'authentification.")


class TotpSetupForm(TotpForm):
    pass


class TotpOffForm(TotpForm):
    """Turning the second factor off: whoever found the session open must also know both."""

    password = PasswordField(
        "Mot de passe actuel", [required()], render_kw={"autocomplete": "current-password"}
    )


class ProposeForm(BaseForm):
    """An option shown on a request page; the server checks it again before using it."""

    driver_id = HiddenField()
    offer_id = HiddenField()
    pickup_at = HiddenField()
    dropoff_at = HiddenField()
    detour_min = HiddenField()
    leg = HiddenField()  # "out" (default) or "back"


LEG_CHOICES = [("out", "L'aller"), ("back", "Le retour")]


class LongTripForm(BaseForm):
    """Why a trip longer than 100 km is still made (R3133-4), written by a coordinator."""

    long_trip_reason = TextAreaField(
        "Motif du trajet de plus de 100 km",
        [required("Indiquez pourquoi ce trajet de plus de 100 km est assuré."), Length(max=500)],
    )


class OneWayForm(BaseForm):
    """The resident goes without a way back: why, for the audit log."""

    reason = StringField(
        "Pourquoi",
        [required("Indiquez pourquoi le retour n'est plus nécessaire."), Length(max=300)],
        description="Par exemple : « sa fille la ramène ».",
    )


class ManualMatchForm(BaseForm):
    leg = RadioField("Trajet à couvrir", [Optional()], choices=LEG_CHOICES, default="out")
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


PURPOSE_CHOICES = [
    ("", "Deviner d'après la destination"),
    ("medical", "Santé (médecin, hôpital, soins)"),
    ("shopping", "Courses, marché"),
    ("administration", "Démarches (mairie, banque, poste)"),
    ("social", "Vie sociale, famille"),
    ("other", "Autre"),
]


class PhoneRequestForm(BaseForm):
    destination = StringField(
        "Destination",
        [required(), Length(max=160)],
        description="Un lieu connu (« Centre hospitalier de Cahors ») ou une commune.",
        render_kw={"list": "places", "autocomplete": "off"},
    )
    origin = StringField(
        "Départ",
        [Optional(), Length(max=160)],
        description="Laissez vide pour un départ du domicile.",
        render_kw={"list": "places", "autocomplete": "off"},
    )
    day = DateField("Jour", [required()])
    arrive_by = TimeField("Heure du rendez-vous", [Optional()], description="Arrivée au plus tard.")
    depart_after = TimeField("Pas de départ avant", [Optional()], description="Facultatif.")
    return_at = TimeField("Retour vers", [Optional()], description="Facultatif : heure du retour souhaité.")
    return_latest = TimeField(
        "Rentrée au plus tard",
        [Optional()],
        description="Facultatif : sinon l'heure du retour plus le délai de l'association.",
    )
    one_way = BooleanField("Aller simple accepté", description="Quelqu'un la ramène : pas besoin de retour.")
    passengers = IntegerField(
        "Nombre de personnes", [required(), NumberRange(1, 8, "Entre 1 et 8 personnes.")], default=1
    )
    purpose = SelectField("Motif", [Optional()], choices=PURPOSE_CHOICES, default="")
    wheelchair = BooleanField("Fauteuil roulant")
    walker = BooleanField("Déambulateur")
    boarding_help = BooleanField("Aide pour monter en voiture")
    note = TextAreaField("Note pour la coordination", [Optional(), Length(max=2000)])
    long_trip_reason = TextAreaField(
        "Motif d'un trajet de plus de 100 km",
        [Optional(), Length(max=500)],
        description="Seulement si le trajet dépasse 100 km : pourquoi il est quand même assuré.",
    )

    # A recurring appointment (dialysis, physiotherapy): named like the series service's fields,
    # so its messages land next to them.
    weekdays = MultiCheckboxField(
        "Rendez-vous régulier : jours", coerce=int, choices=list(enumerate(WEEKDAYS))
    )
    every_weeks = RadioField(
        "Fréquence",
        [Optional()],
        choices=[("1", "Toutes les semaines"), ("2", "Une semaine sur deux")],
        default="1",
    )
    until = DateField("Jusqu'au", [Optional()], description="Facultatif : laissez vide si sans fin prévue.")
