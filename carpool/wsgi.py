"""WSGI entry point for gunicorn: a start-up problem is one sentence, then exit."""

from __future__ import annotations

import gc
import sys

from carpool import create_app
from carpool.errors import StartupError

try:
    app = create_app()
except StartupError as exc:
    print(f"erreur : {exc}", file=sys.stderr)
    sys.exit(1)

# Everything loaded at start-up (modules, templates, the app) lives as long as the worker: moved
# out of the collector's reach, full collections stop walking it (they were most of the
# dashboard's p95 under load).
gc.collect()
gc.freeze()
