"""The SIP test rig: Kamailio over TLS on 127.0.0.1, Faro's ``sip`` backend with a real call
machine, and far parties as separate engine processes (:mod:`tests.support.sip_peer`)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from calls.backends.sip import SipBackend
from calls.machine import CallMachine
from calls.model import CallState
from calls.sip.settings import SipCredentials, SipSettings
from core.clock import SystemClock
from core.config import Config
from core.events import EventBus
from tests.support.kamailio import Kamailio
from tests.support.sip_certs import CertFiles, make_certs
from tests.support.sip_peer import SipPeer
from tests.support.toolkit import wait_until

USERS = {
    "counselor": "c0unsel-pw",
    "caller": "caller-pw",
    "caller2": "caller2-pw",
    "sup": "sup-pw",
    "echo": "echo-pw",
}


@dataclasses.dataclass
class Rig:
    workdir: Path
    certs: CertFiles
    proxy: Kamailio

    @property
    def domain(self) -> str:
        return f"localhost:{self.proxy.tls_port}"

    def settings(self, **kw: Any) -> SipSettings:
        base: dict[str, Any] = dict(
            user="counselor",
            domain=self.domain,
            ca_file=str(self.certs.ca),
            listen="127.0.0.1",
            local_port=0,
            system_resolver=True,
            retry_s=1.0,
            media_timeout_s=8,
            transfer_targets=(("Supervisor", f"sip:sup@{self.domain}"),),
        )
        base.update(kw)
        return SipSettings(**base)

    def peer(self, user: str = "caller", **kw: Any) -> SipPeer:
        config: dict[str, Any] = dict(
            user=user, password=USERS[user], domain=self.domain, ca=str(self.certs.ca)
        )
        config.update(kw)
        return SipPeer(config, self.workdir / f"peer-{user}.log")

    def counselor_uri(self) -> str:
        return f"sip:counselor@{self.domain};transport=tls"


@contextmanager
def rig(workdir: Path, **proxy_kw: Any) -> Iterator[Rig]:
    certs = make_certs(workdir / "certs")
    with Kamailio(workdir / "kamailio", USERS, certs, **proxy_kw) as proxy:
        yield Rig(workdir, certs, proxy)


@dataclasses.dataclass
class Phone:
    """Faro's side: the backend driven by a real call machine on a real bus."""

    bus: EventBus
    machine: CallMachine
    backend: SipBackend

    def wait_state(self, state: CallState, timeout: float = 15.0) -> None:
        wait_until(lambda: self.machine.state is state, timeout, f"call state {state.name}")

    def wait_line(self, state: str, timeout: float = 15.0) -> None:
        wait_until(lambda: self.backend.line_state == state, timeout, f"line {state}")


@contextmanager
def phone(
    settings: SipSettings,
    password: str | None = USERS["counselor"],
    bus: EventBus | None = None,
    config: Config | None = None,
) -> Iterator[Phone]:
    bus = bus or EventBus()
    creds = SipCredentials(password) if password is not None else None
    backend = SipBackend(settings, credentials=creds)
    machine = CallMachine(bus, SystemClock(), config or Config.defaults(), backend)
    machine.start()
    try:
        yield Phone(bus, machine, backend)
    finally:
        machine.stop()


def levels(frames: list[list[float]], since: float, until: float) -> list[float]:
    return [db for t, db in frames if since <= t <= until]


def settle(seconds: float) -> None:
    time.sleep(seconds)
