"""The person writing on ``faro demo``'s chat line: a scripted guest that speaks the real
protocol exactly as the web widget does (chat/protocol.py; packaging/chat/widget/widget.js).

It signs in anonymously on ``guest.<domain>`` (slixmpp, STARTTLS against the demo's CA), says
``hello`` with a session token and its language, waits in the queue until a counselor has the
chat, and then plays its script (chat/scenarios/demo.toml): each line is typed with pauses
(chat states ``composing`` and ``paused``) and sent with a stable id (``origin-id``) and a
receipt request; what the counselor writes is receipted, and marked read a moment later
(XEP-0333 ``displayed``), as the widget does once a message is on screen. After a line it
waits for the counselor's answer (and for the counselor to stop typing) before it writes the
next one; with no answer for a while it asks once whether someone is there. At the end it says
goodbye and leaves (``bye``). If the counselor ends the chat first, it simply leaves. A while
after a chat has ended, another person writes (``again_after_s``).

It runs on its own thread (``faro-demo-person``) with its own asyncio loop; :meth:`start` and
:meth:`stop` are for the demo's main thread. Its lines are fiction for training; what it is
told is kept in memory only (for the demo's tests), never logged: the log gets codes only.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
import secrets
import threading
import time
import tomllib
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path
from typing import Any

from chat import protocol as p
from chat.router import CHATSTATES, MARKERS, RECEIPTS, SID, capped
from core.errors import ConfigError
from core.i18n import _

log = logging.getLogger(__name__)
FARO = f"{{{p.NS}}}faro"

# what the person is doing (DemoPerson.phase)
BEFORE, QUEUED, TALKING, ENDED, STOPPED = "before", "queued", "talking", "ended", "stopped"


@dataclasses.dataclass(frozen=True)
class Line:
    """One thing the person writes, in each language it has, and whether an answer is awaited."""

    text: dict[str, str]
    wait: bool = True

    def in_language(self, lang: str) -> str:
        return self.text.get(lang) or self.text.get("es") or next(iter(self.text.values()))


@dataclasses.dataclass(frozen=True)
class PersonScript:
    lines: tuple[Line, ...]
    goodbye: Line | None = None
    nudge: Line | None = None
    after_s: float = 25.0
    again_after_s: float = 0.0
    nudge_after_s: float = 75.0

    @classmethod
    def parse(cls, text: str, where: str) -> PersonScript:
        def bad(why: str) -> ConfigError:
            return ConfigError(
                _("The chat script {where} is not valid: {why}.").format(where=where, why=why)
            )

        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise bad(str(exc)) from None

        def line(raw: object, what: str) -> Line:
            if not isinstance(raw, dict):
                raise bad(_("{what} must be a table").format(what=what))
            texts = {k: v for k, v in raw.items() if k != "wait"}
            if not texts or not all(isinstance(v, str) and v.strip() for v in texts.values()):
                raise bad(_("{what} needs its text (es, en)").format(what=what))
            for v in texts.values():
                if p.clean_text(v)[0] is None:
                    raise bad(_("{what} has a text that cannot be sent").format(what=what))
            return Line(texts, bool(raw.get("wait", True)))

        raw_lines = data.get("lines")
        if not isinstance(raw_lines, list) or not raw_lines:
            raise bad(_("the script has no [[lines]]"))
        head = data.get("person", {})
        if not isinstance(head, dict):
            raise bad(_("[person] must be a table"))
        try:
            times = {
                k: float(head.get(k, d))
                for k, d in (("after_s", 25.0), ("again_after_s", 0.0), ("nudge_after_s", 75.0))
            }
        except (TypeError, ValueError):
            raise bad(_("the times in [person] must be numbers of seconds")) from None
        if any(v < 0 for v in times.values()):
            raise bad(_("the times in [person] cannot be negative"))
        return cls(
            tuple(line(r, f"lines[{i + 1}]") for i, r in enumerate(raw_lines)),
            line(data["goodbye"], "goodbye") if "goodbye" in data else None,
            line(data["nudge"], "nudge") if "nudge" in data else None,
            **times,
        )

    @classmethod
    def load(cls, name_or_path: str = "demo") -> PersonScript:
        """A bundled script by name (``demo``) or a TOML file by path."""
        path = Path(name_or_path)
        if path.suffix == ".toml" or path.exists():
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError(
                    _("Cannot read the chat script {path}: {reason}.").format(
                        path=path, reason=exc.strerror or exc
                    )
                ) from None
            return cls.parse(text, str(path))
        res = resources.files("chat") / "scenarios" / f"{name_or_path}.toml"
        if not res.is_file():
            raise ConfigError(
                _("There is no bundled chat script named {name}.").format(name=repr(name_or_path))
            )
        return cls.parse(res.read_text(encoding="utf-8"), f"chat/scenarios/{name_or_path}.toml")


@dataclasses.dataclass(frozen=True)
class Server:
    """Where the person connects (the guest host of the chat server)."""

    domain: str
    host: str
    port: int
    ca_file: Path


class DemoPerson:
    """The scripted person. ``pace`` scales every wait (tests: a small fraction)."""

    def __init__(
        self, server: Server, script: PersonScript, lang: str = "es", *, pace: float = 1.0
    ) -> None:
        self.server = server
        self.script = script
        self.lang = lang
        self.pace = pace
        self.router_jid = f"router.{server.domain}"
        self.phase = BEFORE
        self.chats = 0  # chats that got to a counselor
        #: what the counselor wrote, for the demo's tests (memory only: never logged)
        self.heard: list[str] = []
        self.said: list[str] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._task: asyncio.Task[None] | None = None
        self._xmpp: Any = None
        self._online = False
        self._closing = False
        self._poke: asyncio.Event | None = None
        self._go: asyncio.Event | None = None
        self._reset_chat()

    def _reset_chat(self) -> None:
        self.session = secrets.token_urlsafe(24)
        self._state = ""
        self._outbox: dict[str, tuple[str, str]] = {}  # mid → (text, seq), not receipted
        self._seen: set[str] = set()
        self._seq = itertools.count(1)
        self._heard_n = 0
        self._last_heard = 0.0
        self._counselor_typing = False

    @property
    def state(self) -> str:
        """What the router last told the person (``waiting``, ``connected``, ``closed``…)."""
        return self._state

    # -- the demo's main thread -------------------------------------------------------------------
    def start(self) -> DemoPerson:
        loop = asyncio.new_event_loop()
        self._loop = loop
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            self._poke = asyncio.Event()
            self._go = asyncio.Event()
            self._task = loop.create_task(self._main())
            loop.call_soon(ready.set)
            loop.run_forever()

        self._thread = threading.Thread(target=run, name="faro-demo-person", daemon=True)
        self._thread.start()
        ready.wait(5)
        return self

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        self._loop = None

        async def close() -> None:
            self._closing = True
            if self._task is not None:
                self._task.cancel()
            await self._leave()

        try:
            asyncio.run_coroutine_threadsafe(close(), loop).result(3.0)
        except Exception:
            log.warning("the demo's person did not leave cleanly")
        loop.call_soon_threadsafe(loop.stop)
        thread.join(3.0)
        if not thread.is_alive():  # nothing of slixmpp's left pending for a closed loop
            tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for t in tasks:
                t.cancel()
            if tasks:
                try:
                    loop.run_until_complete(asyncio.wait(tasks, timeout=2.0))
                except Exception:
                    log.debug("the demo's person's loop", exc_info=True)
        self._xmpp = None
        self.phase = STOPPED
        _KEEP.append(loop)  # slixmpp's streams clean up on it when collected: never closed

    # -- the conversation (on the loop) -----------------------------------------------------------
    async def _sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds * self.pace))

    async def _until(self, done: Any, timeout: float | None = None) -> bool:
        """Wait until ``done()`` (True) or ``timeout`` seconds of the script's pace (False)."""
        assert self._poke is not None
        deadline = None if timeout is None else time.monotonic() + timeout * self.pace
        while not done():
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            self._poke.clear()
            try:
                await asyncio.wait_for(self._poke.wait(), left)
            except TimeoutError:
                pass
        return True

    def _more_than(self, heard: int) -> Any:
        """A condition: the counselor has written more than ``heard`` messages (or it ended)."""
        return lambda: self._heard_n > heard or self._closed()

    def _closed(self) -> bool:
        return self._state in (p.CLOSED, p.ELSEWHERE)

    def go(self, delay_s: float = 0.0) -> None:
        """Write ``delay_s`` from now rather than at the script's ``after_s``, if that is
        sooner (any thread; the demo calls it when the first call has ended)."""
        loop = self._loop
        if loop is None:
            return

        def soon() -> None:
            loop.call_later(max(0.0, delay_s * self.pace), self._go_now)

        loop.call_soon_threadsafe(soon)

    def _go_now(self) -> None:
        if self._go is not None:
            self._go.set()

    async def _main(self) -> None:
        try:
            assert self._go is not None
            try:  # the script's delay, or sooner when told to go
                await asyncio.wait_for(self._go.wait(), self.script.after_s * self.pace)
            except TimeoutError:
                pass
            while not self._closing:
                await self._one_chat()
                if self.script.again_after_s <= 0:
                    return
                await self._sleep(self.script.again_after_s)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("the demo's person stopped")

    async def _one_chat(self) -> None:
        self._reset_chat()
        self.phase = QUEUED
        await self._connect()
        self._hello()
        await self._until(lambda: self._state == p.CONNECTED or self._closed())
        if not self._closed():
            self.phase = TALKING
            self.chats += 1
            log.info("demo person: a counselor has the chat")
            await self._play()
        self.phase = ENDED
        await self._leave()

    async def _play(self) -> None:
        script = self.script
        for line in script.lines:
            if self._closed():
                return
            await self._write(line.in_language(self.lang))
            if not line.wait:
                continue
            heard = self._heard_n
            answered = await self._until(self._more_than(heard), script.nudge_after_s)
            if not answered and script.nudge is not None:
                await self._write(script.nudge.in_language(self.lang), think_s=0.0)
            await self._until(self._more_than(heard))
            await self._settle()
        if script.goodbye is not None and not self._closed():
            await self._write(script.goodbye.in_language(self.lang))
            await self._until(lambda: not self._outbox or self._closed(), 15.0)
        if not self._closed():
            self._send(faro={"kind": p.BYE, "session": self.session, "reason": "by_person"})
            await self._until(self._closed, 5.0)

    async def _settle(self) -> None:
        """Let the counselor finish: no new message for a moment, and not typing."""
        while not self._closed():
            if self._counselor_typing:
                heard = self._heard_n
                await self._until(
                    lambda h=heard: not self._counselor_typing or self._more_than(h)(),
                    30.0,
                )
                if self._counselor_typing:
                    return  # typing for ages: write anyway
                continue
            quiet = 3.0 * self.pace - (time.monotonic() - self._last_heard)
            if quiet <= 0:
                return
            await asyncio.sleep(quiet)

    async def _write(self, text: str, think_s: float = 1.5) -> None:
        """Read, think, type (with a pause in a long line), send."""
        await self._sleep(think_s)
        if self._closed():
            return
        typing_s = min(9.0, max(1.5, len(text) / 8.0))
        self._chatstate("composing")
        if len(text) > 60:
            await self._sleep(typing_s / 2)
            self._chatstate("paused")
            await self._sleep(2.0)
            if self._closed():
                return
            self._chatstate("composing")
            await self._sleep(typing_s / 2)
        else:
            await self._sleep(typing_s)
        if self._closed():
            return
        mid = secrets.token_urlsafe(12)
        seq = str(next(self._seq))
        self._outbox[mid] = (text, seq)
        self.said.append(text)
        self._send_text(mid, text, seq)

    async def _leave(self) -> None:
        xmpp, self._xmpp = self._xmpp, None
        if xmpp is not None:
            xmpp.cancel_connection_attempt()
            if self._online:
                try:
                    await asyncio.wait_for(xmpp.disconnect(wait=0.5), 2.0)
                except Exception:
                    pass
        self._online = False

    # -- the connection ---------------------------------------------------------------------------
    async def _connect(self) -> None:
        started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._connect_now(started)
        await started

    def _connect_now(self, started: asyncio.Future[None] | None = None) -> None:
        from slixmpp import ClientXMPP
        from slixmpp.xmlstream.handler import Callback
        from slixmpp.xmlstream.matcher import StanzaPath

        if self._closing:
            return
        xmpp = capped(ClientXMPP, 2.0)(f"guest.{self.server.domain}", "")
        xmpp.ca_certs = str(self.server.ca_file)
        xmpp.enable_direct_tls = False  # the c2s port speaks STARTTLS
        xmpp.register_handler(Callback("demo msg", StanzaPath("message"), self._on_message))
        xmpp.register_handler(Callback("demo pres", StanzaPath("presence"), self._on_presence))

        def on_start(_e: Any) -> None:
            self._online = True
            if started is not None and not started.done():
                started.set_result(None)
            elif self._state and not self._closed():  # back after a lost connection
                self._hello()
                for mid, (text, seq) in list(self._outbox.items()):
                    self._send_text(mid, text, seq)

        def on_gone(_e: Any) -> None:
            if xmpp is not self._xmpp:
                return
            self._online = False
            if not self._closing and self.phase in (QUEUED, TALKING):
                asyncio.get_running_loop().call_later(1.0, self._connect_now)

        xmpp.add_event_handler("session_start", on_start)
        xmpp.add_event_handler("disconnected", on_gone)
        self._xmpp = xmpp
        xmpp.connect(self.server.host, self.server.port)

    def _send(
        self,
        *,
        faro: dict[str, str] | None = None,
        body: str | None = None,
        mid: str | None = None,
        extra: tuple[ET.Element, ...] = (),
    ) -> None:
        if not self._online or self._xmpp is None:
            return
        msg = self._xmpp.make_message(mto=self.router_jid, mtype="chat")
        if body is not None:
            msg["body"] = body
        if mid is not None:
            msg["id"] = mid
        if faro is not None:
            ET.SubElement(msg.xml, FARO, faro)
        for el in extra:
            msg.xml.append(el)
        msg.send()

    def _hello(self) -> None:
        if not self._online or self._xmpp is None:
            return
        pres = self._xmpp.make_presence(pto=self.router_jid)
        ET.SubElement(
            pres.xml,
            FARO,
            {"kind": p.HELLO, "session": self.session, "lang": self.lang, "version": "1"},
        )
        pres.send()

    def _send_text(self, mid: str, text: str, seq: str) -> None:
        self._send(
            faro={"kind": p.MSG, "seq": seq},
            body=text,
            mid=mid,
            extra=(
                ET.Element(f"{{{RECEIPTS}}}request"),
                ET.Element(f"{{{SID}}}origin-id", {"id": mid}),
                ET.Element(f"{{{CHATSTATES}}}active"),
            ),
        )

    def _chatstate(self, state: str) -> None:
        self._send(extra=(ET.Element(f"{{{CHATSTATES}}}{state}"),))

    def _mark_read(self, mid: str) -> None:
        if not self._closed():
            self._send(extra=(ET.Element(f"{{{MARKERS}}}displayed", {"id": mid}),))

    # -- what arrives -----------------------------------------------------------------------------
    def _wake(self) -> None:
        if self._poke is not None:
            self._poke.set()

    def _on_presence(self, pres: Any) -> None:
        if pres["type"] == "error" and pres["from"].bare == self.router_jid:
            asyncio.get_running_loop().call_later(1.0, self._hello)  # the router is not up yet

    def _on_message(self, msg: Any) -> None:
        if msg["from"].bare != self.router_jid:
            return
        if msg["type"] == "error":
            mid = msg["id"]
            if mid in self._outbox:  # bounced (the router was away): again shortly
                text, seq = self._outbox[mid]
                asyncio.get_running_loop().call_later(1.0, self._send_text, mid, text, seq)
            return
        xml = msg.xml
        rec = xml.find(f"{{{RECEIPTS}}}received")
        if rec is not None:
            self._outbox.pop(rec.get("id", ""), None)
        if xml.find(f"{{{CHATSTATES}}}composing") is not None:
            self._counselor_typing = True
        elif any(
            xml.find(f"{{{CHATSTATES}}}{s}") is not None for s in ("paused", "active", "inactive")
        ):
            self._counselor_typing = False
        el = xml.find(FARO)
        faro = dict(el.attrib) if el is not None else {}
        kind = faro.get("kind", "")
        if msg["body"]:
            mid = msg["id"]
            self._send(extra=(ET.Element(f"{{{RECEIPTS}}}received", {"id": mid}),))
            if mid not in self._seen:
                self._seen.add(mid)
                self.heard.append(msg["body"])
                self._heard_n += 1
                self._last_heard = time.monotonic()
                self._counselor_typing = False
                # on screen a moment later: read
                asyncio.get_running_loop().call_later(0.8 * self.pace, self._mark_read, mid)
        elif kind == p.STATE:
            state = faro.get("state", "")
            if state != self._state:
                log.info("demo person: chat %s %s", state, faro.get("reason", ""))
            self._state = state
        elif kind == p.REFUSED:
            self._outbox.pop(faro.get("mid", ""), None)
            log.warning("demo person: a line was refused (%s)", faro.get("reason", ""))
        self._wake()


_KEEP: list[asyncio.AbstractEventLoop] = []
