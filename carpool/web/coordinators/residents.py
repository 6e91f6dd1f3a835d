"""(to be written)"""

from __future__ import annotations

from carpool.web.coordinators import bp  # noqa: F401
