"""What a service may use of the application that hosts it (the Session implements it).

Capability packages type their ``attach(host)`` against this protocol (or
:class:`calls.host.Host`, which adds the call machine), so that they never import the
application layer above them.
"""

from __future__ import annotations

from typing import Any, Protocol

from core.clock import Clock
from core.config import Config
from core.events import EventBus
from core.paths import Paths


class Service(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


class ServiceHost(Protocol):
    config: Config
    paths: Paths
    clock: Clock
    bus: EventBus

    def add_service(self, name: str, service: Service) -> None: ...

    def service(self, name: str) -> Any: ...
