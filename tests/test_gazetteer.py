"""The shipped gazetteer: complete, valid, and strict about malformed rows."""

from __future__ import annotations

import shutil
from collections import Counter

import pytest

from carpool.gazetteer import COMMUNES_CSV, GazetteerError, read_communes, read_places, read_postcodes


def test_gazetteer_holds_every_commune_of_lot_and_val_d_oise():
    communes = read_communes()

    assert Counter(c.insee[:2] for c in communes) == {"46": 312, "95": 183}


def test_cahors_is_where_it_should_be():
    cahors = next(c for c in read_communes() if c.insee == "46042")

    assert (cahors.name, cahors.postcode) == ("Cahors", "46000")
    assert cahors.lat == pytest.approx(44.447, abs=0.01)
    assert cahors.lon == pytest.approx(1.441, abs=0.01)


def test_postcodes_list_every_code_of_communes_with_several():
    assert len(read_postcodes()["46232"]) == 2


def test_named_places_sit_in_known_communes():
    known = {c.insee for c in read_communes()}

    assert {p.insee for p in read_places()} <= known


@pytest.mark.parametrize(
    ("bad_line", "reason"),
    [
        ("46999,Nulle-Part,46000,abc,1.4,10", "lat n'est pas un nombre"),
        ("46999,Nulle-Part,46000,95.5,1.4,10", "lat hors limites"),
        ("4699,Nulle-Part,46000,44.5,1.4,10", "code INSEE invalide"),
        ("46042,Cahors bis,46000,44.5,1.4,10", "en double"),
        ("46999,Nulle-Part,4600,44.5,1.4,10", "code postal invalide"),
        ("46999,Nulle-Part,46000,44.5,1.4", "nombre de colonnes"),
        ("46999,,46000,44.5,1.4,10", "nom vide"),
    ],
)
def test_a_malformed_row_names_file_line_and_reason(tmp_path, bad_line, reason):
    path = tmp_path / "communes.csv"
    shutil.copy(COMMUNES_CSV, path)
    with path.open("a") as handle:
        handle.write(bad_line + "\n")

    with pytest.raises(GazetteerError) as error:
        read_communes(path)

    assert error.value.line == 497
    assert reason in str(error.value)
    assert "communes.csv" in str(error.value)
