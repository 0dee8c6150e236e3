"""What supervisors see of the chat line, end to end: a real Prosody, the router with its
hooks on the escalation link (app/chat_router.py) on a real broker, real peers, and a real
supervisor agent: the queue, a chat nobody accepted in time, its answer, an abandoned chat,
in the service level and the abandoned list."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from app.chat_router import EscalationHooks
from core.clock import SystemClock
from core.config import Config
from core.events import EventBus
from escalation import events as ev
from escalation.chat_queue import RouterLink
from escalation.transport import LinkSettings
from tests.escalation.conftest import _agents_on, fields
from tests.support.chat_peers import CounselorPeer, GuestPeer, RouterThread
from tests.support.toolkit import wait_until

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def tls_broker(tmp_path):
    from tests.support.escalation_broker import TlsBroker

    broker = TlsBroker(tmp_path / "tls").start()
    yield broker
    broker.stop()


@pytest.fixture
def agents(tls_broker):
    yield from _agents_on(tls_broker)


def test_supervisors_see_the_queue_an_unanswered_chat_and_its_answer(
    server, peers, tls_broker, agents
):
    cfg = Config.defaults().with_overrides(tls_broker.overrides("chat-router", "counselor"))
    link = RouterLink(cfg, SystemClock(), EventBus(), LinkSettings.from_config(cfg, "counselor"))
    link.start()
    sup, sup_ev = agents("supervisor", "sup-ana")
    try:
        with RouterThread(server, EscalationHooks(link), alert_after_s=2.0):
            wait_until(lambda: link.connected and sup.connected, 15, what="connected")
            guest = GuestPeer(peers, server).connect().hello()
            guest.expect("state", state="waiting")
            wait_until(lambda: sup.chat_queue.summary()[0] == 1, 10, what="one waiting")
            # nobody can take it: after the alert threshold the supervisors are told, loudly
            sup_ev.wait_event(ev.ChatQueueChanged, fields(new_alert=True), timeout=15)
            [waiting] = sup.chat_queue.summary()[3]
            assert waiting.router == "chat-router" and waiting.waited_s >= 2.0
            alba = CounselorPeer(peers, server, "c-alba", "pw-alba").connect().ready(capacity=1)
            chat = alba.expect("offer")["chat"]
            assert chat == waiting.chat
            alba.accept(chat)
            guest.expect("state", state="connected")
            wait_until(lambda: not sup.chat_queue.summary()[3], 10, what="alert cleared")
            wait_until(lambda: sup.chat_queue.summary()[:2] == (0, 1), 10, what="one open")
            # a second person leaves before anyone answers: abandoned, for the figures
            other = GuestPeer(peers, server).connect().hello()
            other.expect("state", state="waiting")
            other.bye()
            now = dt.datetime.now(dt.UTC)
            wait_until(
                lambda: sup.callbacks.service_level.hour(now, "chat").contacts == 2,
                15,
                what="both chats in the service level",
            )
            h = sup.callbacks.service_level.hour(now, "chat")
            assert h.answered == 1 and h.within == 1
            assert any(r[2] == "abandoned" and r[1] == "" for r in sup.board.rings)
            assert not sup.callbacks.items  # a chat leaves no number to call back
    finally:
        link.stop()


def test_an_alert_raised_before_the_router_restarts_is_kept_then_cleared(
    server, peers, tls_broker, agents, tmp_path
):
    """The router dies with an unanswered chat on the supervisors' boards; started again on
    its state file (and with a new link, as a new process has), the alert is still there, and
    the answer after the restart clears it: no stale alert."""
    cfg = Config.defaults().with_overrides(tls_broker.overrides("chat-router", "counselor"))
    state = str(tmp_path / "router-state.json")

    def new_link() -> RouterLink:
        link = RouterLink(
            cfg, SystemClock(), EventBus(), LinkSettings.from_config(cfg, "counselor")
        )
        link.start()
        return link

    link = new_link()
    sup, sup_ev = agents("supervisor", "sup-ana")
    router = RouterThread(server, EscalationHooks(link), alert_after_s=2.0, state_file=state)
    try:
        router.start()
        wait_until(lambda: link.connected and sup.connected, 15, what="connected")
        guest = GuestPeer(peers, server).connect().hello()
        guest.expect("state", state="waiting")
        sup_ev.wait_event(ev.ChatQueueChanged, fields(new_alert=True), timeout=15)
        [before] = sup.chat_queue.summary()[3]
        wait_until(lambda: (tmp_path / "router-state.json").exists(), 5, what="state written")
        time.sleep(0.5)  # the alert's flag is written too
        router.kill()
        link.stop()
        link = new_link()
        router = RouterThread(server, EscalationHooks(link), alert_after_s=2.0, state_file=state)
        router.start()
        wait_until(lambda: link.connected, 15, what="the new link")
        [after] = sup.chat_queue.summary()[3]
        assert after.chat == before.chat  # the same chat, still waiting, still alerted
        alba = CounselorPeer(peers, server, "c-alba", "pw-alba").connect().ready(capacity=1)
        chat = alba.expect("offer", timeout=15)["chat"]
        assert chat == before.chat
        alba.accept(chat)
        guest.expect("state", state="connected", timeout=10)
        wait_until(lambda: not sup.chat_queue.summary()[3], 10, what="alert cleared")
    finally:
        router.stop()
        link.stop()
