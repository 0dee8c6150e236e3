"""A private PulseAudio server with a null sink, that sounddevice records from.

PortAudio reaches PulseAudio through ALSA's ``pulse`` plugin (libasound2-plugins), which
follows ``PULSE_SERVER``, ``PULSE_SINK`` and ``PULSE_SOURCE``. Playing into the null sink and
recording its ``.monitor`` source gives a real audio path with no sound card.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from core import children
from core.children import spawn
from tests.support.toolkit import wait_until

SINK = "faro_test"


class PulseServer:
    def __init__(self, runtime_dir: Path, sink: str = SINK) -> None:
        self.runtime_dir = Path(runtime_dir)
        self.sink = sink
        self.socket = self.runtime_dir / "native"
        self.proc: subprocess.Popen[bytes] | None = None
        self.sink_module: int | None = None
        self._saved_env: dict[str, str | None] = {}

    @property
    def server(self) -> str:
        return f"unix:{self.socket}"

    @property
    def monitor(self) -> str:
        return f"{self.sink}.monitor"

    def env(self) -> dict[str, str]:
        return {
            "PULSE_SERVER": self.server,
            "PULSE_SINK": self.sink,
            "PULSE_SOURCE": self.monitor,
            "PULSE_RUNTIME_PATH": str(self.runtime_dir),
        }

    def pactl(self, *args: str) -> str:
        out = subprocess.run(
            ["pactl", "--server", self.server, *args],
            check=True,
            capture_output=True,
            text=True,
            timeout=10,
        )
        return out.stdout

    def start(self) -> PulseServer:
        binary = shutil.which("pulseaudio")
        if not binary:
            raise RuntimeError("pulseaudio is not installed (apt-get install pulseaudio)")
        self.runtime_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        env = dict(os.environ, PULSE_RUNTIME_PATH=str(self.runtime_dir), HOME=str(self.runtime_dir))
        self.proc = spawn(  # dies with the test run, even on SIGKILL
            [
                binary,
                "-n",
                "--daemonize=no",
                "--exit-idle-time=-1",
                "--disable-shm=yes",
                "--use-pid-file=no",
                "--log-target=stderr",
                "--log-level=error",
                "-L",
                f"module-native-protocol-unix socket={self.socket} auth-anonymous=1",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        proc = self.proc

        def ready() -> bool:
            if proc.poll() is not None:
                raise RuntimeError("pulseaudio exited at start")
            if not self.socket.exists():
                return False
            try:
                self.pactl("info")
                return True
            except subprocess.CalledProcessError:
                return False

        try:
            wait_until(ready, 10, "pulseaudio answering", step=0.05)
        except AssertionError:
            self.stop()
            raise RuntimeError("pulseaudio did not start") from None
        self.add_sink()
        return self

    def add_sink(self) -> None:
        self.sink_module = int(
            self.pactl(
                "load-module",
                "module-null-sink",
                f"sink_name={self.sink}",
                "rate=48000",
                "channels=2",
            ).strip()
        )
        self.pactl("set-default-sink", self.sink)
        self.pactl("set-default-source", self.monitor)

    def remove_sink(self) -> None:
        """Unload the sink, as if the headset were unplugged."""
        if self.sink_module is not None:
            self.pactl("unload-module", str(self.sink_module))
            self.sink_module = None

    def apply_env(self) -> None:
        """Point this process (and PortAudio) at this server."""
        for k, v in self.env().items():
            self._saved_env.setdefault(k, os.environ.get(k))
            os.environ[k] = v
        refresh_portaudio()

    def restore_env(self) -> None:
        for k, v in self._saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        self._saved_env.clear()

    def stop(self) -> None:
        if self.proc:
            children.stop(self.proc)


def refresh_portaudio() -> None:
    """Make PortAudio enumerate devices again (it caches them at initialisation)."""
    import sounddevice as sd

    from audio.devices import PORTAUDIO_LOCK

    with PORTAUDIO_LOCK:  # never while a stream is being opened, started or closed
        sd._terminate()
        sd._initialize()
