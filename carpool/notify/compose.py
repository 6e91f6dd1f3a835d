"""SMS texts: Jinja templates in templates/sms, French dates, kept GSM-7 when meaning survives."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2

from carpool.clock import PARIS
from carpool.notify.frdates import format_day, format_when
from carpool.notify.gsm import fit_sms
from carpool.text import euros

TEMPLATES = Path(__file__).resolve().parent.parent.parent / "templates" / "sms"

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=False,  # noqa: S701 - plain text for SMS, never HTML
    trim_blocks=True,
    lstrip_blocks=True,
    undefined=jinja2.StrictUndefined,
)
_env.filters["when"] = lambda moment: format_when(moment)
_env.filters["day"] = lambda moment: format_day(
    moment.astimezone(PARIS).date() if isinstance(moment, datetime) else moment
)
_env.filters["euros"] = euros
_env.filters["hour"] = lambda moment: format_when(moment).rsplit(" à ", 1)[-1]


def render(name: str, **context: Any) -> str:
    """The text of SMS ``name``, one line per template line, transliterated to GSM-7 if that fits."""
    text = _env.get_template(f"{name}.txt").render(**context)
    lines = [" ".join(line.split()) for line in text.strip().splitlines()]
    return fit_sms("\n".join(line for line in lines if line))
