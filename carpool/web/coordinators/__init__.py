"""Coordinators' dashboard (``/coordination``): one blueprint, one module per area.

Every view runs for a logged-in coordinator or admin and sees only their
association: ``common.scoped`` fetches a record by id and answers 404 when it
belongs to another association (exactly like one that does not exist). Every
change is CSRF-protected (Flask-WTF, app-wide) and audited under ``user:<id>``.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("coord", __name__, url_prefix="/coordination")

# Importing the areas registers their routes on ``bp``.
from carpool.web.coordinators import (  # noqa: E402, F401
    audit_log,
    drivers_registry,
    eligibility,
    figures,
    map_view,
    money,
    phone_in,
    places,
    resident_series,
    residents,
    settings,
    signin,
    today,
    tus_report,
    unmatched,
    voice_messages,
)
