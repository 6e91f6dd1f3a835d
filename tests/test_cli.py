"""The carpool command: import, demo data, and one-line errors."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from support.factories import TEST_BOX

from carpool.gazetteer import COMMUNES_CSV
from carpool.models import (
    Association,
    AuditEvent,
    Commune,
    CommuneEligibility,
    Driver,
    InboundMessage,
    Match,
    MatchStatus,
    Offer,
    OutboundMessage,
    Request,
    RequestStatus,
    Resident,
    SmsCounter,
    UserAccount,
    VoiceCall,
    VoiceMessage,
)
from carpool.services import desk
from carpool.services.accounts import verify_password
from carpool.services.demo import DEMO_PASSWORD, HORIZON_DAYS, seed_demo

CARPOOL = str(Path(sys.executable).with_name("carpool"))


def carpool(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run([CARPOOL, *args], capture_output=True, text=True, env=env, timeout=120, check=False)


def test_import_communes_twice_changes_nothing_the_second_time(database_url, db):
    result = carpool(database_url, "import-communes")

    assert result.returncode == 0, result.stderr
    assert "0 ajoutées, 0 mises à jour, 495 inchangées" in result.stdout


def test_import_communes_updates_a_changed_row(database_url, db, tmp_path):
    path = tmp_path / "communes.csv"
    path.write_text(
        COMMUNES_CSV.read_text().replace(
            "46042,Cahors,46000,44.44683,1.44062,20050", "46042,Cahors,46000,44.44683,1.44062,20100"
        )
    )
    try:
        result = carpool(database_url, "import-communes", "--file", str(path))
        assert result.returncode == 0, result.stderr
        assert "1 mises à jour" in result.stdout
        with db.session() as session:
            assert session.get(Commune, "46042").population == 20100
    finally:
        carpool(database_url, "import-communes")


def test_a_malformed_file_imports_nothing_and_says_where(database_url, db, tmp_path):
    path = tmp_path / "communes.csv"
    shutil.copy(COMMUNES_CSV, path)
    text = path.read_text().replace(
        "46042,Cahors,46000,44.44683,1.44062,20050", "46042,Cahors,46000,44.44683,1.44062,99999"
    )
    path.write_text(text + "46999,Nulle-Part,46000,not-a-lat,1.4,10\n")

    result = carpool(database_url, "import-communes", "--file", str(path))

    assert result.returncode == 1
    assert result.stderr.strip() == "erreur : communes.csv, ligne 497 : lat n'est pas un nombre : 'not-a-lat'"
    with db.session() as session:
        assert session.get(Commune, "46042").population == 20050
        assert session.get(Commune, "46999") is None


def test_seed_demo_builds_a_realistic_association_and_prints_the_logins(database_url, db):
    result = carpool(database_url, "seed-demo", "--seed", "7")

    assert result.returncode == 0, result.stderr
    assert "coord@demo.test / mot de passe demo1234" in result.stdout
    assert "driver@demo.test / mot de passe demo1234" in result.stdout
    assert "clé TOTP COVOITURAGEDEMOLOTCAHORSFIGEAC23" in result.stdout  # the admin's second factor
    assert "coord95@demo.test / mot de passe demo1234" in result.stdout
    with db.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Driver)) == 20 + 12
        assert session.scalar(sa.select(sa.func.count()).select_from(Resident)) == 60 + 40
        assert session.scalar(sa.select(sa.func.count()).select_from(Offer)) >= 20
        assert session.scalar(sa.select(sa.func.count()).select_from(Request)) >= 30


def test_seed_demo_is_deterministic(db, clock):
    def snapshot() -> list[tuple[str, str, str]]:
        with db.session() as session:
            seed_demo(session, TEST_BOX, seed=3, clock=clock)
        with db.session() as session:
            rows = session.execute(
                sa.select(Resident.first_name, Resident.last_name, Resident.home_commune_insee).order_by(
                    Resident.id
                )
            ).all()
            for model in (VoiceMessage, VoiceCall, OutboundMessage, SmsCounter, UserAccount):
                session.execute(sa.delete(model))  # the demo's phone history first: it names the coordinator
            for model in (
                InboundMessage,
                Match,
                Request,
                Offer,
                Resident,
                Driver,
                AuditEvent,
                CommuneEligibility,
                Association,
            ):
                session.execute(sa.delete(model))
        return [tuple(r) for r in rows]

    assert snapshot() == snapshot()


def test_seed_demo_runs_once(db, clock):
    with db.session() as session:
        seed_demo(session, TEST_BOX, clock=clock)
    with db.session() as session:
        assert seed_demo(session, TEST_BOX, clock=clock).already_seeded
        assert session.scalar(sa.select(sa.func.count()).select_from(Association)) == 2


def test_demo_logins_use_argon2id_hashes(db, clock):
    with db.session() as session:
        seed_demo(session, TEST_BOX, clock=clock)
    with db.session() as session:
        accounts = session.scalars(sa.select(UserAccount)).all()
        assert {a.email for a in accounts} == {"coord@demo.test", "driver@demo.test", "coord95@demo.test"}
        for account in accounts:
            assert account.password_hash.startswith("$argon2id$")
            assert verify_password(account.password_hash, DEMO_PASSWORD)
            assert not verify_password(account.password_hash, "wrong")


def test_demo_open_requests_lie_in_the_next_fourteen_days_in_their_associations_departement(db, clock):
    with db.session() as session:
        seed_demo(session, TEST_BOX, clock=clock)
    with db.session() as session:
        served = dict(session.execute(sa.select(Association.id, Association.departements)).all())
        requests = session.scalars(sa.select(Request).where(Request.status == RequestStatus.OPEN)).all()
        assert all(clock.now() < r.latest <= clock.now() + timedelta(days=HORIZON_DAYS + 1) for r in requests)
        assert sorted(served.values()) == ["46", "95"]
        assert all(r.pickup_commune_insee.startswith(served[r.association_id]) for r in requests)
        assert all(r.dropoff_commune_insee.startswith(served[r.association_id]) for r in requests)
        medical = sum(r.purpose.value == "medical" for r in requests)
        assert 0.4 < medical / len(requests) < 0.85


def test_demo_history_gives_the_dashboard_done_and_unmet_rides_and_the_coming_week(db, clock):
    with db.session() as session:
        seed_demo(session, TEST_BOX, clock=clock)
    with db.session() as session:
        done = session.scalars(sa.select(Match).where(Match.status == MatchStatus.COMPLETED)).all()
        unmet = session.scalars(sa.select(Request).where(Request.status == RequestStatus.EXPIRED)).all()
        coming = session.scalars(sa.select(Match).where(Match.status == MatchStatus.CONFIRMED)).all()
        assert len(done) > 100 and len(unmet) > 10 and coming
        assert all(m.pickup_at < clock.now() for m in done)
        assert all(r.unmatched_reason for r in unmet)
        assert all(
            clock.now() - timedelta(days=1) < m.pickup_at < clock.now() + timedelta(days=8) for m in coming
        )


def test_demo_has_a_few_texts_waiting_for_a_coordinator(db, clock):
    with db.session() as session:
        seed_demo(session, TEST_BOX, clock=clock)
    with db.session() as session:
        for association_id in session.scalars(sa.select(Association.id)):
            waiting = desk.messages_to_handle(session, association_id)
            assert waiting.total == 3
            assert {m.reason for m in waiting.shown} == {
                "demande à être rappelé(e)",
                "numéro inconnu",
                "message non compris",
            }


def test_setup_seeds_only_on_the_first_run(fresh_database_url):
    first = carpool(fresh_database_url, "setup")
    second = carpool(fresh_database_url, "setup")

    assert first.returncode == 0, first.stderr
    assert "coord@demo.test" in first.stdout
    assert second.returncode == 0, second.stderr
    assert "coord@demo.test" not in second.stdout
