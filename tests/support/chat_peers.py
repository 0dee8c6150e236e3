"""Real slixmpp peers speaking Faro's chat protocol (chat/protocol.py), for tests and benchmarks:
a :class:`GuestPeer` (the person writing, SASL ANONYMOUS on ``guest.<domain>``) and a
:class:`CounselorPeer` (a counselor's account), and :class:`RouterThread` (chat/router.py on
its own loop). Every peer runs on one shared :class:`PeerLoop` thread; the methods are
synchronous and thread-safe, and what a peer receives lands in its inbox as :class:`Got`
items that ``expect`` waits for.

    with PeerLoop() as loop, RouterThread(server) as router:
        guest = GuestPeer(loop, server).connect().hello()
        alba = CounselorPeer(loop, server, "c-alba", "pw").connect().ready(capacity=2)
        offer = alba.expect("offer")
        alba.accept(offer["chat"])
        guest.expect("state", state="connected")
        mid = guest.say("hola")
        alba.expect("msg", mid=mid)

Both peers behave like the real clients should: they send receipts for what they get (drop a
duplicate by id, still receipting it), keep what they sent until its receipt and resend it with
the same id when they reconnect, re-announce themselves when the router comes back, and retry
after a bounce. A guest that reconnects gets a NEW anonymous JID and says ``hello`` with the
same session token.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import itertools
import logging
import secrets
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Coroutine
from typing import Any

from chat import protocol as p
from chat.router import (
    CHATSTATES,
    MARKERS,
    RECEIPTS,
    SID,
    Router,
    RouterHooks,
    RouterSettings,
    capped,
)

log = logging.getLogger(__name__)
FARO = f"{{{p.NS}}}faro"


_STOPPED_LOOPS: list[asyncio.AbstractEventLoop] = []


class PeerLoop:
    """One asyncio loop on a daemon thread for many peers."""

    def __init__(self, name: str = "chat-peers") -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn: Callable[..., Any], *args: Any, timeout: float = 30.0) -> Any:
        fut: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def run() -> None:
            try:
                fut.set_result(fn(*args))
            except BaseException as exc:
                fut.set_exception(exc)

        self.loop.call_soon_threadsafe(run)
        return fut.result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        # never closed nor collected: slixmpp streams still alive schedule their own cleanup
        # on it when they are collected, which a closed loop turns into noise
        _STOPPED_LOOPS.append(self.loop)

    def __enter__(self) -> PeerLoop:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RouterThread:
    """chat/router.py's :class:`Router` on its own loop and thread (as its own process would
    be), connected to a tests.support.prosody server."""

    def __init__(self, server: Any, hooks: RouterHooks | None = None, **settings: Any) -> None:
        defaults: dict[str, Any] = {
            "offer_timeout_s": 5.0,
            "lost_grace_s": 3.0,
            "guest_grace_s": 4.0,
            "reconnect_max_s": 1.0,
            "position_every_s": 0.2,
        }
        defaults.update(settings)
        self.settings = RouterSettings(
            domain=server.domain,
            secret=server.secret,
            host="127.0.0.1",
            port=defaults.pop("port", server.component_port),
            **defaults,
        )
        self.ploop = PeerLoop("chat-router")
        self.router = Router(self.settings, hooks)

    def start(self) -> RouterThread:
        self.ploop.run(self.router.start())
        self.wait_online()
        return self

    def wait_online(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.ploop.call(lambda: self.router.online):
            if time.monotonic() > deadline:
                raise TimeoutError("the router did not connect")
            time.sleep(0.05)

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        return self.ploop.call(fn, *args)

    def snapshot(self) -> dict[str, int]:
        return self.ploop.call(self.router.snapshot)

    def stop(self) -> None:
        try:
            self.ploop.run(self.router.stop(), timeout=5)
        except Exception:
            pass
        self.ploop.close()

    def kill(self) -> None:
        """The router's process dies: its connection drops, nothing more is written."""
        router = self.router

        def go() -> None:
            router._stopping = True
            if router._save_timer is not None:
                router._save_timer.cancel()
            if router._tick is not None:
                router._tick.cancel()
            router.xmpp.cancel_connection_attempt()
            if router.xmpp.transport is not None:
                router.xmpp.transport.abort()

        self.ploop.call(go)
        self.ploop.close()

    def __enter__(self) -> RouterThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclasses.dataclass
class Got:
    """One thing a peer received: ``kind`` is the faro kind (``msg``, ``state``, ``offer``…),
    or ``receipt``/``displayed``/``typing`` for the XEPs on the person's side."""

    kind: str
    attrs: dict[str, str]
    body: str | None = None
    at: float = 0.0

    def __getitem__(self, key: str) -> str:
        return self.attrs[key]

    def get(self, key: str, default: str = "") -> str:
        return self.attrs.get(key, default)


class _Peer:
    jid_text: str = ""

    def __init__(self, ploop: PeerLoop, server: Any) -> None:
        self.ploop = ploop
        self.server = server
        self.domain = server.domain
        self.router_jid = f"router.{server.domain}"
        self.inbox: list[Got] = []
        self._cond = threading.Condition()
        self._seen: set[str] = set()  # mids already shown (duplicates dropped)
        self.outbox: dict[str, tuple[str, str, str]] = {}  # mid → (chat, text, seq), unreceipted
        self.duplicates = 0
        self._seq = itertools.count(1)
        self.xmpp: Any = None
        self.online = False
        self.auto_reconnect = True
        self.auto_receipt = True
        self._closing = False

    # -- inbox ------------------------------------------------------------------------------------
    def _got(self, item: Got) -> None:
        item.at = time.monotonic()
        with self._cond:
            self.inbox.append(item)
            self._cond.notify_all()

    def expect(self, kind: str, timeout: float = 15.0, **match: str) -> Got:
        """The first item of ``kind`` (with these attributes) not yet taken; taken out."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for i, item in enumerate(self.inbox):
                    if item.kind == kind and all(
                        item.attrs.get(k) == str(v) for k, v in match.items()
                    ):
                        del self.inbox[i]
                        return item
                left = deadline - time.monotonic()
                if left <= 0:
                    kinds = [(g.kind, g.attrs) for g in self.inbox]
                    raise TimeoutError(f"no {kind} {match} in {timeout}s; inbox: {kinds}")
                self._cond.wait(left)

    def none(self, kind: str, wait: float = 0.5, **match: str) -> bool:
        """True if nothing of ``kind`` arrives within ``wait``."""
        try:
            self.expect(kind, timeout=wait, **match)
        except TimeoutError:
            return True
        return False

    def taken(self, kind: str) -> list[Got]:
        with self._cond:
            items = [g for g in self.inbox if g.kind == kind]
            self.inbox = [g for g in self.inbox if g.kind != kind]
        return items

    # -- connection -------------------------------------------------------------------------------
    def _make(self) -> Any:
        raise NotImplementedError

    def connect(self, timeout: float = 20.0) -> Any:
        started = threading.Event()
        self.ploop.call(self._connect_now, started)
        if not started.wait(timeout):
            raise TimeoutError(f"{type(self).__name__} could not connect")
        return self

    def _connect_now(self, started: threading.Event | None = None) -> None:
        from slixmpp.xmlstream.handler import Callback
        from slixmpp.xmlstream.matcher import StanzaPath

        p.register()
        xmpp = self._make()
        xmpp.ca_certs = str(self.server.ca)
        xmpp.enable_direct_tls = False  # Prosody's c2s port speaks STARTTLS
        xmpp.register_handler(Callback("faro msg", StanzaPath("message"), self._on_message))
        xmpp.register_handler(Callback("faro pres", StanzaPath("presence"), self._on_presence))

        def on_start(_e: Any) -> None:
            self.online = True
            self.jid_text = str(xmpp.boundjid)
            self._on_start()
            if started is not None:
                started.set()

        def on_gone(_e: Any) -> None:
            if xmpp is not self.xmpp:
                return
            self.online = False
            if self.auto_reconnect and not self._closing:
                self.ploop.loop.call_later(0.5, self._connect_now)

        xmpp.add_event_handler("session_start", on_start)
        xmpp.add_event_handler("disconnected", on_gone)
        self.xmpp = xmpp
        xmpp.connect("127.0.0.1", self.server.c2s_port)

    def _on_start(self) -> None:
        pass

    def kill(self) -> None:
        """Drop the TCP connection without a goodbye (a console killed, a tab gone)."""
        self.auto_reconnect = False

        def go() -> None:
            self.online = False
            if self.xmpp is not None and self.xmpp.transport is not None:
                self.xmpp.transport.abort()

        self.ploop.call(go)

    def close(self) -> None:
        self._closing = True
        self.auto_reconnect = False

        def go() -> None:
            if self.xmpp is not None:
                self.xmpp.cancel_connection_attempt()
                if self.online:
                    self.xmpp.disconnect(wait=0.5)

        try:
            self.ploop.call(go)
        except Exception:
            pass

    def wait_online(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.online:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{type(self).__name__} did not come back")
            time.sleep(0.05)

    # -- sending ----------------------------------------------------------------------------------
    def _message(
        self,
        faro: dict[str, object] | None = None,
        *,
        body: str | None = None,
        mid: str | None = None,
        extra: tuple[ET.Element, ...] = (),
    ) -> None:
        if not self.online:
            return
        msg = self.xmpp.make_message(mto=self.router_jid, mtype="chat")
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

    def _on_message(self, msg: Any) -> None:
        raise NotImplementedError

    def _on_presence(self, pres: Any) -> None:
        pass


class GuestPeer(_Peer):
    """The person writing (what the web widget does, in Python)."""

    def __init__(
        self, ploop: PeerLoop, server: Any, session: str | None = None, lang: str = "es"
    ) -> None:
        super().__init__(ploop, server)
        self.session = session or secrets.token_urlsafe(24)
        self.lang = lang
        self.said_hello = False
        self.last_state = ""
        self.jids: list[str] = []

    def _make(self) -> Any:
        from slixmpp import ClientXMPP

        return capped(ClientXMPP, 1.0)(f"guest.{self.domain}", "")

    def _on_start(self) -> None:
        self.jids.append(self.jid_text)
        if self.said_hello:
            self._hello()
            self._resend()

    def hello(self) -> GuestPeer:
        self.said_hello = True
        self.ploop.call(self._hello)
        return self

    def _hello(self) -> None:
        if not self.online:
            return
        pres = self.xmpp.make_presence(pto=self.router_jid)
        ET.SubElement(
            pres.xml,
            FARO,
            {
                "kind": p.HELLO,
                "session": self.session,
                "lang": self.lang,
                "version": str(p.VERSION),
            },
        )
        pres.send()

    def _resend(self) -> None:
        for mid, (_chat, text, seq) in list(self.outbox.items()):
            self._send_text(mid, text, seq)

    def say(self, text: str, mid: str | None = None) -> str:
        mid = mid or secrets.token_urlsafe(9)
        seq = str(next(self._seq))
        self.outbox[mid] = ("", text, seq)
        self.ploop.call(self._send_text, mid, text, seq)
        return mid

    def say_raw(self, body: str, mid: str) -> None:
        """A message the widget would never send (not kept for resending)."""
        self.ploop.call(self._send_text, mid, body, "0")

    def _send_text(self, mid: str, text: str, seq: str) -> None:
        self._message(
            {"kind": p.MSG, "seq": seq},
            body=text,
            mid=mid,
            extra=(
                ET.Element(f"{{{RECEIPTS}}}request"),
                ET.Element(f"{{{SID}}}origin-id", {"id": mid}),
            ),
        )

    def typing(self, on: bool) -> None:
        state = "composing" if on else "paused"
        self.ploop.call(lambda: self._message(extra=(ET.Element(f"{{{CHATSTATES}}}{state}"),)))

    def read(self, mid: str) -> None:
        self.ploop.call(
            lambda: self._message(extra=(ET.Element(f"{{{MARKERS}}}displayed", {"id": mid}),))
        )

    def bye(self, reason: str = "") -> None:
        self.ploop.call(lambda: self._message({"kind": p.BYE, "reason": reason}))

    def _on_presence(self, pres: Any) -> None:
        if pres["from"].bare != self.router_jid:
            return
        if pres["type"] == "error":
            self.ploop.loop.call_later(0.5, self._hello)  # the router is not back yet
        elif pres["type"] in ("available", "") and pres.xml.find(FARO) is None:
            # as the widget: the router is back after a restart (or does not know us)
            if self.said_hello and self.last_state not in (p.CLOSED, p.ELSEWHERE):
                self._hello()
                self._resend()

    def _on_message(self, msg: Any) -> None:
        if msg["from"].bare != self.router_jid:
            return
        if msg["type"] == "error":
            mid = msg["id"]
            if mid in self.outbox:  # bounced (the router was away): again shortly
                _c, text, seq = self.outbox[mid]
                self.ploop.loop.call_later(0.5, self._send_text, mid, text, seq)
            return
        xml = msg.xml
        el = xml.find(FARO)
        faro = dict(el.attrib) if el is not None else {}
        kind = faro.get("kind", "")
        rec = xml.find(f"{{{RECEIPTS}}}received")
        if rec is not None:
            mid = rec.get("id", "")
            self.outbox.pop(mid, None)
            self._got(Got("receipt", {"mid": mid}))
        disp = xml.find(f"{{{MARKERS}}}displayed")
        if disp is not None:
            self._got(Got("displayed", {"mid": disp.get("id", "")}))
        for state in ("composing", "paused"):
            if xml.find(f"{{{CHATSTATES}}}{state}") is not None:
                self._got(Got("typing", {"state": state}))
        if msg["body"]:
            mid = msg["id"]
            if self.auto_receipt:
                self._message(extra=(ET.Element(f"{{{RECEIPTS}}}received", {"id": mid}),))
            if mid in self._seen:
                self.duplicates += 1
                return
            self._seen.add(mid)
            self._got(Got("msg", {**faro, "mid": mid}, msg["body"]))
            return
        if kind == p.REFUSED:
            self.outbox.pop(faro.get("mid", ""), None)
        if kind == p.STATE:
            self.last_state = faro.get("state", "")
        if kind:
            self._got(Got(kind, faro))


class CounselorPeer(_Peer):
    """A counselor's console reduced to the protocol (what chat/client.py does for real)."""

    def __init__(
        self, ploop: PeerLoop, server: Any, user: str, password: str, resource: str = "console"
    ) -> None:
        super().__init__(ploop, server)
        self.user = user
        self.password = password
        self.resource = resource
        self.capacity = 0
        self.busy = False
        self.chats: set[str] = set()
        self.announced = False
        #: accept every offer at once (benchmarks: simulated counselors)
        self.auto_accept = False
        #: called on the peers' loop with each new message (before it goes to the inbox)
        self.on_msg: Callable[[CounselorPeer, Got], None] | None = None

    def _make(self) -> Any:
        from slixmpp import ClientXMPP

        return capped(ClientXMPP, 1.0)(f"{self.user}@{self.domain}/{self.resource}", self.password)

    def _on_start(self) -> None:
        if self.announced:
            self._ready()
            self._resend()

    def ready(self, capacity: int = 1, busy: bool = False) -> CounselorPeer:
        self.capacity, self.busy, self.announced = capacity, busy, True
        self.ploop.call(self._ready)
        return self

    def _ready(self) -> None:
        if not self.online:
            return
        pres = self.xmpp.make_presence(pto=self.router_jid)
        ET.SubElement(
            pres.xml,
            FARO,
            {
                "kind": p.READY,
                "capacity": str(self.capacity),
                "busy": "1" if self.busy else "0",
                "chats": " ".join(sorted(self.chats)),
            },
        )
        pres.send()

    def _resend(self) -> None:
        for mid, (chat, text, seq) in list(self.outbox.items()):
            self._send_text(chat, mid, text, seq)

    def _kind(self, kind: str, chat: str, **attrs: object) -> None:
        self.ploop.call(lambda: self._message({"kind": kind, "chat": chat, **attrs}))

    def accept(self, chat: str) -> None:
        self._kind(p.ACCEPT, chat)

    def decline(self, chat: str) -> None:
        self._kind(p.DECLINE, chat)

    def end(self, chat: str) -> None:
        self._kind(p.END, chat)

    def typing(self, chat: str, on: bool) -> None:
        self._kind(p.TYPING, chat, state="composing" if on else "paused")

    def read(self, chat: str, mid: str) -> None:
        self._kind(p.READ, chat, mid=mid)

    def say(self, chat: str, text: str, mid: str | None = None) -> str:
        mid = mid or secrets.token_urlsafe(9)
        self.ploop.call(self.say_now, chat, text, mid)
        return mid

    def say_now(self, chat: str, text: str, mid: str | None = None) -> str:
        """:meth:`say` from the peers' loop itself (an ``on_msg`` callback)."""
        mid = mid or secrets.token_urlsafe(9)
        seq = str(next(self._seq))
        self.outbox[mid] = (chat, text, seq)
        self._send_text(chat, mid, text, seq)
        return mid

    def _send_text(self, chat: str, mid: str, text: str, seq: str) -> None:
        self._message({"kind": p.MSG, "chat": chat, "mid": mid, "seq": seq}, body=text, mid=mid)

    def _on_presence(self, pres: Any) -> None:
        if pres["from"].bare != self.router_jid:
            return
        if pres["type"] == "error":
            self.ploop.loop.call_later(0.5, self._ready)  # the router is not back yet
        elif pres["type"] in ("available", ""):
            if self.announced:  # the router is back: who we are, and what is not receipted
                self._ready()
                self._resend()

    def _on_message(self, msg: Any) -> None:
        if msg["from"].bare != self.router_jid:
            return
        if msg["type"] == "error":
            mid = msg["id"]
            if mid in self.outbox:
                chat, text, seq = self.outbox[mid]
                self.ploop.loop.call_later(0.5, self._send_text, chat, mid, text, seq)
            return
        el = msg.xml.find(FARO)
        if el is None:
            return
        faro = dict(el.attrib)
        kind = faro.get("kind", "")
        chat = faro.get("chat", "")
        if kind == p.MSG:
            mid = faro.get("mid", "")
            if self.auto_receipt:
                self._message({"kind": p.RECEIVED, "chat": chat, "mid": mid})
            if mid in self._seen:
                self.duplicates += 1
                return
            self._seen.add(mid)
            got = Got(kind, faro, msg["body"])
            if self.on_msg is not None:
                self.on_msg(self, got)
            else:
                self._got(got)
            return
        if kind == p.OFFER and self.auto_accept:
            self._message({"kind": p.ACCEPT, "chat": chat})
        if kind in (p.RECEIVED, p.REFUSED):
            self.outbox.pop(faro.get("mid", ""), None)
        if kind == p.ASSIGNED:
            self.chats.add(chat)
        if kind == p.ENDED:
            self.chats.discard(chat)
        self._got(Got(kind, faro))


def sessions(n: int) -> list[str]:
    return [secrets.token_urlsafe(24) for _ in range(n)]


__all__ = [
    "CounselorPeer",
    "Got",
    "GuestPeer",
    "PeerLoop",
    "RouterThread",
    "sessions",
]
