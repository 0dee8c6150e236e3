"""The chat line's queue on the escalation link, on a real broker: the router's identity
publishes the queue (retained), the chats nobody accepted in time (retained until answered or
abandoned), and each answered or abandoned chat for the service level; supervisors see them,
also after the router or their own console restarts. Codes, counts and seconds only."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from core.clock import SystemClock
from core.config import Config
from core.events import EventBus
from escalation import chat_queue as cq
from escalation import events as ev
from escalation import messages as m
from escalation.transport import LinkSettings
from tests.escalation.conftest import fields
from tests.support.toolkit import Recorder, wait_until

pytestmark = pytest.mark.timeout(90)


def _router(broker, made: list) -> tuple[cq.RouterLink, Recorder]:
    cfg = Config.defaults().with_overrides(broker.overrides("chat-router", "counselor"))
    bus = EventBus()
    rec = Recorder(bus)
    link = cq.RouterLink(cfg, SystemClock(), bus, LinkSettings.from_config(cfg, "counselor"))
    link.start()
    made.append(link)
    return link, rec


@pytest.fixture
def routers(tls_broker):
    made: list = []
    yield lambda: _router(tls_broker, made)
    for link in made:
        link.stop()


def test_messages_round_trip_and_older_consoles_read_a_chat_ring_as_a_ring():
    at = dt.datetime.now(dt.UTC).replace(microsecond=0)  # messages carry milliseconds
    for msg in (
        m.ChatQueue("q1", "chat-router", 3, 2, 41.5, at),
        m.ChatAlert("a1", "chat-router", "chat-12345678", 130.0, 4, at),
        m.Ring("r1", "chat-router", "abandoned", 50.0, at, None, None, "chat"),
        m.Answered("x1", "chat-router", 12.0, at, "chat"),
    ):
        assert m.decode(m.encode(msg)) == msg
    # a channel this Faro does not know reads as absent; a ring without one is a call's
    d = json.loads(m.encode(m.Answered("x2", "c-alba", 3.0, at, "chat")))
    d["channel"] = "sms"
    assert m.decode(json.dumps(d).encode()).channel is None
    del d["channel"]
    assert m.decode(json.dumps(d).encode()).channel is None


def test_queue_alert_answered_abandoned_reach_every_supervisor(routers, agents):
    router, _ = routers()
    ana, ana_ev = agents("supervisor", "sup-ana")
    wait_until(lambda: router.connected and ana.connected, 15, what="connected")
    router.queue(2, 1, 35.0)
    wait_until(lambda: ana.chat_queue.summary()[0] == 2, 10, what="the queue")
    waiting, open_chats, oldest, alerts = ana.chat_queue.summary()
    assert (waiting, open_chats, alerts) == (2, 1, []) and oldest >= 35.0
    router.alert("chat-aaaa1111", 125.0, offers=3)
    ana_ev.wait_event(ev.ChatQueueChanged, fields(new_alert=True))
    [alert] = ana.chat_queue.summary()[3]
    assert alert.chat == "chat-aaaa1111" and alert.offers == 3 and alert.waited_s == 125.0
    # a supervisor console that starts now gets the queue and the alert, retained
    ben, _ = agents("supervisor", "sup-ben")
    wait_until(lambda: len(ben.chat_queue.summary()[3]) == 1, 10, what="retained alert")
    assert ben.chat_queue.summary()[0] == 2
    router.answered("chat-aaaa1111", 140.0)
    for sup in (ana, ben):
        wait_until(lambda s=sup: not s.chat_queue.summary()[3], 10, what="alert cleared")
    router.abandoned("chat-bbbb2222", 50.0)
    now = dt.datetime.now(dt.UTC)
    for sup in (ana, ben):
        wait_until(
            lambda s=sup: s.callbacks.service_level.hour(now, "chat").contacts == 2,
            10,
            what="the chats' service level",
        )
        h = sup.callbacks.service_level.hour(now, "chat")
        assert (h.answered, h.within) == (1, 0)
        assert sup.callbacks.service_level.hour(now, "call").contacts == 0
        wait_until(lambda s=sup: any(r[2] == "abandoned" for r in s.board.rings), 10)
        assert [r[1] for r in sup.board.rings] == [""]  # a chat: no counselor had it
        assert not sup.callbacks.items  # no number: never a callback


def test_a_restarted_router_puts_its_queue_and_alerts_back(tls_broker, agents):
    made: list = []
    try:
        router, _ = _router(tls_broker, made)
        ana, _ = agents("supervisor", "sup-ana")
        wait_until(lambda: router.connected and ana.connected, 15, what="connected")
        router.alert("chat-cccc3333", 90.0)
        wait_until(lambda: ana.chat_queue.summary()[3], 10, what="alert")
        router.stop()
        again, _ = _router(tls_broker, made)
        wait_until(lambda: again.connected, 15, what="router back")
        again.queue(1, 0, 95.0)  # what the restarted router knows: the chat still waits
        again.alert("chat-cccc3333", 95.0)
        wait_until(lambda: ana.chat_queue.summary()[0] == 1, 10, what="queue again")
        assert [a.chat for a in ana.chat_queue.summary()[3]] == ["chat-cccc3333"]
    finally:
        for link in made:
            link.stop()
