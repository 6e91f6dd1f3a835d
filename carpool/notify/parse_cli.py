"""``carpool sms parse``: one SMS per input line, one JSON object per output line.

Why a plain function of streams: the click command in ``carpool.cli`` only
opens the streams and passes the options, so this stays testable without
click and without the web stack.
"""

from __future__ import annotations

import json
from datetime import date
from typing import TextIO

from carpool.notify.parse import parse_message
from carpool.notify.places import default_gazetteer


def main(stdin: TextIO, stdout: TextIO, today: date, home_insee: str | None) -> int:
    """Parse every line of ``stdin`` (empty lines too, so output line N answers input line N)."""
    gazetteer = default_gazetteer()
    if home_insee is not None and home_insee not in gazetteer.names:
        home_insee = None  # an unknown commune must not demote a real destination
    for line in stdin:
        text = line.rstrip("\r\n")
        parsed = parse_message(text, today, home_insee, gazetteer)
        stdout.write(json.dumps(parsed.to_dict(), ensure_ascii=False) + "\n")
    stdout.flush()
    return 0
