"""Links that leave the app in a message (SMS, and later calls).

They are built on ``PUBLIC_BASE_URL`` alone, never on the request's Host or
X-Forwarded-Host: a link to a password reset carries a secret, and a client who
chose the host name would receive that secret on their own site.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app


def public_url(endpoint: str, **values: Any) -> str:
    """The absolute address of ``endpoint`` under PUBLIC_BASE_URL (its path prefix included)."""
    base = urlsplit(str(current_app.config["PUBLIC_BASE_URL"]))
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path.rstrip("/") or "/", url_scheme=base.scheme
    )
    return adapter.build(endpoint, values, force_external=True)
