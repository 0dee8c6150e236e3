"""Fixtures of the case store tests: fast Argon2 (still 64 MiB), a FakeClock, real files.
The ``bus`` and ``recorder`` fixtures are the shared ones (tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import Config
from tests.support.storage_helpers import FAST, PASS


@pytest.fixture
def store_config() -> Config:
    return Config(dict(FAST))


@pytest.fixture
def data_dir(paths) -> Path:
    return paths.data_dir


@pytest.fixture
def make_service(store_config, fake_clock, bus, data_dir):
    from storage.service import StoreService

    made = []

    def make(config: Config | None = None, directory: Path | None = None, clock=None, bus_=None):
        svc = StoreService(
            config or store_config, clock or fake_clock, bus_ or bus, directory or data_dir
        )
        made.append(svc)
        return svc

    yield make
    for svc in made:
        svc.stop()


@pytest.fixture
def store(make_service):
    """An initialised, unlocked store."""
    svc = make_service()
    svc.init(PASS)
    return svc


@pytest.fixture
def small_disk(tmp_path):
    """A 16 MiB tmpfs that the test can fill to ENOSPC (unmounted afterwards)."""
    from tests.support.storage_disk import MountImpossible, SmallDisk

    disk = SmallDisk(tmp_path / "small")
    try:
        disk.mount()
    except MountImpossible as exc:
        pytest.skip(f"no small disk to fill: {exc}")
    yield disk
    disk.unmount()
