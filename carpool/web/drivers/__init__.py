"""Volunteer drivers' pages: account, offers, passengers, availability, mileage.

Views only translate: form → service call → one commit, or service error →
the form again with the message next to its field and nothing saved. Another
driver's offer or passenger answers 404, exactly like one that does not exist.

One blueprint, one module per page area; ``common`` holds what they share.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("drivers", __name__, url_prefix="/conducteurs")

# Importing the areas registers their routes on ``bp``.
from carpool.web.drivers import (  # noqa: E402, F401
    account,
    availability,
    common,
    mileage,
    offers,
    rides,
)
