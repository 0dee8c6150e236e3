"""The chat service as the console sees it, for widget and flow tests that need no server:
it records the commands and publishes on the bus what chat/service.py publishes for them
(an accepted offer is assigned, a sent message comes back as an ``out`` message and its
``sent`` delivery). The real service, router and Prosody are in
tests/console/test_chat_end_to_end.py."""

from __future__ import annotations

import itertools
from typing import Any

from chat import events as ev
from chat.protocol import clean_text
from core.errors import FaroError
from core.privacy import Personal


class Refused(FaroError):
    """What chat.service.ChatRefused says (its words for the reasons the console shows)."""


class RecordingChatService:
    name = "chat"

    def __init__(self, bus: Any, clock: Any) -> None:
        self.bus, self.clock = bus, clock
        self.calls: list[tuple[Any, ...]] = []
        self.capacity: tuple[int, bool] | None = None
        self._seq = itertools.count(1000)
        self._mid = itertools.count(1)
        self.langs: dict[str, str] = {}
        self.texts: list[str] = []  # what was sent, in order

    enabled = True  # as chat.service.ChatService with chat.enabled

    def set_password(self, password: str) -> None: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    # -- what the test plays for the router and the person --------------------------------------
    def offer(self, chat: str, waited_s: float = 30.0, lang: str = "es", expires_s: float = 30.0):
        self.langs[chat] = lang
        self.bus.publish(ev.ChatOffered(chat, waited_s, lang, expires_s))

    def person_writes(self, chat: str, text: str, mid: str | None = None) -> str:
        mid = mid or f"g{next(self._mid)}"
        self.bus.publish(
            ev.ChatMessage(chat, mid, "in", Personal(text), self.clock.now(), next(self._seq))
        )
        return mid

    # -- the API ----------------------------------------------------------------------------------
    def set_capacity(self, n: int, busy: bool) -> None:
        self.capacity = (n, busy)
        self.calls.append(("capacity", n, busy))

    def accept(self, chat: str) -> None:
        self.calls.append(("accept", chat))
        self.bus.publish(ev.ChatAssigned(chat, self.langs.get(chat, "es")))

    def decline(self, chat: str) -> None:
        self.calls.append(("decline", chat))

    def send(self, chat: str, text: str) -> str:
        clean, reason = clean_text(text)
        if clean is None:
            raise Refused(
                "The message is too long (2000 characters at most). Nothing was sent: "
                "shorten it or split it."
                if reason == "too_long"
                else "The message is empty or has characters that cannot be sent."
            )
        mid = f"c{next(self._mid)}"
        self.calls.append(("send", chat, mid))
        self.texts.append(clean)
        self.bus.publish(
            ev.ChatMessage(chat, mid, "out", Personal(clean), self.clock.now(), next(self._seq))
        )
        self.bus.publish(ev.ChatDelivery(chat, mid, "sent"))
        return mid

    def typing(self, chat: str, on: bool) -> None:
        self.calls.append(("typing", chat, on))

    def read(self, chat: str, mid: str) -> None:
        self.calls.append(("read", chat, mid))

    def end(self, chat: str) -> None:
        self.calls.append(("end", chat))
        self.bus.publish(ev.ChatEnded(chat, "by_counselor"))
