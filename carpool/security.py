"""HTTP security headers on every response, no caching of pages with personal data, and
hostile input turned away before it reaches a service: NUL characters, ids out of range,
JSON nested too deep.

The policy forbids inline scripts and styles: templates load ``static/*.js`` and
``static/*.css`` only, so an injected ``<script>`` or ``onclick=`` never runs even
if some text escaped the templates. The only outside resource is the map's tiles.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, abort, request, session
from flask.json.provider import DefaultJSONProvider
from werkzeug.routing import IntegerConverter, Map

#: Where the coordinators' map fetches its background tiles (see static/map.js).
TILE_HOST = "https://tile.openstreetmap.org"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        f"img-src 'self' data: {TILE_HOST}",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that ignore CSP
    "Referrer-Policy": "same-origin",  # reset links carry a secret in their path
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}

#: One year; no includeSubDomains: the association's other sites may not all be on HTTPS.
HSTS = "max-age=31536000"

#: Every page under these prefixes shows someone's data (or an API answer): never cached.
PRIVATE_PREFIXES = ("/coordination", "/api/")


#: Twilio's webhooks are exempt: the SMS code cleans message bodies itself and must always answer.
NUL_EXEMPT_PREFIXES = ("/sms/", "/static/")


#: The largest id an ``integer`` column holds (PostgreSQL; SQLite is told the same).
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """``<int:…>`` in URLs, bounded by MAX_ID: a larger number is a 404, not a database error."""

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: int | None = None,
        max: int | None = None,
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits, min, MAX_ID if max is None else max, signed)


#: No request body of the API nests deeper than 3; anything past this is refused as unreadable.
MAX_JSON_DEPTH = 32


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, except that a body nested deeper than MAX_JSON_DEPTH is malformed.

    ``[`` × 500,000 made the parser raise RecursionError (a 500): as a ValueError, it is
    the 400 of any malformed body, and code walking a parsed body never recurses far.
    """

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            data = super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deep") from None
        if _nesting_exceeds(data, MAX_JSON_DEPTH):
            raise ValueError("JSON nested too deep")
        return data


def _nesting_exceeds(data: Any, limit: int) -> bool:
    """Whether ``data`` has lists or objects nested more than ``limit`` deep (no recursion)."""
    pending = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict | list):
            if depth > limit:
                return True
            items = value.values() if isinstance(value, dict) else value
            pending.extend((item, depth + 1) for item in items)
    return False


def register_security(app: Flask) -> None:
    """Headers on every response (error pages and static files included); NUL refused.

    Runs before the blueprints are registered: their ``<int:…>`` rules take IdConverter.
    """
    app.json = BoundedJSONProvider(app)
    app.url_map.converters["int"] = IdConverter
    app.before_request(refuse_nul_characters)
    app.after_request(add_security_headers)


def refuse_nul_characters() -> None:
    """400 for a NUL character anywhere in the path, query, form or JSON body.

    Nobody types one, and PostgreSQL cannot store one in a text column: without this
    check it would surface as a 500 from whichever service saved the field.
    """
    if request.path.startswith(NUL_EXEMPT_PREFIXES):
        return
    values: list[Any] = [request.path, *request.args.lists()]
    if request.method in {"POST", "PUT", "PATCH", "DELETE"}:
        if request.is_json:
            values.append(request.get_json(silent=True))
        else:
            values += request.form.lists()
    if any(_has_nul(value) for value in values):
        abort(400)


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list | tuple):  # a JSON array, or a (name, values) pair of a form
        return any(_has_nul(item) for item in value)
    return False


def add_security_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    # request.is_secure honours X-Forwarded-Proto only behind PROXY_FIX_HOPS trusted proxies,
    # so a client cannot switch HSTS on over plain HTTP (where browsers ignore it anyway).
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    if _private():
        response.headers["Cache-Control"] = "no-store"
    return response


def _private() -> bool:
    """Dashboard and API always; the drivers' space once someone is logged in."""
    path = request.path
    if path.startswith(PRIVATE_PREFIXES):
        return True
    return path.startswith("/conducteurs") and "user_id" in session
