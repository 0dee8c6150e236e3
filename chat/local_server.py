"""A chat server on this machine: Debian's Prosody 0.12 on 127.0.0.1 with free ports, configured
with the very text Faro ships (:func:`chat.server.prosody_config`) and a throwaway CA, for
``faro demo`` (and, later, the tests' server in tests/support/prosody.py).

    server = LocalServer(home / "chat", certs).start()  # raises LocalServerError if it cannot
    server.register("demo-counselor", password)       # prosodyctl register
    server.c2s_port, server.component_port, server.secret, server.ca
    server.stop()                                     # by its own PID

Prosody runs as a child of this process (core.children: its own process group, and it dies
with this process even on SIGKILL). Everything it keeps (its data folder, the certificates,
its log) is under the folder given, which :meth:`LocalServer.start` clears first: a demo's
chat server keeps nothing from one run to the next. Its certificates come from ``certs``
(the demo's throwaway CA, app/demo_chat.py), thrown away with the folder.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from chat.server import ServerSettings, prosody_config
from core import children
from core.paths import make_private_dir

log = logging.getLogger(__name__)

DOMAIN = "helpline.localhost"
PROSODY, PROSODYCTL = "prosody", "prosodyctl"


class LocalServerError(RuntimeError):
    """Prosody could not be started here (the reason is in the text; no personal data)."""


def available() -> bool:
    """Whether Prosody (``prosody`` and ``prosodyctl``) is installed."""
    return shutil.which(PROSODY) is not None and shutil.which(PROSODYCTL) is not None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


#: makes the server's certificates in a folder for its names: (CA certificate, server
#: certificate, server key); the caller's (app/demo_chat.py uses the escalation link's CA code)
Certs = Callable[[Path, tuple[str, ...]], tuple[Path, Path, Path]]


class LocalServer:
    """Prosody on 127.0.0.1 (c2s, https and the component port free ones), with Faro's
    configuration. Not thread-safe: start and stop it from one thread, the one that should
    outlive it (core.children ties the child to the thread that forks it)."""

    def __init__(
        self,
        workdir: Path,
        certs: Certs,
        *,
        domain: str = DOMAIN,
        widget_dir: Path | None = None,
        start_timeout_s: float = 15.0,
    ) -> None:
        self.workdir = Path(workdir)
        self.certs = certs
        self.domain = domain
        self.widget_dir = widget_dir
        self.start_timeout_s = start_timeout_s
        self.secret = secrets.token_urlsafe(24)
        self.c2s_port = free_port()
        self.https_port = free_port()
        self.component_port = free_port()
        self.config = self.workdir / "prosody.cfg.lua"
        self.ca = self.workdir / "certs" / "ca.pem"
        self.settings: ServerSettings | None = None
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    @property
    def log_file(self) -> Path:
        return self.workdir / "prosody.log"

    def log_tail(self, n: int = 2000) -> str:
        """The end of Prosody's log (info level: Prosody never logs message bodies there)."""
        text = ""
        for path in (self.log_file, self.workdir / "stderr.log"):
            if path.exists():
                text += path.read_text(errors="replace")
        return text[-n:]

    def start(self) -> LocalServer:
        if not available():
            raise LocalServerError("prosody is not installed")
        if self.workdir.exists():
            shutil.rmtree(self.workdir)  # nothing kept from an earlier run
        make_private_dir(self.workdir)
        names = (self.domain, f"guest.{self.domain}", f"router.{self.domain}", "localhost")
        ca, cert, key = self.certs(self.workdir / "certs", names + ("127.0.0.1",))
        self.ca = ca
        data = make_private_dir(self.workdir / "data")
        self.settings = ServerSettings(
            domain=self.domain,
            cert_file=cert,
            key_file=key,
            data_dir=data,
            log_file=self.log_file,
            pid_file=self.workdir / "prosody.pid",
            interface="127.0.0.1",
            c2s_port=self.c2s_port,
            https_port=self.https_port,
            component_port=self.component_port,
            component_secret=self.secret,
            run_as_root=os.geteuid() == 0,
            widget_dir=self.widget_dir,
        )
        fd = os.open(self.config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # the secret
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(prosody_config(self.settings))
        with open(self.workdir / "stderr.log", "ab") as err:
            self.proc = children.spawn(
                [PROSODY, "--config", str(self.config), "-F"],
                stdout=subprocess.DEVNULL,
                stderr=err,
                stdin=subprocess.DEVNULL,
                cwd=self.workdir,
            )
        deadline = time.monotonic() + self.start_timeout_s
        for port in (self.c2s_port, self.https_port, self.component_port):
            while not _listening(port):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    tail = self.log_tail()
                    self.stop()
                    raise LocalServerError(f"Prosody did not start: {tail}")
                time.sleep(0.05)
        log.info("local chat server on 127.0.0.1:%d (pid %d)", self.c2s_port, self.proc.pid)
        return self

    def register(self, user: str, password: str) -> None:
        """Make the account ``user@domain`` with ``password``: ``prosodyctl adduser``, the
        password on its standard input (never on a command line, never in a file of ours)."""
        if any(c in password for c in "\r\n") or not password:
            raise LocalServerError("a password must be one non-empty line")
        line = (password + "\n").encode()
        try:
            subprocess.run(
                [PROSODYCTL, "--config", str(self.config), "adduser", f"{user}@{self.domain}"],
                check=True,
                capture_output=True,
                input=line + line,  # asked twice
                timeout=30,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            err = getattr(exc, "stderr", b"") or b""
            raise LocalServerError(
                f"prosodyctl could not add {user}: {err.decode(errors='replace')[-500:]}"
            ) from None

    def stop(self) -> None:
        if self.proc is not None:
            children.stop(self.proc)
            self.proc = None

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
