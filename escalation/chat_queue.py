"""The chat line's queue, for supervisors (issue 18; docs/chat.md "Supervision").

The chat router (chat/router.py, run by ``faro chat router``) has an identity on the
escalation link like a laptop's (a certificate, CN e.g. ``chat-router``) and writes only its
own subtree (the ACL's counselor pattern), router R:

- ``chat_queue`` retained on ``c/R/chatq``: how many people wait, how many chats are open, the
  oldest wait; published when it changes (at most every :data:`QUEUE_EVERY_S`) and at every
  connection.
- ``chat_alert`` retained on ``c/R/chatalert/CHAT`` while a chat nobody accepted in time waits;
  cleared (an empty retained message) when it is answered or the person leaves.
- ``answered`` and ``ring`` (``abandoned``) on ``c/R/ring`` with ``channel = "chat"``: the
  supervisors' speed to answer, service level and missed/abandoned list count chats like
  calls; no callback (a chat leaves no number). These go through an outbox until the broker
  has them (in memory on the router: it keeps no store).

No message text, no address of anybody, only ids, counts and seconds. Waiting times are
counted on by each supervisor's console from what the router said and when it said it (its
``at``), so a router's clock off by a few seconds moves a wait by as much; ordering is by ids.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
from collections.abc import Callable

from core.clock import Clock
from core.config import Config
from core.events import EventBus
from core.i18n import N_
from escalation import messages as m
from escalation.agent import Agent
from escalation.events import ChatQueueChanged
from escalation.outbox import MemoryOutbox, Outbox
from escalation.topics import ROOT
from escalation.transport import LinkSettings, MqttLink

log = logging.getLogger(__name__)

EVENT = "chatq.event"  # the router: an answered/abandoned chat, until the broker has it
QUEUE_EVERY_S = 2.0
ALL_QUEUES = f"{ROOT}/c/+/chatq"
ALL_ALERTS = f"{ROOT}/c/+/chatalert/+"


def queue_topic(router: str) -> str:
    return f"{ROOT}/c/{router}/chatq"


def alert_topic(router: str, chat: str) -> str:
    return f"{ROOT}/c/{router}/chatalert/{chat}"


def ring_topic(router: str) -> str:
    return f"{ROOT}/c/{router}/ring"


def parse(topic: str) -> tuple[str, str, str | None] | None:
    """(router, leaf 'chatq'|'chatalert', chat id or None) of a chat-queue topic."""
    parts = topic.split("/")
    if parts[:3] != ["faro", "v1", "c"] or len(parts) < 5:
        return None
    if len(parts) == 5 and parts[4] == "chatq":
        return parts[3], "chatq", None
    if len(parts) == 6 and parts[4] == "chatalert":
        return parts[3], "chatalert", parts[5]
    return None


# -- the router's side ------------------------------------------------------------------------
class RouterLink(Agent):
    """The router's voice on the escalation link (its hooks call these; never blocks)."""

    TEXTS = (
        N_("Supervisors: escalation is not set up for the chat router"),
        N_("Supervisors: connecting…"),
        N_("Supervisors: connected"),
        N_("Supervisors: not connected — retrying"),
    )

    def __init__(
        self,
        config: Config,
        clock: Clock,
        bus: EventBus,
        settings: LinkSettings | None,
        outbox: Outbox | None = None,
        *,
        link_factory: Callable[..., MqttLink] = MqttLink,
    ) -> None:
        super().__init__(
            config, clock, bus, outbox or MemoryOutbox(), settings, link_factory=link_factory
        )
        self._state_lock = threading.Lock()
        self._queue: m.ChatQueue | None = None
        self._queue_sent_at = -1e9
        self._queue_timer: object | None = None
        self._alerts: dict[str, m.ChatAlert] = {}
        self._open_link([], None)

    def start(self) -> None:
        if self._first_time("start"):
            self._start_link()

    def stop(self) -> None:
        if self._first_time("stop") and self.link is not None:
            self.link.stop()

    # -- what the router tells ------------------------------------------------------------------
    def queue(self, waiting: int, open_chats: int, oldest_s: float) -> None:
        msg = m.ChatQueue(
            m.new_id(), self.identity, waiting, open_chats, max(0.0, oldest_s), self.clock.now()
        )
        with self._state_lock:
            same = self._queue is not None and (self._queue.waiting, self._queue.open) == (
                waiting,
                open_chats,
            )
            self._queue = msg
            wait = QUEUE_EVERY_S - (self.clock.monotonic() - self._queue_sent_at)
            if same or (wait > 0 and self._queue_timer is not None):
                return  # the oldest wait alone moves on by itself at each console
            if wait > 0:
                self._queue_timer = self.clock.call_later(wait, self._send_queue)
                return
        self._send_queue()

    def _send_queue(self) -> None:
        with self._state_lock:
            self._queue_timer = None
            msg = self._queue
            self._queue_sent_at = self.clock.monotonic()
        if msg is not None and self.link is not None:
            self.link.publish(queue_topic(self.identity), m.encode(msg), qos=1, retain=True)

    def alert(self, chat: str, waited_s: float, offers: int = 0) -> None:
        msg = m.ChatAlert(
            m.new_id(), self.identity, chat, max(0.0, waited_s), offers, self.clock.now()
        )
        with self._state_lock:
            self._alerts[chat] = msg
        if self.link is not None:
            self.link.publish(alert_topic(self.identity, chat), m.encode(msg), qos=1, retain=True)

    def answered(self, chat: str, waited_s: float) -> None:
        self._clear_alert(chat)
        msg = m.Answered(m.new_id(), self.identity, max(0.0, waited_s), self.clock.now(), "chat")
        self._event(msg.id, m.encode(msg))

    def abandoned(self, chat: str, waited_s: float) -> None:
        self._clear_alert(chat)
        msg = m.Ring(
            m.new_id(),
            self.identity,
            "abandoned",
            max(0.0, waited_s),
            self.clock.now(),
            None,
            None,
            "chat",
        )
        self._event(msg.id, m.encode(msg))

    def _clear_alert(self, chat: str) -> None:
        with self._state_lock:
            self._alerts.pop(chat, None)
        # cleared whether or not this process raised it: an alert retained by the router
        # before it restarted (its chats come back from its state file) must not stay on the
        # supervisors' boards; clearing a topic that holds nothing is harmless
        if self.link is not None:
            self.link.publish(alert_topic(self.identity, chat), b"", qos=1, retain=True)

    def _event(self, message_id: str, payload: bytes) -> None:
        self.outbox.add(EVENT, message_id, payload)
        if self.link is not None:
            self.link.publish(
                ring_topic(self.identity), payload, qos=1, on_sent=self._done_when_sent(message_id)
            )

    # -- the link --------------------------------------------------------------------------
    def _on_connected(self) -> None:
        link = self.link
        if link is None:
            return
        with self._state_lock:
            queue, alerts = self._queue, list(self._alerts.values())
        if queue is not None:
            link.publish(queue_topic(self.identity), m.encode(queue), qos=1, retain=True)
        for a in alerts:
            link.publish(alert_topic(self.identity, a.chat), m.encode(a), qos=1, retain=True)
        for p in self.outbox.pending(EVENT):
            link.publish(
                ring_topic(self.identity),
                p.payload,
                qos=1,
                on_sent=self._done_when_sent(p.message_id),
            )

    def _on_message(self, topic: str, payload: bytes, retained: bool) -> None:
        pass  # the router subscribes to nothing


# -- the supervisor's side --------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, slots=True)
class WaitingChat:
    router: str
    chat: str
    waited_s: float  # as the router said at ``at``
    offers: int
    at: dt.datetime

    def waited(self, now: dt.datetime) -> float:
        return self.waited_s + max(0.0, (now - self.at).total_seconds())


class SupervisorChatQueue:
    SUBSCRIPTIONS = (ALL_QUEUES, ALL_ALERTS)

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self._lock = threading.Lock()
        self.queues: dict[str, m.ChatQueue] = {}
        self.alerts: dict[tuple[str, str], WaitingChat] = {}

    def on_message(self, router: str, leaf: str, chat: str | None, payload: bytes) -> None:
        if not payload:
            if leaf == "chatalert" and chat is not None:
                with self._lock:
                    gone = self.alerts.pop((router, chat), None)
                if gone is not None:
                    self._changed()
            return
        try:
            msg = m.decode(payload)
        except m.MessageError as exc:
            log.warning("ignored a malformed chat-queue message: %s", exc)
            return
        if getattr(msg, "counselor", router) != router:
            return  # the topic names the sender (the ACL enforces it)
        if leaf == "chatq" and isinstance(msg, m.ChatQueue):
            with self._lock:
                self.queues[router] = msg
            self._changed()
        elif leaf == "chatalert" and isinstance(msg, m.ChatAlert) and msg.chat == chat:
            with self._lock:
                new = (router, chat) not in self.alerts
                self.alerts[(router, chat)] = WaitingChat(
                    router, chat, msg.waited_s, msg.offers, msg.at
                )
            self._changed(new_alert=new)

    def summary(self) -> tuple[int, int, float | None, list[WaitingChat]]:
        """(waiting, open, the oldest wait now in seconds or None, the alerts, oldest first)."""
        now = self.agent.clock.now()
        with self._lock:
            queues = list(self.queues.values())
            alerts = sorted(self.alerts.values(), key=lambda a: -a.waited(now))
        waiting = sum(q.waiting for q in queues)
        open_chats = sum(q.open for q in queues)
        oldest = [q.oldest_s + max(0.0, (now - q.at).total_seconds()) for q in queues if q.waiting]
        return waiting, open_chats, (max(oldest) if oldest else None), alerts

    def _changed(self, new_alert: bool = False) -> None:
        waiting, open_chats, _oldest, alerts = self.summary()
        self.agent.bus.publish(ChatQueueChanged(waiting, open_chats, len(alerts), new_alert))
