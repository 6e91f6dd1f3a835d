"""SQLite on a read-only or full disk: a clear French page, nothing half-saved, back to work after.

The database lives on a small tmpfs of its own (root can mount one: ``make test`` runs
as root for apt-get), so the faults are the real ones: ``mount -o remount,ro`` and a
disk filled to the last byte. Without root, the read-only case falls back to chmod and
the disk-full case is skipped.
"""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from support.dbkit import migrated_database
from support.drivers_kit import OFFER_FORM, log_in
from support.factories import add_association, add_driver_account

from carpool.app import MESSAGES
from carpool.db import Database
from carpool.models import Offer

pytestmark = pytest.mark.skipif(
    os.environ.get("CARPOOL_TEST_BACKEND", "sqlite") != "sqlite", reason="SQLite files only"
)

OFFER = OFFER_FORM
ATTEMPTS = 5


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path | None]:
    """A 32 MB tmpfs of our own, or None when this user cannot mount one."""
    target = tmp_path / "disk"
    target.mkdir()
    if (
        os.geteuid() != 0
        or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(target)], capture_output=True, check=False
        ).returncode
    ):
        yield None
        return
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], check=False)


class Site:
    """A migrated database in ``directory``, the web app on it and a logged-in driver."""

    def __init__(self, directory: Path, clock) -> None:  # type: ignore[no-untyped-def]
        self.directory = directory
        self.path = directory / "carpool.db"
        url = migrated_database(_FileFactory(f"sqlite:///{self.path}"))
        self.db = Database(url)
        with self.db.sessionmaker() as session:
            user = add_driver_account(session, add_association(session), clock)
        from carpool import create_app

        app = create_app({"DATABASE": self.db, "CLOCK": clock, "SECRET_KEY": "t", "WTF_CSRF_ENABLED": False})
        self.client = app.test_client()
        log_in(self.client, user)

    def offer_a_ride(self):  # type: ignore[no-untyped-def]
        return self.client.post("/conducteurs/trajets/nouveau", data=OFFER)

    def offers(self) -> int:
        with self.db.session() as session:
            return int(session.scalar(sa.select(sa.func.count()).select_from(Offer)) or 0)

    def integrity(self) -> str:
        raw = self.db.engine.raw_connection()
        try:
            return str(raw.driver_connection.execute("PRAGMA integrity_check").fetchone()[0])
        finally:
            raw.close()


class _FileFactory:
    def __init__(self, url: str) -> None:
        self.url = url

    def create(self) -> str:
        return self.url


def assert_clear_page(response, status: int = 503) -> None:  # type: ignore[no-untyped-def]
    page = response.get_data(as_text=True)
    assert response.status_code == status, page[-300:]
    assert "momentanément indisponible" in page and MESSAGES[503].split(";")[0] in page
    assert "Traceback" not in page and "sqlite" not in page.lower()


@contextmanager
def read_only(site: Site, mounted: bool) -> Iterator[None]:
    """The disk goes read-only under the app (its pool is closed first, as a restart would)."""
    site.db.dispose()
    if mounted:
        subprocess.run(["mount", "-o", "remount,ro", str(site.directory)], check=True)
    else:
        for path in site.directory.iterdir():
            path.chmod(0o444)
        site.directory.chmod(0o555)
    try:
        yield
    finally:
        if mounted:
            subprocess.run(["mount", "-o", "remount,rw", str(site.directory)], check=True)
        else:
            site.directory.chmod(0o755)
            for path in site.directory.iterdir():
                path.chmod(0o644)


@contextmanager
def full(site: Site) -> Iterator[None]:
    """Fill the disk to the last byte; the WAL is emptied first so any write needs new space."""
    raw = site.db.engine.raw_connection()
    raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw.close()
    filler = site.directory / "filler"
    with open(filler, "wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    try:
        yield
    finally:
        filler.unlink()


def test_a_read_only_disk_shows_a_clear_page_and_loses_nothing(tmp_path, disk, clock):
    site = Site(disk or tmp_path, clock)
    if disk is None and os.geteuid() == 0:
        pytest.skip("root ignores chmod and cannot mount a tmpfs here")
    assert site.offer_a_ride().status_code == 303

    with read_only(site, mounted=disk is not None):
        tried = [site.offer_a_ride() for _ in range(ATTEMPTS)] + [site.client.get("/conducteurs/")]
        for response in tried:
            assert_clear_page(response)
        assert site.client.get("/healthz").status_code == 503

    assert site.offer_a_ride().status_code == 303
    print(f"\n[read-only disk] {len(tried)} requests refused with 503, offers={site.offers()} (expected 2)")
    assert (site.offers(), site.integrity()) == (2, "ok")
    site.db.dispose()


def test_a_full_disk_refuses_writes_clearly_keeps_reading_and_loses_nothing(disk, clock):
    if disk is None:
        pytest.skip("needs root to mount a small tmpfs")
    site = Site(disk, clock)
    assert site.offer_a_ride().status_code == 303

    with full(site):
        refused = [site.offer_a_ride() for _ in range(ATTEMPTS)]
        for response in refused:
            assert_clear_page(response)
        assert site.client.get("/conducteurs/").status_code == 200
        assert site.client.get("/healthz").status_code == 200
        assert site.offers() == 1

    assert site.offer_a_ride().status_code == 303
    print(f"\n[full disk] {len(refused)} writes refused (503), reads ok, offers={site.offers()} (expected 2)")
    assert (site.offers(), site.integrity()) == (2, "ok")
    site.db.dispose()
