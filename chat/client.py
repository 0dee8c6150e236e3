"""The counselor's side of the chat protocol (chat/protocol.py) on one slixmpp ``ClientXMPP``:
:class:`ChatClient` runs entirely on one asyncio loop (chat/service.py owns the thread) and
turns what the router says into chat/events.py events.

- signs in as ``<counselor>@<domain>/faro`` over STARTTLS checked against the organisation's
  CA; reconnects with a backoff capped at a few seconds; a refused password stops it
  (``ChatLine failed``) until a new password is given;
- announces itself to the router with ``ready`` (capacity, busy, the chats it holds) at every
  session start, on every change, and when the router's presence says it is back;
- keeps each message it sent until the router passes on the person's receipt, and resends it
  with the same id (and seq) after a reconnection or a bounce; the router drops duplicates;
- receipts what it receives (``received``: the console has it), drops a duplicate id, and
  publishes each message once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as _dt
import logging
import xml.etree.ElementTree as ET
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from chat import events as ev
from chat import protocol as p
from chat.router import capped
from core.events import Event
from core.i18n import _
from core.privacy import Personal
from core.status import Level, StatusReport

log = logging.getLogger(__name__)
FARO = f"{{{p.NS}}}faro"
#: ids of received messages remembered per chat, to drop a resent duplicate
SEEN_IDS = 5000


@dataclasses.dataclass(frozen=True)
class ClientSettings:
    jid: str  # counselor@domain (the resource is added)
    password: str = dataclasses.field(repr=False)
    host: str
    port: int = 5222
    ca_file: str = ""
    resource: str = "faro"
    reconnect_max_s: float = 5.0
    #: unreceipted messages older than this are sent again (a bounce may go unseen)
    resend_after_s: float = 10.0

    @property
    def domain(self) -> str:
        return self.jid.split("@", 1)[1]

    @property
    def router(self) -> str:
        return f"router.{self.domain}"


@dataclasses.dataclass
class _Out:
    chat: str
    text: str
    seq: int
    sent_at: float = 0.0
    announced: bool = False  # ChatDelivery(sent) published


class ChatClient:
    def __init__(
        self,
        settings: ClientSettings,
        publish: Callable[[Event], None],
        *,
        now: Callable[[], _dt.datetime] = lambda: _dt.datetime.now(_dt.UTC),
        capacity: int = 1,
        busy: bool = False,
    ) -> None:
        self.settings = settings
        self._publish = publish
        self._now = now
        self.capacity = capacity
        self.busy = busy
        self.chats: list[str] = []
        self.offers: dict[str, ev.ChatOffered] = {}
        self._accepting: set[str] = set()
        self.outbox: OrderedDict[str, _Out] = OrderedDict()
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()
        self.online = False
        self.line = ""
        self._stopping = False
        self._failures = 0
        self._retry: asyncio.TimerHandle | None = None
        self._resend_timer: asyncio.TimerHandle | None = None
        self.xmpp: Any = None
        #: called (on the loop) after any change of chats or offers (the service's snapshot)
        self.changed: Callable[[], None] = lambda: None

    # -- lifetime (on the loop) ----------------------------------------------------------------
    def start(self) -> None:
        from slixmpp import ClientXMPP
        from slixmpp.xmlstream.handler import Callback
        from slixmpp.xmlstream.matcher import StanzaPath

        p.register()
        self.loop = asyncio.get_running_loop()
        s = self.settings
        xmpp = capped(ClientXMPP, s.reconnect_max_s)(f"{s.jid}/{s.resource}", s.password)
        if s.ca_file:
            xmpp.ca_certs = s.ca_file
        xmpp.enable_direct_tls = False  # c2s speaks STARTTLS; encryption is required
        xmpp.enable_plaintext = False
        xmpp.whitespace_keepalive_interval = 30
        xmpp.register_handler(Callback("chat message", StanzaPath("message"), self._on_message))
        xmpp.register_handler(Callback("chat presence", StanzaPath("presence"), self._on_presence))
        xmpp.add_event_handler("session_start", self._on_session_start)
        xmpp.add_event_handler("disconnected", self._on_disconnected)
        xmpp.add_event_handler("failed_auth", self._on_failed_auth)
        xmpp.add_event_handler("connection_failed", self._on_connection_failed)
        self.xmpp = xmpp
        self._line(ev.CONNECTING, _("Chat line: connecting…"))
        xmpp.connect(s.host, s.port)
        self._resend_timer = self.loop.call_later(s.resend_after_s, self._resend_old)

    def stop(self) -> asyncio.Future[Any] | None:
        self._stopping = True
        if self._retry is not None:
            self._retry.cancel()
        if self._resend_timer is not None:
            self._resend_timer.cancel()
        if self.xmpp is None:
            return None
        self.xmpp.cancel_connection_attempt()
        if self.online:
            self._presence("unavailable")
            return self.xmpp.disconnect(wait=1.0)
        return None

    def _line(self, state: str, text: str) -> None:
        if (state, text) == (self.line, getattr(self, "_line_text", "")):
            return
        self.line = state
        self._line_text = text
        self._publish(ev.ChatLine(state, text))
        level = {
            ev.CONNECTED: Level.OK,
            ev.CONNECTING: Level.WARNING,
            ev.FAILED: Level.ERROR,
        }.get(state, Level.OFF)
        self._publish(StatusReport("chat", level, text))

    def _on_session_start(self, _e: Any) -> None:
        self.online = True
        self._failures = 0
        self._line(ev.CONNECTED, _("Chat line: connected"))
        self._ready()
        self._resend_all()

    def _on_disconnected(self, _e: Any) -> None:
        was = self.online
        self.online = False
        for chat in list(self.offers):
            # the router voids offers while the line is down; it offers again when back
            self._publish(ev.ChatWithdrawn(chat, "disconnected"))
        self.offers.clear()
        self._accepting.clear()
        self.changed()
        if self._stopping or self.line == ev.FAILED:
            return
        if was:
            self._line(ev.CONNECTING, _("Chat line: reconnecting…"))
        self._schedule_connect(0.5)

    def _schedule_connect(self, delay: float) -> None:
        if self._retry is not None:
            self._retry.cancel()
        self._retry = self.loop.call_later(delay, self._connect_again)

    def _connect_again(self) -> None:
        self._retry = None
        if not self._stopping and not self.online and self.line != ev.FAILED:
            self.xmpp.connect(self.settings.host, self.settings.port)

    def _on_connection_failed(self, _e: Any) -> None:
        self._failures += 1
        if self._failures == 3:
            self._line(ev.CONNECTING, _("Chat line: the server cannot be reached; still trying"))

    def _on_failed_auth(self, _e: Any) -> None:
        log.warning("the chat server refused this counselor's account")
        self._line(ev.FAILED, _("Chat line: the server refused this counselor's account"))
        self._stopping = True
        self.xmpp.cancel_connection_attempt()
        self.xmpp.disconnect(wait=0.5)

    # -- sending ----------------------------------------------------------------------------------
    def _message(
        self, faro: dict[str, object], *, body: str | None = None, mid: str | None = None
    ) -> bool:
        if not self.online:
            return False
        msg = self.xmpp.make_message(mto=self.settings.router, mtype="chat")
        if body is not None:
            msg["body"] = body
        if mid is not None:
            msg["id"] = mid
        attrs = {k: str(v) for k, v in faro.items() if v is not None and v != ""}
        ET.SubElement(msg.xml, FARO, attrs)
        msg.send()
        return True

    def _presence(self, ptype: str | None = None) -> None:
        pres = self.xmpp.make_presence(pto=self.settings.router, ptype=ptype)
        if ptype is None:
            ET.SubElement(
                pres.xml,
                FARO,
                {
                    "kind": p.READY,
                    "capacity": str(self.capacity),
                    "busy": "1" if self.busy else "0",
                    "chats": " ".join([*self.chats, *sorted(self._accepting - set(self.chats))]),
                    "version": str(p.VERSION),
                },
            )
        pres.send()

    def _ready(self) -> None:
        if self.online:
            self._presence()

    def set_capacity(self, n: int, busy: bool) -> None:
        if (n, busy) != (self.capacity, self.busy):
            self.capacity, self.busy = n, busy
            self._ready()

    def accept(self, chat: str) -> None:
        self._accepting.add(chat)  # listed in ``ready`` until assigned or withdrawn
        self._message({"kind": p.ACCEPT, "chat": chat})

    def decline(self, chat: str) -> None:
        if self.offers.pop(chat, None) is not None:
            self._publish(ev.ChatWithdrawn(chat, "declined"))
            self.changed()
        self._message({"kind": p.DECLINE, "chat": chat})

    def typing(self, chat: str, on: bool) -> None:
        self._message({"kind": p.TYPING, "chat": chat, "state": "composing" if on else "paused"})

    def read(self, chat: str, mid: str) -> None:
        self._message({"kind": p.READ, "chat": chat, "mid": mid})

    def end(self, chat: str) -> None:
        self._message({"kind": p.END, "chat": chat})

    def send(self, chat: str, mid: str, text: str, seq: int) -> None:
        out = _Out(chat, text, seq)
        self.outbox[mid] = out
        self._publish(ev.ChatMessage(chat, mid, ev.OUT, Personal(text), self._now(), seq))
        self._send_out(mid, out)

    def _send_out(self, mid: str, out: _Out) -> None:
        if self._message(
            {"kind": p.MSG, "chat": out.chat, "mid": mid, "seq": out.seq}, body=out.text, mid=mid
        ):
            out.sent_at = self.loop.time()
            if not out.announced:
                out.announced = True
                self._publish(ev.ChatDelivery(out.chat, mid, ev.SENT))

    def _resend_all(self) -> None:
        for mid, out in list(self.outbox.items()):
            self._send_out(mid, out)

    def _resend_old(self) -> None:
        after = self.settings.resend_after_s
        self._resend_timer = self.loop.call_later(after, self._resend_old)
        now = self.loop.time()
        for mid, out in list(self.outbox.items()):
            if now - out.sent_at >= after:
                self._send_out(mid, out)

    # -- receiving --------------------------------------------------------------------------------
    def _on_presence(self, pres: Any) -> None:
        if pres["from"].bare != self.settings.router:
            return
        if pres["type"] == "error":
            # the router is not connected yet (a server restart): announce again shortly
            self.loop.call_later(1.0, self._ready)
        elif pres["type"] in ("available", ""):
            self._ready()  # the router is back: who we are, and what it has not receipted
            self._resend_all()

    def _on_message(self, msg: Any) -> None:
        try:
            self._handle(msg)
        except Exception:
            log.exception("a chat stanza could not be handled")

    def _handle(self, msg: Any) -> None:
        if msg["from"].bare != self.settings.router:
            return
        if msg["type"] == "error":
            out = self.outbox.get(msg["id"])
            if out is not None:
                self.loop.call_later(1.0, self._send_out, msg["id"], out)
            return
        el = msg.xml.find(FARO)
        if el is None:
            return
        faro = dict(el.attrib)
        kind = faro.get("kind", "")
        chat = faro.get("chat", "")
        mid = faro.get("mid", "")
        if kind == p.MSG:
            self._incoming(chat, mid, msg["body"], faro)
        elif kind == p.RECEIVED:
            out = self.outbox.pop(mid, None)
            if out is not None:
                self._publish(ev.ChatDelivery(chat, mid, ev.RECEIVED))
        elif kind == p.READ:
            self._publish(ev.ChatDelivery(chat, mid, ev.READ))
        elif kind == p.REFUSED:
            out = self.outbox.pop(mid, None)
            if out is not None:
                self._publish(ev.ChatDelivery(out.chat, mid, ev.REFUSED, faro.get("reason", "")))
        elif kind == p.TYPING:
            self._publish(ev.ChatTyping(chat, faro.get("state") == "composing"))
        elif kind == p.OFFER:
            offer = ev.ChatOffered(
                chat,
                _float(faro.get("waited_s")),
                faro.get("lang", ""),
                _float(faro.get("expires_s")),
            )
            self.offers[chat] = offer
            self.changed()
            self._publish(offer)
        elif kind == p.WITHDRAWN:
            self._accepting.discard(chat)
            if self.offers.pop(chat, None) is not None:
                self.changed()
                self._publish(ev.ChatWithdrawn(chat, faro.get("reason", "")))
        elif kind == p.ASSIGNED:
            self._accepting.discard(chat)
            self.offers.pop(chat, None)
            if chat not in self.chats:
                self.chats.append(chat)
            self.changed()
            self._ready()
            self._publish(ev.ChatAssigned(chat, faro.get("lang", "")))
        elif kind == p.ENDED:
            if chat in self.chats:
                self.chats.remove(chat)
                for m in [m for m, o in self.outbox.items() if o.chat == chat]:
                    del self.outbox[m]
                self.changed()
                self._ready()
                self._publish(ev.ChatEnded(chat, faro.get("reason", "")))

    def _incoming(self, chat: str, mid: str, body: str, faro: dict[str, str]) -> None:
        if chat not in self.chats or not p.valid_mid(mid):
            return
        self._message({"kind": p.RECEIVED, "chat": chat, "mid": mid})
        key = (chat, mid)
        if key in self._seen:
            return  # a resent duplicate: receipted again, shown once
        self._seen[key] = None
        while len(self._seen) > SEEN_IDS:
            self._seen.popitem(last=False)
        try:
            at = _dt.datetime.fromisoformat(faro.get("at", "").replace("Z", "+00:00"))
        except ValueError:
            at = self._now()
        seq = faro.get("seq", "")
        self._publish(
            ev.ChatMessage(chat, mid, ev.IN, Personal(body), at, int(seq) if seq.isdigit() else 0)
        )


def _float(text: str | None) -> float:
    try:
        return float(text or 0)
    except ValueError:
        return 0.0
