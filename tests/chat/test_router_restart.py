"""A restart of the router itself loses no chat (docs/chat.md "When the router restarts"):
real Prosody, real slixmpp peers, the router killed as its process would die."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chat import protocol as p
from tests.support.chat_peers import CounselorPeer, GuestPeer, RouterThread


class Restartable:
    """The router on a state file (or none), killed and started again as its process is."""

    def __init__(self, server: Any, hooks: Any, state: Path | None) -> None:
        self.server, self.hooks, self.state = server, hooks, state
        self.thread = self._new()

    def _new(self) -> RouterThread:
        extra = {"state_file": str(self.state)} if self.state is not None else {}
        return RouterThread(self.server, self.hooks, **extra).start()

    def restart(self) -> None:
        self.thread.kill()
        self.thread = self._new()

    def snapshot(self) -> dict[str, int]:
        return self.thread.snapshot()

    def saved(self, timeout: float = 5.0) -> dict[str, Any]:
        """The state file once it has been written after now (0.2 s after a change)."""
        assert self.state is not None
        path = self.state
        deadline = time.monotonic() + timeout
        before = path.stat().st_mtime_ns if path.exists() else 0
        while time.monotonic() < deadline:
            if path.exists() and path.stat().st_mtime_ns != before:
                break
            time.sleep(0.05)
        return json.loads(path.read_text())


_DEFAULT = object()


@pytest.fixture
def line_on(server, hooks, tmp_path) -> Iterator[Any]:
    """``line_on()``: the router on ``tmp_path/router-state.json``; ``line_on(None)``: on no
    state file; ``line_on(text=...)``: on a file that holds ``text`` at start."""
    made: list[Restartable] = []

    def make(state: Any = _DEFAULT, text: str | None = None) -> Restartable:
        path = tmp_path / "router-state.json" if state is _DEFAULT else state
        if text is not None:
            path.write_text(text)
        made.append(Restartable(server, hooks, path))
        return made[-1]

    yield make
    for r in made:
        r.thread.stop()


@pytest.fixture
def line(line_on) -> Restartable:
    return line_on()


def _connected(server, peers, counselor="c-alba"):
    guest = GuestPeer(peers, server).connect().hello()
    c = CounselorPeer(peers, server, counselor, f"pw-{counselor[2:]}").connect().ready(2)
    chat = c.expect("offer")["chat"]
    c.accept(chat)
    c.expect("assigned", chat=chat)
    guest.expect("state", state="connected")
    return guest, c, chat


def _states(peer) -> list[str]:
    return [g.get("state") for g in peer.taken("state")]


def test_a_chat_in_progress_survives_the_router_dying(server, peers, hooks, line):
    guest, alba, chat = _connected(server, peers)
    first = guest.say("antes de la caída")
    alba.expect("msg", mid=first)
    guest.expect("receipt", mid=first)
    line.saved()
    line.thread.kill()
    # written while no router runs: kept by their senders
    down_in = [guest.say(f"durante {i}") for i in range(3)]
    down_out = [alba.say(chat, f"mientras {i}") for i in range(2)]
    line.thread = line._new()
    for mid in down_in:
        alba.expect("msg", chat=chat, mid=mid, timeout=15)
    for mid in down_out:
        guest.expect("msg", mid=mid, timeout=15)
    after = alba.say(chat, "sigo aquí")
    guest.expect("msg", mid=after, timeout=15)
    alba.expect("received", chat=chat, mid=after, timeout=15)
    time.sleep(0.5)
    assert not alba.taken("msg") and not guest.taken("msg")  # nothing twice
    assert not guest.outbox and not alba.outbox
    snap = line.snapshot()
    assert (snap["connected"], snap["waiting"], snap["held"]) == (1, 0, 0)
    assert not alba.taken("ended")
    assert "reassigning" not in _states(guest)
    assert hooks.of("answered") == [chat]  # answered once, not again after the restart


def test_the_queue_keeps_its_order_and_its_waiting_times(server, peers, line):
    first = GuestPeer(peers, server).connect().hello()
    first.expect("state", state="waiting")
    time.sleep(1.0)
    second = GuestPeer(peers, server).connect().hello()
    second.expect("state", state="waiting", position="2")
    assert len(line.saved()["chats"]) == 2
    line.restart()
    beto = CounselorPeer(peers, server, "c-beto", "pw-beto").connect().ready(1)
    offer = beto.expect("offer", timeout=15)
    assert float(offer["waited_s"]) >= 1.0  # its wait goes on, from when it began
    beto.accept(offer["chat"])
    beto.expect("assigned", chat=offer["chat"])
    first.expect("state", state="connected", timeout=10)  # the first in, the first answered
    second.expect("state", state="waiting", position="1", timeout=10)


def test_without_a_state_file_the_chat_is_taken_back_when_they_write(server, peers, line_on):
    """A crash before the state was written (or a router run without one): whoever writes
    is asked who they are, and the console's list brings its chat back."""
    line = line_on(None)
    guest, alba, chat = _connected(server, peers)
    line.restart()
    mid = guest.say("¿sigues ahí?")  # unknown to the new router: asked to say hello
    guest.expect("state", state="waiting", timeout=10)  # its chat again, by its id
    back = alba.say(chat, "sí, aquí sigo")  # unknown too: asked to say ready, with its chats
    alba.expect("msg", chat=chat, mid=mid, timeout=15)
    guest.expect("msg", mid=back, timeout=15)
    guest.expect("state", state="connected", timeout=10)
    assert "closed" not in _states(guest)
    assert not alba.taken("ended")
    assert line.snapshot()["connected"] == 1


def test_a_chat_that_ended_before_the_restart_stays_ended(server, peers, line):
    guest, alba, chat = _connected(server, peers)
    alba.end(chat)
    guest.expect("state", state="closed", reason="by_counselor")
    line.saved()
    line.restart()
    guest.hello()  # a tab left open says hello with the old session
    guest.expect("state", state="closed", reason="by_counselor", timeout=10)
    assert line.snapshot()["chats"] == 0


def test_the_state_file_holds_no_text_and_no_session_token(server, peers, line):
    guest, alba, chat = _connected(server, peers)
    alba.expect("msg", mid=guest.say("palabra-clave-unica"))
    saved = line.saved()
    assert line.state is not None
    raw = line.state.read_bytes()
    assert b"palabra-clave-unica" not in raw and guest.session.encode() not in raw
    assert saved["version"] == 1 and [c["id"] for c in saved["chats"]] == [chat]
    assert line.state.stat().st_mode & 0o077 == 0


def test_a_damaged_state_file_is_kept_aside_and_the_router_starts(server, peers, line_on, tmp_path):
    line = line_on(text='{"version": 1, "chats": [')
    aside = list(tmp_path.glob("router-state.json.damaged-*"))
    assert len(aside) == 1 and aside[0].read_text() == '{"version": 1, "chats": ['
    _guest, _alba, chat = _connected(server, peers)  # works, and writes a good file
    assert [c["id"] for c in line.saved()["chats"]] == [chat]


def test_a_state_file_that_cannot_be_written_does_not_stop_the_chats(
    server, peers, hooks, tmp_path
):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    router = RouterThread(server, hooks, state_file=str(blocker / "state.json")).start()
    try:
        guest, alba, chat = _connected(server, peers)
        alba.expect("msg", mid=guest.say("hola"))
        guest.expect("msg", mid=alba.say(chat, "hola, aquí estoy"))
        time.sleep(0.5)
        assert router.call(lambda: router.router.save_errors) >= 1
    finally:
        router.stop()


def test_an_unknown_tab_that_writes_is_asked_to_say_hello_not_closed(server, router, peers):
    guest = GuestPeer(peers, server).connect()
    guest.said_hello = True  # as a tab from before the restart whose hello was lost
    guest.say("hola")
    st = guest.expect("state", state="waiting", timeout=10)
    assert st["position"] == "1"
    assert p.valid_mid(router.call(lambda: next(iter(router.router.chats))))
