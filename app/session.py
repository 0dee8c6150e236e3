"""The Session: creates, owns, starts and stops every service of one running Faro.

The GUI is built *from* a session (``MainWindow(session)``), never the other way round.
Services are plain objects with ``start()`` and a thread-safe, idempotent ``stop()``.
Besides the call machine, which every session has, capability packages contribute
services through an ``attach(session)`` function in their ``service`` module, listed in
:data:`SERVICE_MODULES`; a package that is not installed is simply absent.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from calls.backends import TelephonyBackend, make_backend
from calls.machine import CallMachine
from calls.options import BACKEND
from core import logs
from core.clock import Clock, SystemClock
from core.config import Config
from core.events import EventBus
from core.forms import Form, load_form
from core.host import Service
from core.i18n import set_language
from core.modules import optional_module
from core.options import LANGUAGE, LOG_BACKUPS, LOG_LEVEL, LOG_MAX_BYTES
from core.paths import Paths
from storage.options import FORMS_FILE

log = logging.getLogger(__name__)

#: Modules whose ``attach(session)`` adds a service, in start order.
SERVICE_MODULES = (
    "storage.service",
    "devices.service",
    "audio.service",
    "escalation.service",
    "chat.service",
)
#: A supervisor's laptop: its own encrypted records and the escalation link, no call devices
#: (with ``calls.backend = "sip"`` also the audio service: the headset for live assistance).
SUPERVISOR_SERVICES = ("storage.service", "escalation.service")


class Session:
    def __init__(
        self,
        config: Config | None = None,
        *,
        paths: Paths | None = None,
        clock: Clock | None = None,
        bus: EventBus | None = None,
        backend: TelephonyBackend | None = None,
        attach: bool = True,
        services: tuple[str, ...] = SERVICE_MODULES,
    ) -> None:
        self.config = config or Config.defaults()
        self.paths = (paths or Paths.default()).ensure()
        self.clock = clock or SystemClock()
        self.bus = bus or EventBus()
        set_language(self.config.get(LANGUAGE))
        #: the organisation's forms (clinical.forms_file; the built-in form when empty),
        #: loaded once: a wrong file stops the start with a FormError naming its line
        self.form: Form = load_form(self.config.get(FORMS_FILE))
        self.calls = CallMachine(
            self.bus, self.clock, self.config, backend or make_backend(self.config, self.clock)
        )
        if services == SUPERVISOR_SERVICES and self.config.get(BACKEND) == "sip":
            # live assistance: the supervisor's headset on their own SIP leg (app/live_assist.py)
            services = (*SUPERVISOR_SERVICES, "audio.service")
        self._services: dict[str, Service] = {"calls": self.calls}
        self._lock = threading.Lock()
        self._started = False
        self._stopped = False
        if attach:
            for name in services:
                module = optional_module(name)
                if module is not None:
                    module.attach(self)
        from app.wiring import Wiring

        self.wiring = Wiring(self)

    @classmethod
    def open(
        cls,
        paths: Paths | None = None,
        overrides: Mapping[str, Any] | None = None,
        log_to_stderr: bool = False,
        organisation: bool = True,
        **kw: Any,
    ) -> Session:
        """Load the configuration from the profile, set up logging, build the session.
        ``organisation=False`` leaves the organisation's file out (the demo's profile)."""
        paths = (paths or Paths.default()).ensure()
        config = Config.load(paths.config_file, organisation=None if organisation else False)
        if overrides:
            config = config.with_overrides(overrides)
        logs.configure(
            paths.log_dir,
            config.get(LOG_LEVEL),
            config.get(LOG_MAX_BYTES),
            config.get(LOG_BACKUPS),
            stderr=log_to_stderr,
        )
        return cls(config, paths=paths, **kw)

    # -- services ---------------------------------------------------------------------
    def add_service(self, name: str, service: Service) -> None:
        with self._lock:
            if name in self._services:
                raise ValueError(f"service {name} added twice")
            self._services[name] = service
            started = self._started
        if started:
            service.start()

    def service(self, name: str) -> Any:
        with self._lock:
            return self._services.get(name)

    @property
    def service_names(self) -> list[str]:
        with self._lock:
            return list(self._services)

    def start(self) -> Session:
        with self._lock:
            if self._started:
                return self
            self._started = True
            services = list(self._services.items())
        for name, svc in services:
            log.info("starting %s", name)
            svc.start()
        self.wiring.give_sip_credentials()  # a store unlocked before start
        self.wiring.give_chat_credentials()
        self.wiring.give_chat_capacity()
        self.wiring.transfers.ready()  # its sealing key, transfer work left from before
        if self.wiring.training is not None:  # training mode: the watch learns the scenario
            self.wiring.training.ready()
        return self

    def stop(self) -> None:
        """Stop every service in reverse order. Thread-safe and idempotent."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            services = list(self._services.items())
        for name, svc in reversed(services):
            try:
                svc.stop()
            except Exception:
                log.exception("stopping %s failed", name)
        self.clock.stop()

    @property
    def stopped(self) -> bool:
        return self._stopped

    def __enter__(self) -> Session:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def log_file(self) -> Path:
        return self.paths.log_dir / "faro.log"
