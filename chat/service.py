"""The chat service: the counselor's chat line, attached to the Session like the other
capabilities (``chat.service`` in app/session.py's SERVICE_MODULES).

It owns one thread, ``faro-chat``, with an asyncio loop running :class:`chat.client.ChatClient`
(slixmpp). Every method is thread-safe and returns at once: the work is scheduled on that
loop, and what comes back arrives as chat/events.py events on the bus. With ``chat.enabled``
false (the default) the service is inert: no thread, no connection, ``ChatLine off``.

The account's password is the case store's secret ``chat.password``; app/wiring.py hands it
over with :meth:`ChatService.set_password` when the store unlocks, and only then does the
line sign in.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
import threading
from typing import Any

from chat import events as ev
from chat import options as opt
from chat import protocol as p
from chat.client import ChatClient, ClientSettings
from core.errors import FaroError
from core.host import ServiceHost
from core.i18n import _
from core.options import COUNSELOR_ID
from core.status import Level, StatusReport

log = logging.getLogger(__name__)


class ChatRefused(FaroError):
    """A message the chat line will not send (nothing was sent)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        texts = {
            "too_long": _(
                "The message is too long ({n} characters at most). Nothing was sent: shorten it "
                "or split it."
            ).format(n=p.MAX_BODY),
            "not_text": _(
                "The message is empty or has characters that cannot be sent. Nothing was sent."
            ),
            "unknown_chat": _("This chat is no longer open. Nothing was sent."),
            "off": _("The chat line is off on this laptop. Nothing was sent."),
        }
        super().__init__(texts.get(reason, _("The message cannot be sent. Nothing was sent.")))


class ChatService:
    name = "chat"

    def __init__(self, host: ServiceHost) -> None:
        self.host = host
        self.config = host.config
        self.bus = host.bus
        self.enabled = bool(self.config.get(opt.ENABLED))
        self.max_chats = int(self.config.get(opt.MAX_CHATS))
        self.chats_with_call = bool(self.config.get(opt.CHATS_WITH_CALL))
        self._lock = threading.Lock()
        self._seq = itertools.count(1)
        self._password: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._client: ChatClient | None = None
        self._started = False
        self._capacity = (self.max_chats, False)
        self._chats: tuple[str, ...] = ()
        self._offers: dict[str, ev.ChatOffered] = {}
        self._open: set[str] = set()

    # -- lifetime ---------------------------------------------------------------------------------
    def start(self) -> None:
        if not self.enabled:
            # inert: one ChatLine for whoever shows the line, no status chip, no thread
            self.bus.publish(ev.ChatLine(ev.OFF, _("Chat line: off on this laptop")))
            return
        problem = self._problem()
        if problem:
            log.warning("chat line not set up: %s", problem)
            self.bus.publish(ev.ChatLine(ev.FAILED, problem))
            self.bus.publish(StatusReport("chat", Level.ERROR, problem))
            return
        with self._lock:
            if self._started:
                return
            self._started = True
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=self._run, name="faro-chat", daemon=True)
            self._thread.start()
            password = self._password
        if password is None:
            text = _("Chat line: signs in when the case notes are unlocked")
            self.bus.publish(ev.ChatLine(ev.CONNECTING, text))
            self.bus.publish(StatusReport("chat", Level.INFO, text))
        else:
            self._call(self._connect, password)

    def _problem(self) -> str:
        if not self.config.get(opt.DOMAIN):
            return _("Chat line: chat.domain is not set")
        if not self.config.get(COUNSELOR_ID):
            return _("Chat line: identity.counselor_id is not set")
        return ""

    def _run(self) -> None:
        assert self._loop is not None
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    def stop(self) -> None:
        with self._lock:
            loop, thread = self._loop, self._thread
            self._started = False
            self._loop = None
        if loop is None or thread is None:
            return

        async def close() -> None:
            if self._client is not None:
                fut = self._client.stop()
                if fut is not None:
                    try:
                        await asyncio.wait_for(fut, 2.0)
                    except Exception:
                        pass

        try:
            asyncio.run_coroutine_threadsafe(close(), loop).result(3.0)
        except Exception:
            log.warning("the chat line did not close cleanly")
        loop.call_soon_threadsafe(loop.stop)
        thread.join(3.0)
        self._client = None  # its stream is collected while its loop is still open
        _KEEP.append(loop)  # slixmpp's streams clean up on it when collected: never closed

    def set_password(self, password: str) -> None:
        """The account's password (from the case store, at unlock). Signs in (again)."""
        with self._lock:
            same = password == self._password
            self._password = password
            started = self._started
        if started and not same:
            self._call(self._connect, password)

    # -- on the loop ------------------------------------------------------------------------------
    def _call(self, fn: Any, *args: Any) -> None:
        loop = self._loop
        if loop is None:
            return
        loop.call_soon_threadsafe(fn, *args)

    def _connect(self, password: str) -> None:
        old = self._client
        if old is not None:
            old.stop()
        counselor = self.config.get(COUNSELOR_ID)
        domain = self.config.get(opt.DOMAIN)
        settings = ClientSettings(
            jid=f"{counselor}@{domain}",
            password=password,
            host=self.config.get(opt.HOST) or domain,
            port=int(self.config.get(opt.PORT)),
            ca_file=self.config.get(opt.CA_FILE),
        )
        capacity, busy = self._capacity
        client = ChatClient(settings, self.bus.publish, capacity=capacity, busy=busy)
        if old is not None:  # what the old one had not got receipted goes with the new one
            client.outbox.update(old.outbox)
            client.chats = list(old.chats)
        client.changed = lambda: self._snapshot(client)
        self._client = client
        client.start()

    def _snapshot(self, client: ChatClient) -> None:
        if client is not self._client:
            return
        with self._lock:
            self._chats = tuple(client.chats)
            self._offers = dict(client.offers)
            self._open = set(client.chats)

    def _on_loop(self, method: str, *args: Any) -> None:
        client = self._client
        if client is not None:
            getattr(client, method)(*args)

    # -- the API (any thread, never blocks) -------------------------------------------------------
    @property
    def chats(self) -> tuple[str, ...]:
        """The open chats' ids, in the order they were assigned."""
        with self._lock:
            return self._chats

    @property
    def offers(self) -> dict[str, ev.ChatOffered]:
        """The offers standing now, chat id → the offer."""
        with self._lock:
            return dict(self._offers)

    def accept(self, chat: str) -> None:
        self._call(self._on_loop, "accept", chat)

    def decline(self, chat: str) -> None:
        self._call(self._on_loop, "decline", chat)

    def send(self, chat: str, text: str) -> str:
        """Send ``text`` to the person of ``chat``; returns the message id. Raises
        :class:`ChatRefused` (too_long, not_text, unknown_chat, off) before anything is sent;
        otherwise the message is kept until the person's receipt, across reconnections."""
        if not self.enabled or self._loop is None:
            raise ChatRefused("off")
        clean, reason = p.clean_text(text)
        if clean is None:
            raise ChatRefused(reason)
        with self._lock:
            if chat not in self._open:
                raise ChatRefused("unknown_chat")
            seq = next(self._seq)
        mid = secrets.token_urlsafe(12)
        self._call(self._on_loop, "send", chat, mid, clean, seq)
        return mid

    def typing(self, chat: str, on: bool) -> None:
        self._call(self._on_loop, "typing", chat, bool(on))

    def read(self, chat: str, mid: str) -> None:
        self._call(self._on_loop, "read", chat, mid)

    def end(self, chat: str) -> None:
        self._call(self._on_loop, "end", chat)

    def set_capacity(self, n: int, busy: bool) -> None:
        """How many chats this counselor may hold now (at most ``chat.max_chats``) and whether
        they are busy (a phone call, a break, locked): no offers while busy or at 0."""
        n = max(0, min(int(n), self.max_chats))
        with self._lock:
            self._capacity = (n, bool(busy))
        self._call(self._on_loop, "set_capacity", n, bool(busy))


_KEEP: list[asyncio.AbstractEventLoop] = []


def attach(host: ServiceHost) -> ChatService:
    svc = ChatService(host)
    host.add_service("chat", svc)
    return svc
