"""A real Mosquitto broker on a free loopback port, from a generated config, stopped by PID."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from core import children
from tests.support.ports import free_port, wait_listening


class Mosquitto:
    def __init__(
        self,
        workdir: Path,
        extra_config: str = "",
        port: int | None = None,
        autosave_interval: int = 1,
    ) -> None:
        self.binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.extra_config = extra_config
        self.autosave_interval = autosave_interval
        self.proc: subprocess.Popen[bytes] | None = None
        self.conf = self.workdir / "mosquitto.conf"
        self.log = self.workdir / "mosquitto.log"

    def write_config(self) -> None:
        user = "root" if os.geteuid() == 0 else os.environ.get("USER", "")
        lines = [
            f"listener {self.port} 127.0.0.1",
            "persistence true",
            f"persistence_location {self.workdir}/",
            f"autosave_interval {self.autosave_interval}",
            f"log_dest file {self.log}",
            "log_type all",
        ]
        if self.extra_config:
            lines.append(self.extra_config)
        else:
            lines.append("allow_anonymous true")
        if user:
            lines.append(f"user {user}")
        self.conf.write_text("\n".join(lines) + "\n")

    def start(self) -> Mosquitto:
        if not os.path.exists(self.binary):
            raise RuntimeError("mosquitto is not installed (apt-get install mosquitto)")
        self.write_config()
        self.proc = children.spawn(  # dies with the test run, even on SIGKILL
            [self.binary, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            wait_listening(self.port, 10)
        except TimeoutError:
            self.stop()
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"mosquitto did not start: {log}") from None
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def kill(self) -> None:
        """SIGKILL: the broker dies without saving (tests of persistence and reconnect)."""
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)

    def stop(self) -> None:
        if self.proc:
            children.stop(self.proc)
        if self.proc and self.proc.stderr:
            self.proc.stderr.close()

    def restart(self) -> None:
        self.stop()
        time.sleep(0.05)
        self.start()
