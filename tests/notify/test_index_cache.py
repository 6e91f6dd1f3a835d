"""The SMS parser's place index is cached once and read back at the next start, also when the
package folder is read-only (then in the user's cache folder); a stale or corrupt cache file
is never used."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import carpool
from carpool.notify import places

CHILD = (
    "import carpool; from carpool.notify.places import load_default_index as load; r = load(); "
    "print(carpool.__file__); print(r.read_from or '-'); print(r.written_to or '-')"
)


def read_only(tree: Path) -> None:
    for path in [tree, *tree.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def writable(tree: Path) -> None:
    for path in [tree, *tree.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)


def as_unprivileged() -> list[str]:
    """Root writes through chmod: run the child in a user namespace where it cannot."""
    if os.geteuid() != 0:
        return []
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-U", "true"], check=False).returncode:
        pytest.skip("root without user namespaces: a chmod cannot stop this process writing")
    return ["unshare", "-U"]


@pytest.fixture
def read_only_install(tmp_path: Path):
    """A copy of the package, without its cache, with every write bit removed."""
    site = tmp_path / "site"
    shutil.copytree(
        Path(carpool.__file__).parent, site / "carpool", ignore=shutil.ignore_patterns("__pycache__")
    )
    read_only(site)
    yield site
    writable(site)


def start(site: Path, cache_home: Path) -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(site), "XDG_CACHE_HOME": str(cache_home)}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    result = subprocess.run(
        [*as_unprivileged(), sys.executable, "-c", CHILD],
        capture_output=True,
        text=True,
        env=env,
        cwd=site,  # not the checkout: `-c` puts the working folder first on sys.path
        timeout=120,
        check=True,
    )
    return result.stdout.splitlines()


def test_a_read_only_install_reads_its_cache_at_the_second_start(read_only_install, tmp_path):
    cache_home = tmp_path / "cache"

    module, first_read, first_written = start(read_only_install, cache_home)
    _module, second_read, second_written = start(read_only_install, cache_home)

    assert module.startswith(str(read_only_install))
    assert first_read == "-"
    assert first_written.startswith(str(cache_home / "carpool" / places.INDEX_PREFIX))
    assert (second_read, second_written) == (first_written, "-")
    assert not (read_only_install / "carpool" / "data" / "__pycache__").exists()


@pytest.fixture
def cache_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    package, user = tmp_path / "package-cache", tmp_path / "user-cache"
    monkeypatch.setattr(places, "INDEX_CACHE_DIR", package)
    monkeypatch.setenv("XDG_CACHE_HOME", str(user))
    return package, user / "carpool"


def test_a_corrupt_cache_file_is_ignored_and_rebuilt(cache_dirs):
    package, _user = cache_dirs
    package.mkdir()
    cache = package / places.index_cache_name()
    cache.write_bytes(b"\x80\x05not a pickle at all")

    loaded = places.load_default_index()

    assert loaded.read_from is None and loaded.written_to == cache
    assert places.load_default_index().read_from == cache  # the rebuilt file loads


def test_a_truncated_cache_file_is_ignored(cache_dirs):
    written = places.load_default_index().written_to
    assert written is not None
    written.write_bytes(written.read_bytes()[:1000])

    assert places.load_default_index().read_from is None


def test_the_cache_name_follows_the_data_content_not_its_date(tmp_path, monkeypatch):
    same_size_and_date = []
    for content in (b"name,kind\nA,x\n", b"name,kind\nB,x\n"):
        path = tmp_path / f"places-{len(same_size_and_date)}.csv"
        path.write_bytes(content)
        os.utime(path, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
        same_size_and_date.append(path)
    names = []
    for path in same_size_and_date:
        monkeypatch.setattr(places, "PLACES_CSV", path)
        names.append(places.index_cache_name())

    assert names[0] != names[1]


def test_a_stale_cache_file_is_removed_when_the_new_one_is_written(cache_dirs):
    package, _user = cache_dirs
    package.mkdir()
    stale = package / f"{places.INDEX_PREFIX}0000000000000000.pickle"
    stale.write_bytes(b"old")

    places.load_default_index()

    assert not stale.exists()
