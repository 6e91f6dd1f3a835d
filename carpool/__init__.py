"""Solidarity carpooling: volunteer drivers, residents who text, coordinators who run it.

``create_app`` is imported lazily so that ``carpool.matching`` and the light CLI
commands never pay for Flask and SQLAlchemy at start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the web application (see ``carpool.app``)."""
    from carpool.app import create_app as _create_app

    return _create_app(test_config)
