"""The association's settings and its coordinators' accounts: admins only (others get 403)."""

from __future__ import annotations

from typing import Any

from flask import abort, render_template, request

from carpool.clock import WEEKDAYS
from carpool.errors import InvalidInput
from carpool.extensions import db_session
from carpool.models import Association, Role, UserAccount
from carpool.services import association_settings as settings_service
from carpool.text import display_phone
from carpool.web.coordinators import bp
from carpool.web.coordinators.common import (
    View,
    actor,
    admin_required,
    association,
    association_id,
    clock,
    invalid,
    me,
    saved,
    scoped,
)
from carpool.web.coordinators.money_forms import MoneyForm, money_values
from carpool.web.coordinators.registry_forms import AccountForm, LineForm, NewAccountForm, SettingsForm
from carpool.web.forms import ActionForm, BaseForm, check_action

PAGE = "coordinators/settings.html"


@bp.route("/reglages", methods=["GET", "POST"])
@admin_required
def settings() -> View:
    current = association()
    form = SettingsForm() if request.method == "POST" else SettingsForm(formdata=None, **_values(current))
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template(PAGE, **_page(current, settings_form=form)), status
    data = settings_service.SettingsInput(
        sms_number=form.sms_number.data or "",
        phone=form.phone.data or "",
        rate_per_km=form.rate_per_km.data or "",
        sms_retention_days=form.sms_retention_days.data or 0,
        inactive_resident_retention_days=form.inactive_resident_retention_days.data or 0,
        totp_for_all_coordinators=bool(form.totp_for_all_coordinators.data),
        return_window_min=form.return_window_min.data,
        road_speed_kmh=form.road_speed_kmh.data,
    )
    session = db_session()
    try:
        settings_service.update_settings(session, current, data, actor=actor())
    except InvalidInput as error:
        return invalid(PAGE, form, error, **_page(current, settings_form=form))
    return saved("Les réglages sont enregistrés.", "coord.settings")


@bp.post("/reglages/ligne")
@admin_required
def line_settings() -> View:
    """The phone line: office hours, the on-duty phone, masking of passengers' numbers."""
    current = association()
    form = LineForm()
    if not form.validate_on_submit():
        return render_template(PAGE, **_page(current, line_form=form)), 422
    data = settings_service.LineInput(
        on_duty_phone=form["on_duty_phone"].data or "",
        hours={day: (form[f"opens_{day}"].data or "", form[f"closes_{day}"].data or "") for day in range(7)},
        number_masking=bool(form["number_masking"].data),
    )
    try:
        settings_service.update_line(db_session(), current, data, actor=actor())
    except InvalidInput as error:
        return invalid(PAGE, form, error, **_page(current, line_form=form))
    return saved(
        "Les réglages de la ligne téléphonique sont enregistrés.", "coord.settings", _anchor="line-title"
    )


def _line_values(current: Association) -> dict[str, Any]:
    values: dict[str, Any] = {
        "on_duty_phone": display_phone(current.on_duty_phone) if current.on_duty_phone else "",
        "number_masking": current.number_masking,
    }
    for day in range(7):
        opens, closes = (current.office_hours or {}).get(str(day)) or ("", "")
        values[f"opens_{day}"], values[f"closes_{day}"] = opens, closes
    return values


@bp.post("/reglages/comptes")
@admin_required
def account_new() -> View:
    current = association()
    form = NewAccountForm(prefix="new")
    if not form.validate_on_submit():
        return render_template(PAGE, **_page(current, new_form=form)), 422
    data = settings_service.NewAccount(
        email=form.email.data or "",
        role=_role(form.role.data),
        sees_health_data=bool(form.sees_health_data.data),
        password=form.password.data or "",
    )
    session = db_session()
    try:
        user = settings_service.create_account(session, association_id(), data, actor=actor())
    except InvalidInput as error:
        return invalid(PAGE, form, error, **_page(current, new_form=form, settings_form=None))
    return saved(
        f"Le compte de {user.email} est créé : transmettez-lui son mot de passe de vive voix.",
        "coord.settings",
    )


@bp.post("/reglages/comptes/<int:user_id>")
@admin_required
def account_update(user_id: int) -> View:
    user = _staff(user_id)
    form = AccountForm(prefix=f"a{user.id}")
    if not form.validate_on_submit():
        return render_template(PAGE, **_page(association(), edited=(user.id, form))), 422
    session = db_session()
    try:
        settings_service.update_account(
            session,
            user,
            role=_role(form.role.data),
            sees_health_data=bool(form.sees_health_data.data),
            actor=actor(),
        )
    except InvalidInput as error:
        return invalid(PAGE, form, error, **_page(association(), edited=(user.id, form)))
    return saved(f"Le compte de {user.email} est modifié.", "coord.settings")


@bp.post("/reglages/comptes/<int:user_id>/retirer")
@admin_required
def account_revoke(user_id: int) -> View:
    user = _staff(user_id)
    check_action(f"r{user.id}")
    session = db_session()
    try:
        settings_service.revoke_account(session, user, by=me(), clock=clock())
    except InvalidInput as error:
        session.rollback()
        problems = list(error.errors.values())
        return render_template(PAGE, problems=problems, **_page(association())), 422
    return saved(f"{user.email} n'a plus accès au tableau de bord.", "coord.settings")


def _staff(user_id: int) -> UserAccount:
    """A coordinator or admin of this association; drivers' log-ins are not managed here."""
    user = scoped(UserAccount, user_id)
    if user.role not in settings_service.STAFF_ROLES:
        abort(404)
    return user


def _role(value: str | None) -> Role:
    return next((role for role in Role if role.value == value), Role.DRIVER)  # DRIVER is refused


def _values(current: Association) -> dict[str, Any]:
    return {
        "sms_number": current.sms_number or "",
        "phone": current.phone or "",
        "rate_per_km": f"{current.rate_per_km:.3f}".rstrip("0").rstrip(".").replace(".", ","),
        "sms_retention_days": current.sms_retention_days,
        "inactive_resident_retention_days": current.inactive_resident_retention_days,
        "totp_for_all_coordinators": current.totp_for_all_coordinators,
        "return_window_min": current.return_window_min,
        "road_speed_kmh": current.road_speed_kmh,
    }


def _page(
    current: Association,
    *,
    settings_form: SettingsForm | None = None,
    line_form: BaseForm | None = None,
    new_form: NewAccountForm | None = None,
    edited: tuple[int, AccountForm] | None = None,
    money_form: MoneyForm | None = None,
) -> dict[str, Any]:
    """Everything the page shows; the form being corrected replaces its blank twin."""
    staff = settings_service.staff(db_session(), current.id)
    forms = {
        user.id: AccountForm(
            prefix=f"a{user.id}", formdata=None, role=user.role.value, sees_health_data=user.sees_health_data
        )
        for user in staff
    }
    if edited is not None:
        forms[edited[0]] = edited[1]
    return {
        "association": current,
        "settings_form": settings_form or SettingsForm(formdata=None, **_values(current)),
        "money_form": money_form or MoneyForm(prefix="money", formdata=None, **money_values(current)),
        "line_form": line_form or LineForm(formdata=None, **_line_values(current)),
        "weekdays": WEEKDAYS,
        "new_form": new_form or NewAccountForm(prefix="new", formdata=None),
        "staff": staff,
        "account_forms": forms,
        "revoke_forms": {user.id: ActionForm(prefix=f"r{user.id}") for user in staff},
        "is_revoked": settings_service.is_revoked,
        "role_labels": settings_service.ROLE_LABELS,
        "me": me(),
    }


#: The page's context, for the sections posted to other modules (money).
page_context = _page
