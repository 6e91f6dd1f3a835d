"""WSGI entry point for gunicorn: a start-up problem is one sentence, then exit."""

from __future__ import annotations

import sys

from carpool import create_app
from carpool.config import StartupError

try:
    app = create_app()
except StartupError as exc:
    print(f"erreur : {exc}", file=sys.stderr)
    sys.exit(1)
