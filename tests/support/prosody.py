"""A real Prosody (Debian's 0.12) on 127.0.0.1 with free ports, configured by
:func:`chat.server.prosody_config` (what ships), stopped by its own PID; it dies with the test
process even on SIGKILL (core.children). Accounts are made with ``prosodyctl register``.

    with Prosody(tmp_path / "prosody", {"c-alba": "pw"}) as server:
        server.c2s_port, server.https_port, server.component_port, server.secret
        server.restart()   # same ports, same data (a server restart mid-conversation)
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import time
from pathlib import Path
from types import TracebackType

from chat.server import ServerSettings, prosody_config
from core import children
from tests.support.ports import free_port, wait_listening
from tests.support.sip_certs import CertFiles, make_certs

DOMAIN = "helpline.localhost"


def available() -> bool:
    return shutil.which("prosody") is not None and shutil.which("prosodyctl") is not None


class Prosody:
    def __init__(
        self,
        workdir: Path,
        users: dict[str, str] | None = None,
        *,
        domain: str = DOMAIN,
        widget_dir: Path | None = None,
        **settings: object,
    ) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.domain = domain
        self.users = dict(users or {})
        names = (domain, f"guest.{domain}", f"router.{domain}", "localhost", "127.0.0.1")
        self.certs: CertFiles = make_certs(self.workdir / "certs", names=names)
        self.secret = secrets.token_urlsafe(16)
        self.c2s_port = free_port()
        self.https_port = free_port()
        self.component_port = free_port()
        self.settings = ServerSettings(
            domain=domain,
            cert_file=self.certs.cert,
            key_file=self.certs.key,
            data_dir=self.workdir / "data",
            log_file=self.workdir / "prosody.log",
            pid_file=self.workdir / "prosody.pid",
            interface="127.0.0.1",
            c2s_port=self.c2s_port,
            https_port=self.https_port,
            component_port=self.component_port,
            component_secret=self.secret,
            run_as_root=True,
            widget_dir=widget_dir,
            **settings,  # type: ignore[arg-type]
        )
        self.config = self.workdir / "prosody.cfg.lua"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def ca(self) -> Path:
        return self.certs.ca

    @property
    def websocket_url(self) -> str:
        return f"wss://{self.domain}:{self.https_port}/xmpp-websocket"

    def log(self) -> str:
        path = self.settings.log_file
        return path.read_text(errors="replace") if path and path.exists() else ""

    def start(self) -> Prosody:
        (self.workdir / "data").mkdir(exist_ok=True)
        self.config.write_text(prosody_config(self.settings))
        for user, password in self.users.items():
            self.register(user, password)
        self.proc = children.spawn(
            ["prosody", "--config", str(self.config), "-F"],
            stdout=subprocess.DEVNULL,
            stderr=open(self.workdir / "stderr.log", "ab"),  # noqa: SIM115
            cwd=self.workdir,
        )
        for port in (self.c2s_port, self.https_port, self.component_port):
            try:
                wait_listening(port, timeout=15)
            except Exception as exc:
                self.stop()
                raise RuntimeError(f"Prosody did not start: {self.log()[-2000:]}") from exc
        return self

    def register(self, user: str, password: str) -> None:
        self.users[user] = password
        subprocess.run(
            ["prosodyctl", "--config", str(self.config), "register", user, self.domain, password],
            check=True,
            capture_output=True,
            timeout=30,
        )

    def stop(self) -> None:
        if self.proc is not None:
            children.stop(self.proc)
            self.proc = None

    def restart(self, down_s: float = 0.0) -> None:
        self.stop()
        time.sleep(down_s)
        self.start()

    def __enter__(self) -> Prosody:
        return self.start()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
