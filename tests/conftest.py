"""Shared fixtures. Qt runs offscreen; servers run on loopback and stop by their own PID."""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# ui.language defaults to the system's: the suite speaks English whatever this machine's
# locale (tests that check Spanish choose it themselves)
os.environ["LANGUAGE"] = "en"
# no test reads this machine's organisation file (/etc/faro/organisation.toml); tests of the
# organisation layer name their own
os.environ["FARO_ORGANISATION_FILE"] = "/nonexistent/faro-tests/organisation.toml"
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402

from core.clock import FakeClock  # noqa: E402
from core.config import Config  # noqa: E402
from core.paths import Paths  # noqa: E402

ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture
def artifacts_dir(request: pytest.FixtureRequest) -> Path:
    """Where a test saves files a person may want to look at (screenshots)."""
    d = ARTIFACTS / request.node.name
    d.mkdir(parents=True, exist_ok=True)
    return d


@pytest.fixture
def faro_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private profile: config, data and logs under tmp, never the user's real ones."""
    home = tmp_path / "faro-home"
    monkeypatch.setenv("FARO_HOME", str(home))
    Paths.under(home).ensure()
    return home


@pytest.fixture
def paths(faro_home: Path) -> Paths:
    return Paths.under(faro_home)


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def bus():
    from core.events import EventBus

    return EventBus()


@pytest.fixture
def recorder(bus):
    """Every event published on ``bus`` (tests/support/toolkit.py)."""
    from tests.support.toolkit import Recorder

    return Recorder(bus)


@pytest.fixture
def config() -> Config:
    """All defaults: tests never read a real configuration file."""
    return Config.defaults()


@pytest.fixture
def pty_pair():
    from tests.support.pty_pair import PtyPair

    pair = PtyPair()
    yield pair
    pair.close()


@pytest.fixture
def mosquitto(tmp_path: Path):
    from tests.support.mosquitto import Mosquitto

    broker = Mosquitto(tmp_path / "mosquitto").start()
    yield broker
    broker.stop()


@pytest.fixture
def pulse_server(tmp_path_factory: pytest.TempPathFactory):
    """A private PulseAudio with a null sink; PortAudio in this process points at it."""
    # short path: unix socket paths are limited to 108 bytes
    import tempfile

    from tests.support.pulse import PulseServer, refresh_portaudio

    runtime = Path(tempfile.mkdtemp(prefix="faro-pa-"))
    server = PulseServer(runtime).start()
    server.apply_env()
    yield server
    server.restore_env()
    server.stop()
    refresh_portaudio()


@pytest.fixture
def audio_session(paths: Paths, fake_clock: FakeClock):
    """A session with only the calls and the (simulated) audio services."""
    from app.session import Session
    from audio import service
    from core.config import Config

    s = Session(
        Config({"calls.backend": "simulated", "audio.source": "simulated"}),
        paths=paths,
        clock=fake_clock,
        attach=False,
    )
    service.attach(s)
    yield s
    s.stop()
