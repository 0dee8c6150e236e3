"""The chat router: an XMPP external component (XEP-0114, ``router.<domain>``) that queues the
people writing, offers each waiting chat to one counselor at a time, and relays text,
receipts, read markers and typing between them (docs/chat.md "Routing").

It keeps **nothing after delivery**: a message is held in memory only until its receiver's
receipt (then only its id is remembered, to drop a resent duplicate), and no message is ever
written to disk. The person never learns a counselor's address and the counselor never
learns the person's: both talk only to the router.

**A restart loses no chat** (docs/chat.md "When the router restarts"): with ``state_file``
the router keeps there which chats exist, in which order they wait, who has each one and
whom to tell that it is back — ids, addresses and seconds, never a message, never a
person's session token (a chat's id is a keyed hash of it, so the person's next ``hello``
finds its chat again). A restarted router reads it, tells everyone it knew that it is back
(consoles answer with ``ready`` and resend what was not receipted; the widget says ``hello``
again and resends), and whoever does not come back within the grace times is handled as
after any loss. A sender the router does not know (a chat of the last moments before a
crash) is asked to say who it is, never told its chat is closed.

Runs as ``faro chat router --config FILE`` (console/commands/chat.py), or in a test or a
benchmark on any asyncio loop: ``await Router(settings).start()``. Everything the router does
happens on its loop's thread.

Supervision goes through :class:`RouterHooks` (``alert``, ``abandoned``, ``answered``): the
default logs codes only; the application wires it to the supervisors' link.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import datetime as _dt
import hashlib
import hmac
import json
import logging
import os
import stat
import time
import tomllib
import xml.etree.ElementTree as ET
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chat import protocol as p

log = logging.getLogger(__name__)

RECEIPTS = "urn:xmpp:receipts"
MARKERS = "urn:xmpp:chat-markers:0"
CHATSTATES = "http://jabber.org/protocol/chatstates"
SID = "urn:xmpp:sid:0"

#: ids of delivered messages remembered per chat (to answer a resent duplicate with a receipt)
REMEMBERED_IDS = 2000
#: chats that ended, remembered so a late tab is told it is closed (ids and codes only)
REMEMBERED_CLOSED = 5000
#: the state file's format
STATE_VERSION = 1
#: changes are written to the state file at most this often (one write for a burst)
SAVE_EVERY_S = 0.2
#: the most recent ended chats the state file remembers
STATE_CLOSED = 500


@dataclasses.dataclass(frozen=True)
class RouterSettings:
    """The router's settings (docs/chat.md "Running the router"; a TOML ``[router]`` table)."""

    domain: str
    secret: str = dataclasses.field(repr=False)
    host: str = "127.0.0.1"
    port: int = 5347
    #: an offer not accepted within this is offered to the next counselor
    offer_timeout_s: float = 30.0
    #: a chat waiting longer than this raises an alert (also: offered to everyone)
    alert_after_s: float = 120.0
    #: at most this many chats wait at once; a new one is told ``closed queue_full``
    queue_limit: int = 200
    #: each person may send ``burst`` messages at once, then ``rate_per_min`` a minute
    rate_per_min: float = 30.0
    burst: int = 10
    #: messages held for a receiver not yet receipted, per chat and direction
    max_pending: int = 100
    #: a counselor whose presence went away this long ago has lost the chat (reassigning)
    lost_grace_s: float = 10.0
    #: a person whose tab went away this long ago has left (abandoned, or ended)
    guest_grace_s: float = 30.0
    #: the longest wait between two attempts to reach the server
    reconnect_max_s: float = 5.0
    #: position updates to the people waiting are sent at most this often
    position_every_s: float = 1.0
    #: where the router keeps its chats across a restart (ids only; "" = in memory only)
    state_file: str = ""

    @property
    def jid(self) -> str:
        return f"router.{self.domain}"

    @property
    def guest_domain(self) -> str:
        return f"guest.{self.domain}"


def load_settings(path: Path) -> RouterSettings:
    """Read ``[router]`` of a TOML file. The component secret comes from ``secret_file``, a
    file only its owner may read (never the command line, never the TOML itself)."""
    from core.errors import ConfigError
    from core.i18n import _

    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(
            _("The router's settings file cannot be read: {error}").format(error=exc)
        ) from exc
    table = data.get("router")
    if not isinstance(table, dict):
        raise ConfigError(_("The router's settings file has no [router] table."))
    table = dict(table)
    if "secret" in table:
        raise ConfigError(_("The component secret goes in secret_file, not in the settings file."))
    secret_file = table.pop("secret_file", "")
    if not secret_file:
        raise ConfigError(_("The router's settings need secret_file (the component secret)."))
    secret = read_secret(Path(path).parent / str(secret_file))
    fields = {f.name: f for f in dataclasses.fields(RouterSettings)}
    unknown = sorted(set(table) - set(fields))
    if unknown:
        raise ConfigError(_("Unknown router settings: {names}").format(names=", ".join(unknown)))
    if not isinstance(table.get("domain"), str) or not table["domain"]:
        raise ConfigError(_("The router's settings need domain."))
    values: dict[str, Any] = {}
    for key, value in table.items():
        kind = fields[key].type
        ok = (
            isinstance(value, int | float) and not isinstance(value, bool)
            if kind in ("float", float)
            else isinstance(value, int) and not isinstance(value, bool)
            if kind in ("int", int)
            else isinstance(value, str)
        )
        if not ok:
            raise ConfigError(_("The router setting {name} has the wrong type.").format(name=key))
        values[key] = float(value) if kind in ("float", float) else value
    if values.get("state_file"):
        values["state_file"] = str(Path(path).parent / str(values["state_file"]))
    return RouterSettings(secret=secret, **values)


def read_secret(path: Path) -> str:
    """The component secret from a file that only its owner may read."""
    from core.errors import ConfigError
    from core.i18n import _

    path = Path(path).resolve()
    try:
        mode = path.stat().st_mode
        secret = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(
            _("The component secret file cannot be read: {error}").format(error=exc)
        ) from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            _("The component secret file {path} may be read by others: chmod 600 it.").format(
                path=path
            )
        )
    if not secret:
        raise ConfigError(_("The component secret file is empty."))
    return secret


class RouterHooks:
    """What supervision hears of the queue. The default logs codes only (chat ids and
    seconds, never text or addresses); give the router another object with these three
    methods to reach the supervisors (they are called on the router's loop: do not block)."""

    def alert(self, chat_id: str, waited_s: float) -> None:
        log.warning("chat %s unanswered: waited %.0f s", chat_id, waited_s)

    def abandoned(self, chat_id: str, waited_s: float) -> None:
        log.info("chat %s abandoned after %.0f s", chat_id, waited_s)

    def answered(self, chat_id: str, waited_s: float) -> None:
        log.info("chat %s answered after %.0f s", chat_id, waited_s)

    def queue(self, waiting: int, open_chats: int, oldest_s: float) -> None:
        """Every second: how many wait, how many chats are open, the oldest wait."""


@dataclasses.dataclass
class _Held:
    """A message held until its receiver's receipt (then dropped)."""

    body: str
    seq: str
    at: str


@dataclasses.dataclass
class _Counselor:
    bare: str
    full: str
    capacity: int = 0
    busy: bool = False
    present: bool = True
    chats: set[str] = dataclasses.field(default_factory=set)
    offer: str | None = None
    last_offer: float = 0.0
    epoch: int = 0
    lost_timer: asyncio.TimerHandle | None = None

    def free(self) -> bool:
        return (
            self.present
            and not self.busy
            and self.offer is None
            and len(self.chats) < self.capacity
        )


@dataclasses.dataclass
class _Chat:
    id: str
    session: str  # "" for a chat read back from the state file until its person says hello
    lang: str
    guest: str | None
    created: float
    order: float  # queue order: a reassigned chat goes to the head
    counselor: str | None = None  # bare JID once accepted
    offered_to: str | None = None
    offer_timer: asyncio.TimerHandle | None = None
    tried: set[str] = dataclasses.field(default_factory=set)
    round_pending: bool = False
    alerted: bool = False
    position: int = 0
    epoch: int = 0
    guest_timer: asyncio.TimerHandle | None = None
    to_counselor: OrderedDict[str, _Held] = dataclasses.field(default_factory=OrderedDict)
    to_person: OrderedDict[str, _Held] = dataclasses.field(default_factory=OrderedDict)
    delivered: OrderedDict[str, None] = dataclasses.field(default_factory=OrderedDict)
    tokens: float = 0.0
    refilled: float = 0.0

    @property
    def connected(self) -> bool:
        return self.counselor is not None


def _q(ns: str, tag: str) -> str:
    return f"{{{ns}}}{tag}"


FARO = _q(p.NS, "faro")


class Router:
    def __init__(
        self,
        settings: RouterSettings,
        hooks: RouterHooks | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        now: Callable[[], _dt.datetime] = lambda: _dt.datetime.now(_dt.UTC),
    ) -> None:
        self.settings = settings
        self.hooks = hooks or RouterHooks()
        self._monotonic = monotonic
        self._now = now
        self.chats: dict[str, _Chat] = {}
        self.guests: dict[str, str] = {}  # guest full JID → chat id (said hello)
        self.counselors: dict[str, _Counselor] = {}  # bare JID → counselor
        self.closed: OrderedDict[str, str] = OrderedDict()  # chat id → reason
        self.online = False
        self.epoch = 0
        self.started: float | None = None  # the first session start of this process
        self._id_key = hashlib.sha256(b"faro chat id\0" + settings.secret.encode()).digest()
        self._save_timer: asyncio.TimerHandle | None = None
        self.save_errors = 0
        self.stats = {"relayed": 0, "refused": 0, "offers": 0, "queue_full": 0}
        self._position_timer: asyncio.TimerHandle | None = None
        self._tick: asyncio.TimerHandle | None = None
        self._stopping = False
        self._retry: asyncio.TimerHandle | None = None
        self._refused = 0  # streams closed before the handshake, in a row
        self.xmpp: Any = None
        self.connected_event: asyncio.Event | None = None

    # -- lifetime ---------------------------------------------------------------------------------
    async def start(self) -> None:
        """Connect (and keep reconnecting) on the running loop; returns once connecting."""
        from slixmpp import ComponentXMPP

        self.loop = asyncio.get_running_loop()
        self.connected_event = asyncio.Event()
        s = self.settings
        self._load()

        xmpp = capped(ComponentXMPP, s.reconnect_max_s)(s.jid, s.secret, s.host, s.port)
        self.xmpp = xmpp
        p.register()
        from slixmpp.xmlstream.handler import Callback
        from slixmpp.xmlstream.matcher import StanzaPath

        xmpp.register_handler(Callback("faro message", StanzaPath("message"), self._on_message))
        xmpp.register_handler(Callback("faro presence", StanzaPath("presence"), self._on_presence))
        xmpp.add_event_handler("session_start", self._on_session_start)
        xmpp.add_event_handler("disconnected", self._on_disconnected)
        xmpp.whitespace_keepalive_interval = 30
        xmpp.connect()
        self._tick = self.loop.call_later(1.0, self._on_tick)

    async def stop(self) -> None:
        self._stopping = True
        if self._tick:
            self._tick.cancel()
        if self._retry is not None:
            self._retry.cancel()
        if self._save_timer is not None:
            self._save_timer.cancel()
            self._save()
        if self.xmpp is not None:
            self.xmpp.cancel_connection_attempt()
            if self.online:
                await self.xmpp.disconnect(wait=1.0)

    async def run_forever(self) -> None:
        await self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.stop()

    def _on_session_start(self, _event: Any) -> None:
        self.online = True
        self._refused = 0
        self.epoch += 1
        if self.started is None:
            self.started = self._monotonic()
        log.info("router connected as %s", self.settings.jid)
        assert self.connected_event is not None
        self.connected_event.set()
        epoch = self.epoch
        # tell everybody we knew that the router is back: a console re-announces itself and
        # resends what is not receipted, a person's tab says hello again and resends (after
        # a server restart they reconnect and do so anyway; after a restart of the router
        # itself, this is how they learn)
        for c in self.counselors.values():
            self._send_presence(c.full)
        for chat in self.chats.values():
            if chat.guest is not None:
                self._send_presence(chat.guest)
        self.loop.call_later(self.settings.lost_grace_s, self._check_counselors, epoch)
        self.loop.call_later(self.settings.guest_grace_s, self._check_guests, epoch)
        self._dispatch()

    def _on_disconnected(self, _reason: Any) -> None:
        if not self.online:
            # the stream closed before the handshake finished (a server still starting or
            # restarting, a refused secret): slixmpp retries only connections that failed to
            # open, so without this the router would stay offline for good
            if not self._stopping:
                self._refused += 1
                if self._refused == 3:
                    log.warning(
                        "the chat server closes the router's stream before the "
                        "handshake (is the component secret right?); still trying"
                    )
                self._schedule_reconnect(
                    min(self.settings.reconnect_max_s, 0.25 * 2 ** min(self._refused, 8))
                )
            return
        self.online = False
        if self.connected_event is not None:
            self.connected_event.clear()
        log.warning("router lost the server; reconnecting")
        # offers in flight are void: they are made again once everybody is back; grace timers
        # stop (the server's own shutdown says everybody left): after the reconnection,
        # whoever has not come back within the grace time is gone (_check_counselors)
        for chat in self.chats.values():
            self._clear_offer(chat)
            if chat.guest_timer is not None:
                chat.guest_timer.cancel()
                chat.guest_timer = None
        for c in self.counselors.values():
            if c.lost_timer is not None:
                c.lost_timer.cancel()
                c.lost_timer = None
        if not self._stopping:
            self._schedule_reconnect(0.5)

    def _schedule_reconnect(self, delay: float) -> None:
        if self._retry is not None:
            self._retry.cancel()
        self._retry = self.loop.call_later(delay, self._reconnect)

    def _reconnect(self) -> None:
        self._retry = None
        if not self._stopping and not self.online:
            self.xmpp.connect()

    def _check_counselors(self, epoch: int) -> None:
        if epoch != self.epoch or not self.online:
            return
        for c in list(self.counselors.values()):
            if c.epoch < epoch:
                self._counselor_lost(c)

    def _check_guests(self, epoch: int) -> None:
        if epoch != self.epoch or not self.online:
            return
        for chat in list(self.chats.values()):
            if chat.epoch < epoch:
                self._person_left(chat, "person_lost")

    def _on_tick(self) -> None:
        self._tick = self.loop.call_later(1.0, self._on_tick)
        now = self._monotonic()
        waiting, open_chats, oldest = 0, 0, 0.0
        for chat in self.chats.values():
            if chat.connected:
                open_chats += 1
                continue
            waited = now - chat.created
            waiting += 1
            oldest = max(oldest, waited)
            if chat.alerted:
                continue
            if waited >= self.settings.alert_after_s:
                chat.alerted = True
                self.hooks.alert(chat.id, waited)
                self._save_soon()
        queue = getattr(self.hooks, "queue", None)
        if queue is not None:  # the supervisors' view of the queue (app/chat_router.py)
            queue(waiting, open_chats, oldest)

    # -- sending ----------------------------------------------------------------------------------
    def _send(
        self,
        to: str,
        faro: dict[str, object] | None = None,
        *,
        body: str | None = None,
        mid: str | None = None,
        extra: tuple[ET.Element, ...] = (),
    ) -> None:
        if not self.online:
            return  # the sender resends; a held message is sent again when its receiver is back
        msg = self.xmpp.make_message(mto=to, mfrom=self.settings.jid, mtype="chat")
        if body is not None:
            msg["body"] = body
        if mid is not None:
            msg["id"] = mid
        if faro is not None:
            attrs = {k: str(v) for k, v in faro.items() if v is not None and v != ""}
            ET.SubElement(msg.xml, FARO, attrs)
        for el in extra:
            msg.xml.append(el)
        msg.send()

    def _send_presence(self, to: str, ptype: str | None = None) -> None:
        if not self.online:
            return
        pres = self.xmpp.make_presence(pto=to, pfrom=self.settings.jid, ptype=ptype)
        pres.send()

    def _to_counselor(self, chat: _Chat, faro: dict[str, object], **kw: Any) -> None:
        c = self.counselors.get(chat.counselor or "")
        if c is not None and c.present:
            self._send(c.full, {"chat": chat.id, **faro}, **kw)

    def _to_person(self, chat: _Chat, faro: dict[str, object] | None = None, **kw: Any) -> None:
        if chat.guest is not None:
            self._send(chat.guest, faro, **kw)

    def _state(self, chat: _Chat, state: str, reason: str = "", **extra: object) -> None:
        self._to_person(chat, {"kind": p.STATE, "state": state, "reason": reason, **extra})

    def _waiting_state(self, chat: _Chat) -> None:
        waited = int(self._monotonic() - chat.created)
        self._state(chat, p.WAITING, position=chat.position, wait_s=waited)

    # -- stanzas in -------------------------------------------------------------------------------
    def _on_message(self, msg: Any) -> None:
        try:
            self._message(msg)
        except Exception:  # a bad stanza must never stop the router
            log.exception("chat router: a message could not be handled")

    def _on_presence(self, pres: Any) -> None:
        try:
            self._presence(pres)
        except Exception:
            log.exception("chat router: a presence could not be handled")

    def _message(self, msg: Any) -> None:
        if msg["type"] == "error":
            return  # a bounce: the receiver is gone; its grace timer decides
        sender = str(msg["from"])
        host = msg["from"].domain
        el = msg.xml.find(FARO)
        faro = dict(el.attrib) if el is not None else {}
        if host == self.settings.guest_domain:
            self._from_person(sender, msg, faro)
        elif host == self.settings.domain:
            self._from_counselor(msg["from"], msg, faro)

    def _presence(self, pres: Any) -> None:
        sender = str(pres["from"])
        host = pres["from"].domain
        ptype = pres["type"]
        if ptype in ("subscribe", "subscribed", "unsubscribe", "unsubscribed", "probe", "error"):
            return
        el = pres.xml.find(FARO)
        faro = dict(el.attrib) if el is not None else {}
        if host == self.settings.guest_domain:
            if ptype == "unavailable":
                self._guest_gone(sender)
            elif faro.get("kind") == p.HELLO:
                self._hello(sender, faro)
        elif host == self.settings.domain:
            bare = pres["from"].bare
            if ptype == "unavailable":
                self._counselor_unavailable(bare, sender)
            elif faro.get("kind") == p.READY:
                self._ready(bare, sender, faro)

    # -- the person -------------------------------------------------------------------------------
    def _hello(self, jid: str, faro: dict[str, str]) -> None:
        session = faro.get("session", "")
        if not p.valid_session(session):
            self._send(jid, {"kind": p.STATE, "state": p.CLOSED, "reason": "unknown_chat"})
            return
        lang = faro.get("lang", "")[:16]
        chat_id = self.chat_id(session)
        old_id = self.guests.get(jid)
        if old_id is not None and old_id != chat_id:
            # one tab, one chat: a new session from the same address ends the old one
            old = self.chats.get(old_id)
            if old is not None:
                self._person_left(old, "by_person")
        known = self.chats.get(chat_id)
        if known is None:
            if chat_id in self.closed:
                self._send(
                    jid, {"kind": p.STATE, "state": p.CLOSED, "reason": self.closed[chat_id]}
                )
                return
            waiting = sum(1 for c in self.chats.values() if not c.connected)
            if waiting >= self.settings.queue_limit:
                self.stats["queue_full"] += 1
                log.warning("chat queue full (%d waiting): a new chat was turned away", waiting)
                self._send(jid, {"kind": p.STATE, "state": p.CLOSED, "reason": "queue_full"})
                return
            now = self._monotonic()
            chat = _Chat(
                id=chat_id,
                session=session,
                lang=lang,
                guest=jid,
                created=now,
                order=now,
                epoch=self.epoch,
                tokens=float(self.settings.burst),
                refilled=now,
            )
            self.chats[chat.id] = chat
            self.guests[jid] = chat.id
            # told at once (the others' positions are not changed by a newcomer at the tail)
            chat.position = waiting + 1
            self._waiting_state(chat)
            self._save_soon()
            self._dispatch()
            return
        chat = known
        if not chat.session:  # read back from the state file, or adopted from a console
            chat.session, chat.lang = session, chat.lang or lang
        if chat.guest is not None and chat.guest != jid:
            # the newer tab takes over; the older one is told where the chat went
            self._send(chat.guest, {"kind": p.STATE, "state": p.ELSEWHERE})
            self.guests.pop(chat.guest, None)
        if chat.guest != jid:
            chat.guest = jid
            self._save_soon()
        chat.epoch = self.epoch
        self.guests[jid] = chat.id
        if chat.guest_timer is not None:
            chat.guest_timer.cancel()
            chat.guest_timer = None
        if chat.connected:
            self._state(chat, p.CONNECTED)
        else:
            self._waiting_state(chat)
        for mid, held in chat.to_person.items():
            self._relay_to_person(chat, mid, held)

    def chat_id(self, session: str) -> str:
        """A chat's id: a keyed hash of the person's session token (the same after a restart
        of the router, and telling nobody the token)."""
        digest = hmac.new(self._id_key, session.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:12]).decode()

    def _chat_of_guest(self, jid: str) -> _Chat | None:
        return self.chats.get(self.guests.get(jid, ""))

    def _from_person(self, jid: str, msg: Any, faro: dict[str, str]) -> None:
        kind = faro.get("kind", "")
        if kind == p.HELLO:
            self._hello(jid, faro)
            return
        chat = self._chat_of_guest(jid)
        if chat is None:
            if msg["body"] or kind:
                # not known here (a chat of the moments before a restart, or one that ended):
                # asked who it is; its hello then finds its chat, or is told it is closed
                self._send_presence(jid)
            return
        if kind == p.BYE:
            reason = "quick_exit" if faro.get("reason") == "quick_exit" else "by_person"
            self._person_left(chat, reason)
            return
        xml = msg.xml
        received = xml.find(_q(RECEIPTS, "received"))
        if received is not None:
            mid = received.get("id", "")
            if chat.to_person.pop(mid, None) is not None:
                self._remember(chat, mid)
                self._to_counselor(chat, {"kind": p.RECEIVED, "mid": mid})
        displayed = xml.find(_q(MARKERS, "displayed"))
        if displayed is not None and p.valid_mid(displayed.get("id", "")):
            self._to_counselor(chat, {"kind": p.READ, "mid": displayed.get("id")})
        for state in ("composing", "paused", "active"):
            if xml.find(_q(CHATSTATES, state)) is not None:
                typing = "composing" if state == "composing" else "paused"
                self._to_counselor(chat, {"kind": p.TYPING, "state": typing})
        if msg["body"] or any(child.tag.endswith("}body") for child in xml):
            self._person_text(chat, jid, msg, faro)

    def _person_text(self, chat: _Chat, jid: str, msg: Any, faro: dict[str, str]) -> None:
        origin = msg.xml.find(_q(SID, "origin-id"))
        mid = origin.get("id", "") if origin is not None else msg["id"]
        if not p.valid_mid(mid):
            self._refuse_person(
                jid, mid if isinstance(mid, str) and len(mid) < 200 else "", "not_text"
            )
            return
        if mid in chat.delivered:
            self._send(jid, extra=(_receipt(mid),))  # resent after its receipt was lost
            return
        held = chat.to_counselor.get(mid)
        if held is not None:
            self._relay_to_counselor(chat, mid, held)  # resent: same message, same seq
            return
        if not self._take_token(chat):
            self._refuse_person(jid, mid, "too_fast")
            return
        text, reason = p.clean_text(msg["body"])
        if text is None:
            self._refuse_person(jid, mid, reason)
            return
        if len(chat.to_counselor) >= self.settings.max_pending:
            self._refuse_person(jid, mid, "too_fast")
            return
        held = _Held(text, faro.get("seq", "") if faro.get("seq", "").isdigit() else "", self._at())
        chat.to_counselor[mid] = held
        self._relay_to_counselor(chat, mid, held)

    def _take_token(self, chat: _Chat) -> bool:
        now = self._monotonic()
        rate = self.settings.rate_per_min / 60.0
        chat.tokens = min(float(self.settings.burst), chat.tokens + (now - chat.refilled) * rate)
        chat.refilled = now
        if chat.tokens < 1.0:
            return False
        chat.tokens -= 1.0
        return True

    def _refuse_person(self, jid: str, mid: str, reason: str) -> None:
        self.stats["refused"] += 1
        self._send(jid, {"kind": p.REFUSED, "mid": mid, "reason": reason})

    def _relay_to_counselor(self, chat: _Chat, mid: str, held: _Held) -> None:
        if chat.connected:
            self.stats["relayed"] += 1
            self._to_counselor(
                chat,
                {"kind": p.MSG, "mid": mid, "seq": held.seq, "at": held.at},
                body=held.body,
                mid=mid,
            )

    def _relay_to_person(self, chat: _Chat, mid: str, held: _Held) -> None:
        self.stats["relayed"] += 1
        request = ET.Element(_q(RECEIPTS, "request"))
        markable = ET.Element(_q(MARKERS, "markable"))
        origin = ET.Element(_q(SID, "origin-id"), {"id": mid})
        self._to_person(
            chat,
            {"kind": p.MSG, "mid": mid, "seq": held.seq, "at": held.at},
            body=held.body,
            mid=mid,
            extra=(request, markable, origin),
        )

    def _guest_gone(self, jid: str) -> None:
        chat = self._chat_of_guest(jid)
        self.guests.pop(jid, None)
        if chat is None or chat.guest != jid:
            return
        chat.guest = None
        if chat.guest_timer is None:
            chat.guest_timer = self.loop.call_later(
                self.settings.guest_grace_s, self._guest_timeout, chat.id
            )

    def _guest_timeout(self, chat_id: str) -> None:
        chat = self.chats.get(chat_id)
        if chat is not None and chat.guest is None:
            chat.guest_timer = None
            self._person_left(chat, "person_lost")

    def _person_left(self, chat: _Chat, reason: str) -> None:
        waited = self._monotonic() - chat.created
        if chat.connected:
            self._to_counselor(chat, {"kind": p.ENDED, "reason": reason})
        else:
            if chat.offered_to is not None:
                c = self.counselors.get(chat.offered_to)
                if c is not None:
                    self._send(c.full, {"kind": p.WITHDRAWN, "chat": chat.id, "reason": reason})
            self.hooks.abandoned(chat.id, waited)
        if chat.guest is not None:
            self._state(chat, p.CLOSED, reason)
        self._drop(chat, reason)

    # -- the counselor ----------------------------------------------------------------------------
    def _ready(self, bare: str, full: str, faro: dict[str, str]) -> None:
        try:
            capacity = max(0, min(100, int(faro.get("capacity", "0"))))
        except ValueError:
            capacity = 0
        c = self.counselors.get(bare)
        if c is None:
            c = self.counselors[bare] = _Counselor(bare=bare, full=full)
        # a console that comes back (a new stream, or after the router's own reconnection)
        # says which chats it still has; a ready of the same stream only changes capacity
        # (it may have crossed an ``assigned`` on the way)
        fresh = not c.present or c.full != full or c.epoch < self.epoch
        c.full = full
        c.capacity = capacity
        c.busy = faro.get("busy", "0") in ("1", "true")
        c.present = True
        c.epoch = self.epoch
        if c.lost_timer is not None:
            c.lost_timer.cancel()
            c.lost_timer = None
        listed = set(faro.get("chats", "").split())
        for chat_id in sorted(c.chats - listed if fresh else ()):
            # the console no longer has it (restarted): the person is not left alone
            chat = self.chats.get(chat_id)
            if chat is not None:
                self._reassign(chat, c)
        for chat_id in sorted(listed - c.chats):
            chat = self.chats.get(chat_id)
            if chat is None and self._adoptable(chat_id):
                self._adopt(c, chat_id)
            elif chat is not None and not chat.connected and self._adoptable(chat_id):
                self._take_back(c, chat)  # its person said hello first
            elif chat is None or chat.offered_to != c.bare:  # not an accept still on its way
                self._send(c.full, {"kind": p.ENDED, "chat": chat_id, "reason": "unknown_chat"})
        for chat_id in sorted(c.chats):
            chat = self.chats[chat_id]
            for mid, held in chat.to_counselor.items():
                self._relay_to_counselor(chat, mid, held)
        if c.offer is not None and c.offer in self.chats:
            chat = self.chats[c.offer]
            if c.busy or len(c.chats) >= c.capacity:
                # a call began ringing, a break, the notes locked, every place taken: the
                # offer goes to the next counselor now, not when it expires (and comes back
                # to this one, untried, once they are free again)
                self._send(c.full, {"kind": p.WITHDRAWN, "chat": chat.id, "reason": "busy"})
                self._clear_offer(chat)
            else:
                self._send(c.full, self._offer_faro(chat))
        if fresh:
            self._save_soon()
        self._dispatch()

    def _adoptable(self, chat_id: str) -> bool:
        """A chat a console says it has and the router does not know is taken back only in
        the first grace time after the router started (accepted in the moments before a
        crash, after the state file was last written), never one that ended."""
        s = self.settings
        return (
            self.started is not None
            and self._monotonic() - self.started < max(s.lost_grace_s, s.guest_grace_s)
            and chat_id not in self.closed
            and p.valid_mid(chat_id)
        )

    def _adopt(self, c: _Counselor, chat_id: str) -> None:
        now = self._monotonic()
        chat = _Chat(
            id=chat_id,
            session="",
            lang="",
            guest=None,
            created=now,
            order=now,
            counselor=c.bare,
            epoch=0,  # its person has until the guest grace time to say hello
            tokens=float(self.settings.burst),
            refilled=now,
        )
        self.chats[chat_id] = chat
        c.chats.add(chat_id)
        chat.guest_timer = self.loop.call_later(
            self.settings.guest_grace_s, self._guest_timeout, chat_id
        )
        self._save_soon()

    def _take_back(self, c: _Counselor, chat: _Chat) -> None:
        """A chat this console had before the router restarted, whose person came back
        first (and waits again): the same counselor has it again, without a new offer."""
        other = self.counselors.get(chat.offered_to or "")
        if other is not None and other is not c:
            self._send(other.full, {"kind": p.WITHDRAWN, "chat": chat.id, "reason": "taken"})
        self._clear_offer(chat)
        chat.counselor = c.bare
        chat.position = 0
        c.chats.add(chat.id)
        self._state(chat, p.CONNECTED)
        for mid, held in chat.to_counselor.items():
            self._relay_to_counselor(chat, mid, held)
        self._save_soon()
        self._positions_now()

    def _counselor_unavailable(self, bare: str, full: str) -> None:
        c = self.counselors.get(bare)
        if c is None or c.full != full:
            return  # another console of the same account, or an old one
        c.present = False
        if c.offer is not None:
            chat = self.chats.get(c.offer)
            if chat is not None:
                self._clear_offer(chat)
        if c.lost_timer is None:
            c.lost_timer = self.loop.call_later(
                self.settings.lost_grace_s, self._lost_timeout, bare
            )
        self._dispatch()

    def _lost_timeout(self, bare: str) -> None:
        c = self.counselors.get(bare)
        if c is not None and not c.present:
            c.lost_timer = None
            self._counselor_lost(c)

    def _counselor_lost(self, c: _Counselor) -> None:
        log.warning("a counselor's console was lost with %d chat(s)", len(c.chats))
        if c.offer is not None and c.offer in self.chats:
            self._clear_offer(self.chats[c.offer])
        for chat_id in sorted(c.chats):
            chat = self.chats.get(chat_id)
            if chat is not None:
                self._reassign(chat, c)
        self.counselors.pop(c.bare, None)
        self._save_soon()
        self._dispatch()

    def _reassign(self, chat: _Chat, c: _Counselor) -> None:
        c.chats.discard(chat.id)
        chat.counselor = None
        chat.tried = {c.bare}
        chat.order = min((x.order for x in self.chats.values()), default=0.0) - 1.0
        # nothing is kept after delivery: the next counselor gets only what was never
        # receipted (docs/chat.md); the person is told
        self._state(chat, p.REASSIGNING, "counselor_lost")
        self._save_soon()
        self._positions_now()

    def _from_counselor(self, jid: Any, msg: Any, faro: dict[str, str]) -> None:
        c = self.counselors.get(jid.bare)
        kind = faro.get("kind", "")
        chat_id = faro.get("chat", "")
        chat = self.chats.get(chat_id)
        if c is None:
            if kind:
                # not known here (after a restart of the router): asked to say ready, which
                # lists its chats; those the router does not have are then ended
                self._send_presence(str(jid))
            return
        if c.full != str(jid):
            c.full = str(jid)
        if kind == p.ACCEPT:
            self._accept(c, chat, chat_id)
        elif kind == p.DECLINE:
            if chat is not None and chat.offered_to == c.bare:
                chat.tried.add(c.bare)
                self._clear_offer(chat)
                self._dispatch()
        elif chat is None or chat.counselor != c.bare:
            if kind in (p.MSG, p.END, p.TYPING, p.RECEIVED, p.READ):
                if kind == p.MSG:
                    self._send(
                        c.full,
                        {
                            "kind": p.REFUSED,
                            "chat": chat_id,
                            "mid": faro.get("mid", ""),
                            "reason": "unknown_chat",
                        },
                    )
                elif kind == p.END:
                    self._send(c.full, {"kind": p.ENDED, "chat": chat_id, "reason": "by_counselor"})
        elif kind == p.MSG:
            self._counselor_text(c, chat, msg, faro)
        elif kind == p.RECEIVED:
            mid = faro.get("mid", "")
            if chat.to_counselor.pop(mid, None) is not None:
                self._remember(chat, mid)
                self._to_person(chat, extra=(_receipt(mid),))
        elif kind == p.READ:
            mid = faro.get("mid", "")
            if p.valid_mid(mid):
                self._to_person(chat, extra=(ET.Element(_q(MARKERS, "displayed"), {"id": mid}),))
        elif kind == p.TYPING:
            state = "composing" if faro.get("state") == "composing" else "paused"
            self._to_person(chat, extra=(ET.Element(_q(CHATSTATES, state)),))
        elif kind == p.END:
            self._to_counselor(chat, {"kind": p.ENDED, "reason": "by_counselor"})
            self._state(chat, p.CLOSED, "by_counselor")
            self._drop(chat, "by_counselor")

    def _counselor_text(self, c: _Counselor, chat: _Chat, msg: Any, faro: dict[str, str]) -> None:
        mid = faro.get("mid", "")
        if not p.valid_mid(mid):
            self._send(
                c.full, {"kind": p.REFUSED, "chat": chat.id, "mid": "", "reason": "not_text"}
            )
            return
        if mid in chat.delivered:
            self._send(c.full, {"kind": p.RECEIVED, "chat": chat.id, "mid": mid})
            return
        held = chat.to_person.get(mid)
        if held is not None:
            self._relay_to_person(chat, mid, held)
            return
        text, reason = p.clean_text(msg["body"])
        if text is None or len(chat.to_person) >= self.settings.max_pending:
            self.stats["refused"] += 1
            self._send(
                c.full,
                {"kind": p.REFUSED, "chat": chat.id, "mid": mid, "reason": reason or "too_fast"},
            )
            return
        seq = faro.get("seq", "")
        held = _Held(text, seq if seq.isdigit() else "", self._at())
        chat.to_person[mid] = held
        self._relay_to_person(chat, mid, held)

    def _accept(self, c: _Counselor, chat: _Chat | None, chat_id: str) -> None:
        if chat is None or chat.offered_to != c.bare:
            reason = "taken" if chat is not None and chat.connected else "expired"
            self._send(c.full, {"kind": p.WITHDRAWN, "chat": chat_id, "reason": reason})
            return
        self._clear_offer(chat)
        chat.counselor = c.bare
        chat.position = 0
        c.chats.add(chat.id)
        waited = self._monotonic() - chat.created
        self._send(c.full, {"kind": p.ASSIGNED, "chat": chat.id, "lang": chat.lang})
        self._state(chat, p.CONNECTED)
        self.hooks.answered(chat.id, waited)
        for mid, held in chat.to_counselor.items():
            self._relay_to_counselor(chat, mid, held)
        self._save_soon()
        self._positions_now()
        self._dispatch()

    # -- offers -----------------------------------------------------------------------------------
    def _offer_faro(self, chat: _Chat) -> dict[str, object]:
        return {
            "kind": p.OFFER,
            "chat": chat.id,
            "lang": chat.lang,
            "waited_s": round(self._monotonic() - chat.created, 1),
            "expires_s": self.settings.offer_timeout_s,
        }

    def _clear_offer(self, chat: _Chat) -> None:
        if chat.offer_timer is not None:
            chat.offer_timer.cancel()
            chat.offer_timer = None
        if chat.offered_to is not None:
            c = self.counselors.get(chat.offered_to)
            if c is not None and c.offer == chat.id:
                c.offer = None
            chat.offered_to = None

    def _offer_expired(self, chat_id: str) -> None:
        chat = self.chats.get(chat_id)
        if chat is None or chat.offered_to is None:
            return
        c = self.counselors.get(chat.offered_to)
        chat.offer_timer = None
        chat.tried.add(chat.offered_to)
        if c is not None:
            self._send(c.full, {"kind": p.WITHDRAWN, "chat": chat.id, "reason": "expired"})
        self._clear_offer(chat)
        self._dispatch()

    def _dispatch(self) -> None:
        """Offer each waiting chat (in queue order) to one free counselor: fewest open chats
        first, then the longest since their last offer."""
        if not self.online:
            return
        free = [c for c in self.counselors.values() if c.free()]
        if not free:
            return
        waiting = sorted(
            (c for c in self.chats.values() if not c.connected and c.offered_to is None),
            key=lambda c: c.order,
        )
        now = self._monotonic()
        for chat in waiting:
            if not free:
                break
            candidates = [c for c in free if c.bare not in chat.tried]
            if not candidates:
                present = [c for c in self.counselors.values() if c.present and c.capacity > 0]
                if (
                    present
                    and not chat.round_pending
                    and all(c.bare in chat.tried for c in present)
                ):
                    # offered to everyone: an alert, and a new round after one offer time
                    if not chat.alerted:
                        chat.alerted = True
                        self.hooks.alert(chat.id, now - chat.created)
                        self._save_soon()
                    chat.round_pending = True
                    self.loop.call_later(self.settings.offer_timeout_s, self._new_round, chat.id)
                continue
            best = min(candidates, key=lambda c: (len(c.chats), c.last_offer))
            free.remove(best)
            best.offer = chat.id
            best.last_offer = now
            chat.offered_to = best.bare
            chat.offer_timer = self.loop.call_later(
                self.settings.offer_timeout_s, self._offer_expired, chat.id
            )
            self.stats["offers"] += 1
            self._send(best.full, self._offer_faro(chat))

    def _new_round(self, chat_id: str) -> None:
        chat = self.chats.get(chat_id)
        if chat is not None:
            chat.round_pending = False
            if not chat.connected:
                chat.tried = set()
                self._dispatch()

    # -- positions --------------------------------------------------------------------------------
    def _positions_now(self) -> None:
        if self._position_timer is None:
            self._position_timer = self.loop.call_later(0.0, self._positions)

    def _positions(self) -> None:
        self._position_timer = None
        waiting = sorted((c for c in self.chats.values() if not c.connected), key=lambda c: c.order)
        changed = False
        for i, chat in enumerate(waiting, 1):
            if chat.position != i:
                chat.position = i
                changed = True
                self._waiting_state(chat)
        if changed:
            # coalesce: the next burst of changes is told at most once per position_every_s
            self._position_timer = self.loop.call_later(
                self.settings.position_every_s, self._positions_idle
            )

    def _positions_idle(self) -> None:
        self._position_timer = None
        self._positions()

    # -- the state file ---------------------------------------------------------------------------
    def _save_soon(self) -> None:
        if self.settings.state_file and self._save_timer is None and not self._stopping:
            self._save_timer = self.loop.call_later(SAVE_EVERY_S, self._save)

    def state(self) -> dict[str, Any]:
        """What the state file holds: ids, addresses, codes and seconds; no text, no token."""
        now = self._monotonic()
        return {
            "version": STATE_VERSION,
            "saved_at": self._at(),
            "chats": [
                {
                    "id": c.id,
                    "lang": c.lang,
                    "guest": c.guest,
                    "counselor": c.counselor,
                    "waited_s": round(now - c.created, 3),
                    "order_s": round(c.order - now, 3),
                    "alerted": c.alerted,
                }
                for c in self.chats.values()
            ],
            "counselors": [{"bare": c.bare, "full": c.full} for c in self.counselors.values()],
            "closed": list(self.closed.items())[-STATE_CLOSED:],
        }

    def _save(self) -> None:
        self._save_timer = None
        path = Path(self.settings.state_file)
        tmp = path.with_name(path.name + ".tmp")
        try:
            data = json.dumps(self.state(), separators=(",", ":")).encode()
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
        except OSError as exc:
            # disk full or not allowed: the chats go on in memory; the next change tries again
            self.save_errors += 1
            if self.save_errors == 1 or self.save_errors % 100 == 0:
                log.error("the router's state file %s cannot be written: %s", path, exc)

    def _load(self) -> None:
        """Read the state file back (a missing one: a first start). A damaged one is moved
        aside, never overwritten, and the router starts empty (consoles and tabs that ask are
        taken back)."""
        if not self.settings.state_file:
            return
        path = Path(self.settings.state_file)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return
        except OSError as exc:
            log.error("the router's state file %s cannot be read: %s", path, exc)
            return
        try:
            data = json.loads(raw)
            saved = _dt.datetime.fromisoformat(data["saved_at"].replace("Z", "+00:00"))
            chats = [_restored(x) for x in data["chats"]]
            counselors = [(str(x["bare"]), str(x["full"])) for x in data["counselors"]]
            closed = [(str(i), str(r)) for i, r in data.get("closed", [])]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            aside = path.with_name(f"{path.name}.damaged-{int(time.time())}")
            os.replace(path, aside)
            log.error(
                "the router's state file was damaged (%s); kept as %s, starting empty",
                type(exc).__name__,
                aside,
            )
            return
        now = self._monotonic()
        base = now - max(0.0, (self._now() - saved).total_seconds())
        for bare, full in counselors:
            # not present until it answers the router's presence with ready (lost_grace_s)
            self.counselors[bare] = _Counselor(bare=bare, full=full, present=False)
        for cid, lang, guest, counselor, waited, order, alerted in chats:
            chat = _Chat(
                id=cid,
                session="",
                lang=lang,
                guest=guest,
                created=base - waited,
                order=base + order,
                counselor=counselor if counselor in self.counselors else None,
                alerted=alerted,
                tokens=float(self.settings.burst),
                refilled=now,
            )
            self.chats[cid] = chat
            if chat.counselor is not None:
                self.counselors[chat.counselor].chats.add(cid)
        self.closed.update(closed)
        log.info("router state read back: %d chat(s), %d counselor(s)", len(chats), len(counselors))
        for chat in self.chats.values():
            if chat.alerted and not chat.connected:
                # raised before the restart and still waiting: supervision hears it again
                # (its link is new too), and it is cleared when answered or abandoned
                self.hooks.alert(chat.id, now - chat.created)

    # -- helpers ----------------------------------------------------------------------------------
    def _remember(self, chat: _Chat, mid: str) -> None:
        chat.delivered[mid] = None
        while len(chat.delivered) > REMEMBERED_IDS:
            chat.delivered.popitem(last=False)

    def _drop(self, chat: _Chat, reason: str) -> None:
        self._clear_offer(chat)
        if chat.guest_timer is not None:
            chat.guest_timer.cancel()
        if chat.counselor is not None:
            c = self.counselors.get(chat.counselor)
            if c is not None:
                c.chats.discard(chat.id)
        self.chats.pop(chat.id, None)
        if chat.guest is not None and self.guests.get(chat.guest) == chat.id:
            self.guests.pop(chat.guest, None)
        chat.to_counselor.clear()
        chat.to_person.clear()
        self.closed[chat.id] = reason
        while len(self.closed) > REMEMBERED_CLOSED:
            self.closed.popitem(last=False)
        self._save_soon()
        self._positions_now()
        self._dispatch()

    def _at(self) -> str:
        return (
            self._now()
            .astimezone(_dt.UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z")
        )

    def snapshot(self) -> dict[str, int]:
        """Counts for a status line or a benchmark (no ids, no text)."""
        return {
            "chats": len(self.chats),
            "waiting": sum(1 for c in self.chats.values() if not c.connected),
            "connected": sum(1 for c in self.chats.values() if c.connected),
            "counselors": len(self.counselors),
            "held": sum(len(c.to_counselor) + len(c.to_person) for c in self.chats.values()),
            **self.stats,
        }


def capped(cls: Any, max_wait_s: float) -> Any:
    """``cls`` (a slixmpp stream class) whose reconnection attempts wait at most
    ``max_wait_s`` (slixmpp doubles its wait up to 300 s: a chat must be back in seconds)."""

    class Capped(cls):
        def reschedule_connection_attempt(self) -> Any:
            me: Any = self
            if me._current_connection_attempt is None:
                return None
            me._connect_loop_wait = min(max_wait_s, me._connect_loop_wait * 2 + 0.5)
            me._current_connection_attempt = asyncio.ensure_future(me._connect_loop())
            return me._current_connection_attempt

    Capped.__name__ = f"Capped{cls.__name__}"
    return Capped


def _restored(x: dict[str, Any]) -> tuple[str, str, str | None, str | None, float, float, bool]:
    cid = str(x["id"])
    if not p.valid_mid(cid):
        raise ValueError("chat id")
    guest, counselor = x.get("guest"), x.get("counselor")
    return (
        cid,
        str(x.get("lang", ""))[:16],
        str(guest) if guest else None,
        str(counselor) if counselor else None,
        float(x["waited_s"]),
        float(x["order_s"]),
        bool(x.get("alerted", False)),
    )


def _receipt(mid: str) -> ET.Element:
    return ET.Element(_q(RECEIPTS, "received"), {"id": mid})
