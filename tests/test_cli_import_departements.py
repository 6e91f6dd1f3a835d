"""``carpool import-communes --departements``: chosen départements, one French line on bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CARPOOL = str(Path(sys.executable).with_name("carpool"))


@pytest.fixture(scope="module")
def own_url(database_factory) -> str:  # type: ignore[no-untyped-def]
    from support.dbkit import migrated_database

    return migrated_database(database_factory)


def carpool(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run([CARPOOL, *args], capture_output=True, text=True, env=env, timeout=300, check=False)


def test_importing_two_departements_twice_adds_them_once(own_url):
    first = carpool(own_url, "import-communes", "--departements", "23,87")
    second = carpool(own_url, "import-communes", "--departements", "87,23")

    assert first.returncode == 0, first.stderr
    assert "ajoutées, 0 mises à jour, 0 inchangées" in first.stdout
    assert second.stdout.startswith("communes : 0 ajoutées, 0 mises à jour, ")


def test_an_unknown_departement_is_one_french_line_and_exit_1(own_url):
    result = carpool(own_url, "import-communes", "--departements", "29,99")

    assert result.returncode == 1
    assert result.stderr == "erreur : département inconnu : « 99 »\n"
    after = carpool(own_url, "import-communes", "--departements", "29")
    assert after.stdout.startswith("communes : 277 ajoutées")  # none of Finistère's came in before


def test_two_sources_at_once_are_refused(own_url):
    result = carpool(own_url, "import-communes", "--all", "--departements", "23")

    assert result.returncode == 1
    assert result.stderr.startswith("erreur : choisissez une seule option")
