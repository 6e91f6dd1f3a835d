"""Flask-WTF forms of the web pages: types, required fields and lengths, in French.

Business rules (dates in the past, unknown communes, seats…) live in the
services, which raise ``InvalidInput``; ``show_errors`` puts those messages
next to the right field, exactly like the form's own. ``form_page`` and
``invalid`` render a form's page for every blueprint, before and after the
services' checks; the field helpers keep one wording for a field used on
several pages.
"""

from __future__ import annotations

from typing import Any

from flask import abort, render_template
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
    TimeField,
)
from wtforms.i18n import get_translations
from wtforms.validators import InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from carpool.clock import WEEKDAYS
from carpool.errors import InvalidInput
from carpool.extensions import db_session
from carpool.models import OFFER_FLEX_MIN, OFFER_MAX_DETOUR_MIN, OFFER_SEATS

REQUIRED = "Ce champ est obligatoire."


class _French:
    """WTForms' French catalogue, with plainer words for the messages people meet most."""

    PLAINER = {  # noqa: RUF012
        "Not a valid date value.": "Cette date n'est pas valide.",
        "Not a valid time value.": "Cette heure n'est pas valide (par exemple 08:30).",
        "Not a valid integer value.": "Indiquez un nombre entier.",
        "Not a valid choice.": "Choisissez une valeur de la liste.",
        "The CSRF token is missing.": "Le formulaire a expiré : rechargez la page et recommencez.",
    }

    def __init__(self) -> None:
        self.catalogue = get_translations(["fr"])

    def gettext(self, message: str) -> str:
        return self.PLAINER.get(message) or self.catalogue.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.catalogue.ngettext(singular, plural, n)


_FRENCH = _French()


class FrenchMeta:
    def get_translations(self, form: Any) -> Any:
        return _FRENCH


class BaseForm(FlaskForm):
    class Meta(FrenchMeta):
        pass


def required(message: str = REQUIRED) -> InputRequired:
    return InputRequired(message=message)


def number(low: int, high: int, what: str) -> NumberRange:
    return NumberRange(low, high, message=f"{what} doit être entre {low} et {high}.")


def at_most(length: int, what: str, verb: str = "doit") -> Length:
    """A free-text limit whose message names the field: « Le motif doit faire au plus 300 caractères. »"""
    return Length(max=length, message=f"{what} {verb} faire au plus {length} caractères.")


def numeric(low: int, high: int, step: int | None = None) -> dict[str, Any]:
    """The browser's hints for a number field, matching the bounds the server checks."""
    hints: dict[str, Any] = {"min": low, "max": high}
    if step is not None:
        hints["step"] = step
    return {**hints, "inputmode": "numeric"}


def mobile_field(
    label: str, description: str, message: str = REQUIRED, autocomplete: str = "tel", **hints: str
) -> TelField:
    """A mobile number; the service parses it (spaces, +33…) and says what is wrong."""
    return TelField(
        label,
        [required(message), Length(max=30)],
        description=description,
        render_kw={"autocomplete": autocomplete, **hints},
    )


def code_field(label: str, description: str) -> StringField:
    """A one-time code (SMS or authenticator app), which phones offer to fill in themselves."""
    return StringField(
        label,
        [required(), Length(max=12)],
        description=description,
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )


def commune_field(label: str, example: str, message: str = REQUIRED) -> StringField:
    """A commune typed against the page's list of communes; the service resolves it."""
    return StringField(
        label,
        [required(message), Length(max=160)],
        description=f"Son nom, avec le code postal si besoin : {example}.",
        render_kw={"list": "communes", "autocomplete": "off"},
    )


def place_field(label: str, message: str, description: str) -> StringField:
    """A commune or a known place, typed against the page's list of places."""
    return StringField(
        label,
        [required(message), Length(max=160)],
        description=description,
        render_kw={"list": "lieux", "autocomplete": "off"},
    )


def new_password_field(label: str, description: str = "Au moins 10 caractères.") -> PasswordField:
    """A password being chosen; its strength is the service's rule (accounts.password_problem)."""
    return PasswordField(
        label,
        [required(), Length(max=200)],
        description=description,
        render_kw={"autocomplete": "new-password"},
    )


def password_again_field(label: str) -> PasswordField:
    return PasswordField(label, [required()], render_kw={"autocomplete": "new-password"})


def current_password_field(label: str = "Mot de passe actuel") -> PasswordField:
    return PasswordField(label, [required()], render_kw={"autocomplete": "current-password"})


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def show_errors(form: Form, error: InvalidInput) -> list[str]:
    """Attach each service message to its field; returns the messages about the whole form."""
    general = []
    for name, message in error.errors.items():
        field = _find(form, name)
        if field is None:
            general.append(message)
        else:
            field.errors = [*field.errors, message] if isinstance(field.errors, list) else [message]
    return general


def form_page(template: str, form: FlaskForm, **context: Any) -> tuple[str, int]:
    """A form's page until it is validly submitted: 200 when first shown, 422 after failed checks."""
    return render_template(template, form=form, problems=[], **context), 422 if form.is_submitted() else 200


def invalid(template: str, form: Form, error: InvalidInput, **context: Any) -> tuple[str, int]:
    """Nothing of this request is kept; the form comes back with the service's messages."""
    db_session().rollback()
    problems = show_errors(form, error)
    return render_template(template, form=form, problems=problems, **context), 422


def _find(form: Form, name: str) -> Any:
    if not name:
        return None
    if name in form._fields:
        return form._fields[name]
    head, _, rest = name.partition("-")
    container = form._fields.get(head)
    index, _, sub = rest.partition("-")
    if isinstance(container, FieldList) and index.isdigit() and int(index) < len(container.entries):
        entry = container.entries[int(index)]
        return entry.form._fields.get(sub) if sub else entry
    return None


# --- account -------------------------------------------------------------------------------


class SignUpForm(BaseForm):
    # Length and characters are the service's rules (drivers.first_name_problem), in French.
    first_name = StringField("Prénom", [required()], render_kw={"autocomplete": "given-name"})
    last_name = StringField("Nom", [required(), Length(max=80)], render_kw={"autocomplete": "family-name"})
    email = EmailField("Adresse e-mail", [required(), Length(max=254)], render_kw={"autocomplete": "email"})
    phone = mobile_field(
        "Téléphone portable", "Pour recevoir les demandes de trajet par SMS, par exemple 06 12 34 56 78."
    )
    home_commune = commune_field("Commune de domicile", "« Cahors » ou « 46000 Cahors »")
    seats = IntegerField(
        "Places passagers dans votre véhicule",
        [required(), number(1, 8, "Le nombre de places")],
        default=3,
        render_kw=numeric(1, 8),
    )
    wheelchair_accessible = RadioField(
        "Votre véhicule peut-il transporter un fauteuil roulant ?",
        choices=[("non", "Non"), ("oui", "Oui")],
        default="non",
    )
    association_id = SelectField("Association", coerce=int, validate_choice=False)
    password = new_password_field("Mot de passe")
    password_confirm = password_again_field("Mot de passe, encore une fois")


class LoginForm(BaseForm):
    email = EmailField("Adresse e-mail", [required()], render_kw={"autocomplete": "username"})
    password = current_password_field("Mot de passe")
    next = HiddenField()


class PhoneForm(BaseForm):
    """Sign-up, first step: the mobile number the code is sent to."""

    phone = mobile_field(
        "Téléphone portable", "Nous y envoyons un code à 6 chiffres, par exemple au 06 12 34 56 78."
    )


class CodeForm(BaseForm):
    """Sign-up, second step: the code received by SMS."""

    code = code_field("Code reçu par SMS", "6 chiffres, valable 10 minutes.")


class ForgotPasswordForm(BaseForm):
    email = EmailField("Adresse e-mail de votre compte", [required()], render_kw={"autocomplete": "email"})


class NewPasswordForm(BaseForm):
    password = new_password_field("Nouveau mot de passe")
    password_confirm = password_again_field("Nouveau mot de passe, encore une fois")


class ChangePasswordForm(NewPasswordForm):
    current_password = current_password_field()


class ApiTokenForm(BaseForm):
    name = StringField(
        "Nom du jeton",
        [required(), Length(max=80)],
        description="Pour le reconnaître, par exemple « téléphone de Sophie ».",
    )


class ActionForm(BaseForm):
    """A button that changes something: only the CSRF token."""


def check_action(prefix: str = "") -> None:
    """Stop with a 400 unless the button's form came with its CSRF token (forged or stale)."""
    if not ActionForm(prefix=prefix).validate_on_submit():
        abort(400)


# --- offers --------------------------------------------------------------------------------


class OfferForm(BaseForm):
    origin = place_field(
        "Départ",
        "Indiquez d'où vous partez.",
        "Une commune (« Figeac », « 46100 Figeac ») ou un lieu connu.",
    )
    destination = place_field(
        "Arrivée",
        "Indiquez où vous allez.",
        "Par exemple « Centre hospitalier de Cahors » ou « Cahors ».",
    )
    day = DateField("Date", [required("Indiquez la date du trajet.")])
    depart = TimeField("Heure de départ", [required("Indiquez l'heure de départ.")])
    flex_min = IntegerField(
        "Souplesse sur l'heure de départ (± minutes)",
        [required(), number(0, 120, "La souplesse")],
        default=OFFER_FLEX_MIN,
        render_kw=numeric(0, 120, step=5),
    )
    seats = IntegerField(
        "Places libres",
        [required(), number(1, 8, "Le nombre de places libres")],
        default=OFFER_SEATS,
        render_kw=numeric(1, 8),
    )
    max_detour_min = IntegerField(
        "Détour accepté (minutes)",
        [required(), number(0, 60, "Le détour accepté")],
        default=OFFER_MAX_DETOUR_MIN,
        description="Le temps que vous acceptez d'ajouter pour prendre un passager, de 0 à 60.",
        render_kw=numeric(0, 60, step=5),
    )
    return_trip = BooleanField("Je fais aussi le retour le même jour")
    return_time = TimeField("Heure de départ du retour", [Optional()])
    repeat = BooleanField("Je fais ce trajet chaque semaine")
    repeat_days = MultiCheckboxField("Jours de la semaine", coerce=int, choices=list(enumerate(WEEKDAYS)))
    repeat_until = DateField("Jusqu'au", [Optional()], description="Douze semaines au plus.")
    comment = TextAreaField(
        "Commentaire (facultatif)",
        [at_most(500, "Le commentaire")],
        description="Par exemple : « je peux attendre pendant le rendez-vous ».",
    )


class EditOfferForm(OfferForm):
    """One offer at a time: no return or repetition to add afterwards."""

    return_trip = return_time = repeat = repeat_days = repeat_until = None  # type: ignore[assignment]


class CancelOfferForm(BaseForm):
    reason = TextAreaField(
        "Motif de l'annulation",
        [at_most(300, "Le motif")],
        description="Il est transmis à vos passagers et à l'association.",
    )


# --- availability --------------------------------------------------------------------------


class SlotForm(Form):
    class Meta(FrenchMeta):
        pass

    weekday = SelectField(
        "Jour",
        choices=[("", "—"), *[(str(n), name) for n, name in enumerate(WEEKDAYS)]],
        validate_choice=False,
    )
    starts_at = TimeField("De", [Optional()])
    ends_at = TimeField("À", [Optional()])


class AvailabilityForm(BaseForm):
    slots = FieldList(FormField(SlotForm), min_entries=0, max_entries=21)
    radius_km = IntegerField(
        "Distance maximale autour de chez vous (km)",
        [required(), number(1, 100, "La distance")],
        render_kw=numeric(1, 100),
    )
    max_trips_per_week = IntegerField(
        "Trajets par semaine, au plus",
        [required(), number(0, 20, "Le nombre de trajets")],
        render_kw=numeric(0, 20),
    )


class TimeOffForm(BaseForm):
    first_day = DateField("Premier jour d'absence", [required("Indiquez le premier jour.")])
    last_day = DateField("Dernier jour d'absence", [required("Indiquez le dernier jour.")])
