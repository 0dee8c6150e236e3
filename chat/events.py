"""Events the chat service publishes on the core bus (chat/service.py). Message text travels
only as :class:`core.privacy.Personal`; everything else is codes and ids."""

from __future__ import annotations

import dataclasses
import datetime

from core.events import Event
from core.privacy import Personal

# ChatLine states
CONNECTED, CONNECTING, FAILED, OFF = "connected", "connecting", "failed", "off"
# ChatDelivery states
SENT, RECEIVED, READ, REFUSED = "sent", "received", "read", "refused"
# ChatMessage directions
IN, OUT = "in", "out"


@dataclasses.dataclass(frozen=True, slots=True)
class ChatLine(Event):
    """The chat line's health, for the status chip (also a StatusReport "chat")."""

    state: str  # connected | connecting | failed | off
    text: str  # translated, no personal data


@dataclasses.dataclass(frozen=True, slots=True)
class ChatOffered(Event):
    chat: str
    waited_s: float
    lang: str
    expires_s: float


@dataclasses.dataclass(frozen=True, slots=True)
class ChatWithdrawn(Event):
    chat: str
    reason: str  # expired | taken | by_person | person_lost | quick_exit | disconnected


@dataclasses.dataclass(frozen=True, slots=True)
class ChatAssigned(Event):
    chat: str
    lang: str


@dataclasses.dataclass(frozen=True, slots=True)
class ChatMessage(Event):
    chat: str
    mid: str
    direction: str  # "in" from the person, "out" ours
    text: Personal
    at: datetime.datetime
    seq: int


@dataclasses.dataclass(frozen=True, slots=True)
class ChatDelivery(Event):
    chat: str
    mid: str
    state: str  # sent | received | read | refused
    reason: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class ChatTyping(Event):
    chat: str
    typing: bool


@dataclasses.dataclass(frozen=True, slots=True)
class ChatEnded(Event):
    chat: str
    reason: str  # by_counselor | by_person | quick_exit | person_lost | unknown_chat | …
