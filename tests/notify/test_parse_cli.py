"""The stream-to-stream function behind ``carpool sms parse``."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import date

from carpool.notify.parse_cli import main


def _run(text: str, home: str | None = None) -> list[dict[str, object]]:
    out = io.StringIO()
    assert main(io.StringIO(text), out, date(2026, 11, 23), home) == 0
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_one_json_object_per_input_line() -> None:
    rows = _run("Bjr c Mme Delpech jai rdv a lhopital de cahors mardi a 10h\noui merci\n\nSTOP\n")
    assert [r["intent"] for r in rows] == ["request", "accept", "unknown", "stop"]
    first = rows[0]
    assert (first["destination"], first["date"], first["arrive_by"]) == ("46042", "2026-11-24", "10:00")
    required = {
        "intent",
        "destination",
        "origin",
        "date",
        "arrive_by",
        "depart_after",
        "return_time",
        "passengers",
        "recurrence",
    }
    assert all(required <= set(r) for r in rows)


def test_windows_line_endings_and_no_final_newline() -> None:
    rows = _run("oui\r\nnon")
    assert [r["intent"] for r in rows] == ["accept", "decline"]


def test_home_commune_is_used_and_unknown_home_ignored() -> None:
    text = "c'est Mme Pons à Gramat, rdv à Cahors mardi\n"
    assert _run(text, "46128")[0]["destination"] == "46042"
    assert _run(text, "00000")[0]["destination"] in {"46042", "46128"}


def test_output_is_utf8_json_not_escaped() -> None:
    out = io.StringIO()
    main(io.StringIO("rdv à l'hôpital de Gramat\n"), out, date(2026, 11, 23), None)
    assert "Hôpital de Gramat" in out.getvalue()


def test_recurrence_is_null_or_weekdays_every_weeks_until() -> None:
    rows = _run("lundi mercredi vendredi 8h dialyse à Figeac retour 12h30 jusqu'au 18/12\nrdv mardi 10h\n")
    assert rows[0]["recurrence"] == {"weekdays": [0, 2, 4], "every_weeks": 1, "until": "2026-12-18"}
    assert (rows[0]["date"], rows[0]["arrive_by"], rows[0]["return_time"]) == ("2026-11-25", "08:00", "12:30")
    assert rows[1]["recurrence"] is None


def test_sms_layer_imports_no_web_stack() -> None:
    code = (
        "import sys\n"
        "import carpool.notify.parse, carpool.notify.parse_cli, carpool.notify.gsm\n"
        "import carpool.notify.frdates, carpool.notify.places, carpool.notify.recurrence\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'sqlalchemy', 'twilio')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
