"""``faro demo``'s chat line, on real parts (docs/chat.md "In the demo").

- the server: Debian's Prosody with the configuration Faro ships, on 127.0.0.1 free ports
  with a throwaway CA (chat/local_server.py), a child of the demo that dies with it;
- the demo counselor's account, made with ``prosodyctl`` with a fresh random password that
  reaches the console as production's does: the case store's secret ``chat.password``
  (:meth:`DemoChatLine.give_password`), read by app/wiring.py at unlock;
- the router: the real :class:`chat.router.Router` on its own thread and loop
  (``faro-chat-router``), its hooks on the demo's broker through app/chat_router.py under its
  own identity ``chat-router`` (escalation/chat_queue.py), as ``faro chat router`` does, so
  the supervisor window shows the queue and the service level;
- the person writing: chat/demo_person.py on its own thread, in the demo's language.

Start and stop it from the demo's main thread (Prosody is tied to the thread that starts it).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import secrets
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chat import local_server
from chat.demo_person import DemoPerson, PersonScript, Server
from chat.local_server import LocalServer
from chat.router import Router, RouterSettings

if TYPE_CHECKING:
    from escalation.broker import EmbeddedBroker
    from escalation.chat_queue import RouterLink

log = logging.getLogger(__name__)

ROUTER_IDENTITY = "chat-router"


def available() -> bool:
    """Whether the demo can have its chat line here (Prosody installed)."""
    return local_server.available()


def throwaway_certs(directory: Path, names: tuple[str, ...]) -> tuple[Path, Path, Path]:
    """A throwaway CA (the escalation link's CA code, escalation/pki.py) and the chat server's
    certificate for ``names``, valid 30 days: (CA certificate, server certificate, server
    key). The CA's key is never written: nothing more can be signed with it."""
    from cryptography.hazmat.primitives import serialization

    from core.paths import make_private_dir
    from escalation.pki import Authority, write_private

    ca = Authority.create("Faro demo chat", days=30)
    cert, key = ca.issue(names[0], server_names=list(names), days=30)
    make_private_dir(directory)
    ca_file, cert_file, key_file = (
        directory / "ca.pem",
        directory / "server.pem",
        directory / "server.key",
    )
    write_private(ca_file, ca.cert.public_bytes(serialization.Encoding.PEM))
    write_private(cert_file, cert)
    write_private(key_file, key)
    return ca_file, cert_file, key_file


class DemoChatLine:
    def __init__(
        self,
        directory: Path,
        counselor: str,
        broker: EmbeddedBroker | None = None,
        *,
        script: str = "demo",
        pace: float = 1.0,
        router_settings: dict[str, Any] | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.counselor = counselor
        self.broker = broker
        self.script = PersonScript.load(script)  # a bad script fails before anything starts
        self.pace = pace
        self.router_settings = dict(router_settings or {})
        self.server = LocalServer(self.directory / "prosody", throwaway_certs)
        self.password = secrets.token_urlsafe(24)
        self.router: Router | None = None
        self.link: RouterLink | None = None
        self.person: DemoPerson | None = None
        self._clock: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._followed = False
        self._follow_cb: Any = None

    # -- lifetime (the demo's main thread) --------------------------------------------------------
    def start(self) -> DemoChatLine:
        """The server, the counselor's account and the router (the person comes later, with
        :meth:`start_person`). Raises LocalServerError if Prosody cannot start."""
        self.server.start()
        try:
            self.server.register(self.counselor, self.password)
            self._start_router()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_router(self) -> None:
        from app.chat_router import EscalationHooks
        from chat.router import RouterHooks

        hooks: RouterHooks = RouterHooks()
        if self.broker is not None:
            from core.clock import SystemClock
            from core.config import Config
            from core.events import EventBus
            from escalation.chat_queue import RouterLink
            from escalation.transport import LinkSettings

            config = Config.defaults().with_overrides(self.broker.client_overrides(ROUTER_IDENTITY))
            self._clock = SystemClock()
            self.link = RouterLink(
                config, self._clock, EventBus(), LinkSettings.from_config(config, "counselor")
            )
            self.link.start()
            hooks = EscalationHooks(self.link)
        settings = RouterSettings(
            domain=self.server.domain,
            secret=self.server.secret,
            host="127.0.0.1",
            port=self.server.component_port,
            **{"reconnect_max_s": 2.0, **self.router_settings},
        )
        router = Router(settings, hooks)
        loop = asyncio.new_event_loop()
        started = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(router.start())
            started.set()
            loop.run_forever()

        self._loop, self.router = loop, router
        self._thread = threading.Thread(target=run, name="faro-chat-router", daemon=True)
        self._thread.start()
        started.wait(5)

    def start_person(self, lang: str) -> DemoPerson:
        """The person writing, in ``lang`` (es or en): says hello after the script's delay."""
        where = Server(self.server.domain, "127.0.0.1", self.server.c2s_port, self.server.ca)
        self.person = DemoPerson(where, self.script, lang, pace=self.pace).start()
        return self.person

    def follow(self, bus: Any, delay_s: float = 3.0) -> None:
        """The person writes ``delay_s`` after the first call ends (answered and hung up, or
        missed) rather than at the script's fixed delay: the chat waits in the queue during
        the call's wrap-up (the supervisors see it wait) and rings as soon as the counselor is
        free, before the next scripted call."""
        from calls.events import CallEnded, MissedCall

        def first(_event: object) -> None:
            if self._followed:
                return
            self._followed = True
            if self.person is not None:
                self.person.go(delay_s)

        self._follow_cb = first  # held here: the bus holds plain functions strongly anyway
        bus.subscribe(CallEnded, first)
        bus.subscribe(MissedCall, first)

    def stop(self) -> None:
        """Everything, in reverse order; each part stopped by what it owns (Prosody by PID)."""
        if self.person is not None:
            self.person.stop()
            self.person = None
        loop, thread, router = self._loop, self._thread, self.router
        self._loop, self.router = None, None
        if loop is not None and thread is not None and router is not None:
            try:
                asyncio.run_coroutine_threadsafe(router.stop(), loop).result(3.0)
            except Exception:
                log.warning("the demo's chat router did not stop cleanly")
            loop.call_soon_threadsafe(loop.stop)
            thread.join(3.0)
            if not thread.is_alive():
                wind_down(loop)
            _KEEP.append(loop)  # slixmpp cleans up on it when collected: never closed
        if self.link is not None:
            self.link.stop()
            self.link = None
        if self._clock is not None:
            self._clock.stop()
            self._clock = None
        self.server.stop()
        # slixmpp's streams cancel their tasks on their loop when collected: collect them now,
        # while those loops are open (at interpreter exit the loops are closed first)
        gc.collect()

    # -- what the counselor's console needs -------------------------------------------------------
    def counselor_overrides(self) -> dict[str, object]:
        """The chat options of the demo counselor's session (the password is not one)."""
        return {
            "chat.enabled": True,
            "chat.domain": self.server.domain,
            "chat.host": "127.0.0.1",
            "chat.port": self.server.c2s_port,
            "chat.ca_file": str(self.server.ca),
        }

    def give_password(self, store: Any) -> None:
        """Keep the account's password in the (unlocked) case store, as ``faro chat account
        set`` does: the wiring hands it to the chat service from there."""
        from app.wiring import CHAT_PASSWORD

        store.set_secret(CHAT_PASSWORD, self.password)

    def online(self) -> bool:
        """Whether the router is connected to the server (for tests and the soak)."""
        router, loop = self.router, self._loop
        if router is None or loop is None:
            return False
        return bool(router.online)


_KEEP: list[asyncio.AbstractEventLoop] = []


def wind_down(loop: asyncio.AbstractEventLoop, timeout: float = 2.0) -> None:
    """Cancel what is still pending on a stopped ``loop`` and let it finish (from any thread:
    the loop's own has ended), so that no slixmpp task is left to a loop closed at exit."""
    tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for t in tasks:
        t.cancel()
    if tasks:
        try:
            loop.run_until_complete(asyncio.wait(tasks, timeout=timeout))
        except Exception:
            log.debug("winding down a demo loop", exc_info=True)
