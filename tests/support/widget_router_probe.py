"""A scripted stand-in on the router's address, for the widget's tests before and beside the
real router (chat/router.py): a real XEP-0114 component connection (slixmpp) to the real
Prosody as ``router.<domain>``, which records every stanza the widget sends and sends what the
test tells it to, in the wire format of chat/protocol.py. It decides nothing: no queue, no
counselors. Runs its own asyncio loop on its own thread; ``stop()`` ends it.

    probe = RouterProbe(server).start()
    hello = probe.wait_for(lambda s: s.kind == "hello")
    probe.state(hello.frm, "waiting", position=2, wait_s=90)
"""

from __future__ import annotations

import asyncio
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slixmpp import ComponentXMPP

from chat import protocol

NS_RECEIPTS = "urn:xmpp:receipts"
NS_MARKERS = "urn:xmpp:chat-markers:0"
NS_STATES = "http://jabber.org/protocol/chatstates"
NS_SID = "urn:xmpp:sid:0"


@dataclass
class Seen:
    """One stanza the widget sent, reduced to what tests look at."""

    tag: str  # message | presence
    frm: str  # full JID of the widget's connection
    type: str
    id: str
    kind: str = ""  # the faro element's kind
    attrs: dict[str, str] = field(default_factory=dict)  # the faro element's attributes
    body: str | None = None
    origin_id: str = ""
    receipt_request: bool = False
    received: str = ""  # id in <received/>
    displayed: str = ""  # id in <displayed/>
    chat_state: str = ""


def _parse(xml: ET.Element) -> Seen:
    tag = xml.tag.rsplit("}", 1)[-1]
    seen = Seen(tag, xml.get("from", ""), xml.get("type", ""), xml.get("id", ""))
    for el in xml:
        ns, _, name = el.tag[1:].partition("}")
        if ns == protocol.NS and name == "faro":
            seen.kind = el.get("kind", "")
            seen.attrs = dict(el.attrib)
        elif name == "body":
            seen.body = el.text or ""
        elif ns == NS_SID and name == "origin-id":
            seen.origin_id = el.get("id", "")
        elif ns == NS_RECEIPTS and name == "request":
            seen.receipt_request = True
        elif ns == NS_RECEIPTS and name == "received":
            seen.received = el.get("id", "")
        elif ns == NS_MARKERS and name == "displayed":
            seen.displayed = el.get("id", "")
        elif ns == NS_STATES:
            seen.chat_state = name
    return seen


class RouterProbe:
    def __init__(self, server: Any) -> None:
        self.domain = f"router.{server.domain}"
        self._server = server
        self.seen: list[Seen] = []
        self._cond = threading.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._xmpp: ComponentXMPP | None = None
        self._online = threading.Event()

    # -- life ------------------------------------------------------------------------------
    def start(self, timeout: float = 15.0) -> RouterProbe:
        self._online.clear()
        self._thread = threading.Thread(target=self._run, name="router-probe", daemon=True)
        self._thread.start()
        if not self._online.wait(timeout):
            raise TimeoutError("the probe component did not connect to Prosody")
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        xmpp = ComponentXMPP(
            self.domain, self._server.secret, "127.0.0.1", self._server.component_port
        )
        self._xmpp = xmpp
        xmpp.add_event_handler("session_start", lambda _e: self._online.set())
        xmpp.add_filter("in", self._record)
        xmpp.connect()
        loop.run_forever()
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        # done: slixmpp's stream must not cancel it again on a closed loop when collected
        xmpp._run_out_filters = None
        loop.close()

    def _record(self, stanza: Any) -> Any:
        # every stanza as it arrives (a filter, so nothing slixmpp drops or answers is missed)
        if stanza.xml.tag.rsplit("}", 1)[-1] in ("message", "presence"):
            seen = _parse(stanza.xml)
            with self._cond:
                self.seen.append(seen)
                self._cond.notify_all()
        return stanza

    def stop(self) -> None:
        loop, xmpp = self._loop, self._xmpp
        if loop is None or xmpp is None:
            return

        async def _close() -> None:
            xmpp.disconnect(wait=0.5)
            await asyncio.sleep(0.6)
            loop.stop()

        asyncio.run_coroutine_threadsafe(_close(), loop)
        if self._thread is not None:
            self._thread.join(10)
        self._loop = self._xmpp = None

    # -- reading -------------------------------------------------------------------------
    def wait_for(
        self, match: Callable[[Seen], bool], timeout: float = 15.0, after: int = 0
    ) -> Seen:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for s in self.seen[after:]:
                    if match(s):
                        return s
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"no such stanza; seen: {[x.kind or x.tag for x in self.seen]}"
                    )
                self._cond.wait(left)

    def texts(self) -> list[Seen]:
        with self._cond:
            return [s for s in self.seen if s.body is not None]

    # -- sending ---------------------------------------------------------------------------
    def _send(self, xml: str) -> None:
        loop, xmpp = self._loop, self._xmpp
        assert loop is not None and xmpp is not None

        def _go() -> None:
            xmpp.send_raw(xml)

        loop.call_soon_threadsafe(_go)

    @staticmethod
    def _esc(text: str) -> str:
        return (
            text.replace("&", "&amp;")
            .replace("<", "&lt;")
            .replace(">", "&gt;")
            .replace('"', "&quot;")
        )

    def _message(self, to: str, inner: str, mid: str = "") -> None:
        ident = f' id="{mid}"' if mid else ""
        self._send(f'<message from="{self.domain}" to="{to}" type="chat"{ident}>{inner}</message>')

    def state(self, to: str, state: str, **attrs: object) -> None:
        extra = "".join(f' {k}="{self._esc(str(v))}"' for k, v in attrs.items())
        self._message(to, f'<faro xmlns="{protocol.NS}" kind="state" state="{state}"{extra}/>')

    def text(self, to: str, mid: str, body: str, seq: int = 1) -> None:
        self._message(
            to,
            f"<body>{self._esc(body)}</body><request xmlns='{NS_RECEIPTS}'/>"
            f"<origin-id xmlns='{NS_SID}' id='{mid}'/>"
            f"<faro xmlns='{protocol.NS}' kind='msg' mid='{mid}' seq='{seq}'/>"
            f"<active xmlns='{NS_STATES}'/>",
            mid,
        )

    def received(self, to: str, mid: str) -> None:
        self._message(to, f"<received xmlns='{NS_RECEIPTS}' id='{mid}'/>")

    def displayed(self, to: str, mid: str) -> None:
        self._message(to, f"<displayed xmlns='{NS_MARKERS}' id='{mid}'/>")

    def typing(self, to: str, state: str = "composing") -> None:
        self._message(to, f"<{state} xmlns='{NS_STATES}'/>")

    def refused(self, to: str, mid: str, reason: str) -> None:
        self._message(
            to, f"<faro xmlns='{protocol.NS}' kind='refused' mid='{mid}' reason='{reason}'/>"
        )
