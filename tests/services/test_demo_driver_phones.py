"""The demo gives its drivers fictional numbers; one already held by a driver stops it in one line.

Drivers' numbers are unique (an index): without this check the insert would fail with a traceback.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from support.factories import TEST_BOX, add_association, add_driver

from carpool.errors import StartupError
from carpool.models import Association, Driver
from carpool.services.demo import seed_demo

LOT_DEMOS_FIRST_DRIVER = "+33639980100"


def test_the_demo_is_not_seeded_over_a_driver_holding_one_of_its_numbers(db, clock):
    with db.session() as session:
        driver = add_driver(session, add_association(session, "Autre association", sms_number=None))
        driver.phone = LOT_DEMOS_FIRST_DRIVER
        session.flush()
        driver_id = driver.id

    refused = rf"conducteurs existants \({driver_id}\) : rien n'a été ajouté"
    with pytest.raises(StartupError, match=refused), db.session() as session:
        seed_demo(session, TEST_BOX, clock=clock)

    with db.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Association)) == 1
        assert session.scalar(sa.select(sa.func.count()).select_from(Driver)) == 1
