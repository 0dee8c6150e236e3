"""The supervisor side: receive alerts, confirm them, acknowledge, whisper, resolve.

:class:`SupervisorAgent` subscribes to every counselor's presence, rings and escalations
(the 'backup' group only to re-alerts), feeds the :class:`escalation.board.Board`, and sends
a receipt for every alert it holds (the counselor's "delivered"). An escalation id already
recorded in this console's store is never shown (notified) again, even after a restart.
Replies (acknowledge, whisper, resolve) go through the outbox and are published again at
reconnection until the broker has them. So does the clearing of a retained acknowledgement
once its escalation is over — by whoever resolves it, and by every console that hears the
counselor resolve it or finds it retained at subscription for an escalation it knows is over
(escalation/reconcile.py): an acknowledgement is never left behind on the broker.
The counselor's imminent-risk rescue steps arrive as codes and times on the escalation's
event topic and are held with its alert (``AlertItem.rescue``, in memory: a console that
restarts has the steps sent since, not the earlier ones).
"""

from __future__ import annotations

import copy
import functools
import logging
from collections.abc import Callable

from core.clock import Clock
from core.config import Config
from core.events import Event, EventBus
from core.i18n import N_, _
from escalation import events as ev
from escalation import messages as m
from escalation import options as o
from escalation import statuses, topics
from escalation.agent import Agent
from escalation.assist import SupervisorAssist
from escalation.assist import parse as parse_assist
from escalation.board import AlertItem, Board, CounselorRow
from escalation.callbacks import SupervisorCallbacks
from escalation.chat_queue import SupervisorChatQueue
from escalation.chat_queue import parse as parse_chat_queue
from escalation.outbox import REPLY, Outbox
from escalation.quality import ALL_COUNSELOR_QUALITY, SupervisorQuality
from escalation.quality import parse as parse_quality
from escalation.reconcile import clear_retained, republish_clears
from escalation.roster_link import TOPIC as ROSTER_TOPIC
from escalation.roster_link import CoverageNow, SupervisorRoster, presence_map
from escalation.training import SupervisorTraining
from escalation.transfers import SupervisorTransfers
from escalation.transport import LinkSettings, MqttLink

log = logging.getLogger(__name__)


def _by_name(row: CounselorRow) -> str:
    return row.counselor


class NotYours(ValueError):
    """Whispering on an escalation another supervisor acknowledged."""


class SupervisorAgent(Agent):
    TEXTS = (
        N_("Broker: escalation is not set up on this laptop"),
        N_("Broker: connecting…"),
        N_("Broker: connected"),
        N_("Broker: not connected — retrying"),
    )

    def __init__(
        self,
        config: Config,
        clock: Clock,
        bus: EventBus,
        outbox: Outbox,
        settings: LinkSettings | None,
        *,
        link_factory: Callable[..., MqttLink] = MqttLink,
    ) -> None:
        super().__init__(config, clock, bus, outbox, settings, link_factory=link_factory)
        self.group = config.get(o.SUPERVISOR_GROUP)
        self.board = Board(clock, config.get(o.COVERAGE_MINIMUM))
        self._seen_msgs: set[str] = set()
        #: follow-ups handed from one counselor to another (escalation/transfers.py)
        self.transfers = SupervisorTransfers(self)
        #: the roster: coverage of the hour and the on-call ladder (escalation/roster_link.py)
        self.roster = SupervisorRoster(self)
        #: missed contacts to call back, the service level (escalation/callbacks.py)
        self.callbacks = SupervisorCallbacks(self)
        #: quality records, review marks, break requests (escalation/quality.py)
        self.quality = SupervisorQuality(self)
        #: listening in, coaching or joining a counselor's call (escalation/assist.py)
        self.assist = SupervisorAssist(self)
        #: the chat line's queue and its unanswered chats (escalation/chat_queue.py)
        self.chat_queue = SupervisorChatQueue(self)
        #: trainees' practice calls, watched (escalation/training.py): never on the board
        self.training = SupervisorTraining(self)
        if settings is not None:
            subs = [
                topics.ALL_SUPERVISORS,
                topics.ALL_COUNSELOR_CALLBACKS,
                ALL_COUNSELOR_QUALITY,
                topics.ALL_COUNSELOR_TRANSFERS,
                topics.ALL_REALERTS,
                topics.ALL_COUNSELOR_EVENTS,
                topics.ALL_REPLIES,
                topics.ALL_PRESENCE,
                topics.ALL_RINGS,
                SupervisorTraining.SUBSCRIPTION,
                SupervisorAssist.SUBSCRIPTION,
                *SupervisorChatQueue.SUBSCRIPTIONS,
            ]
            if self.group == "primary":
                subs.insert(0, topics.ALL_ALERTS)
            self._open_link(
                [(s, 1) for s in subs],
                (topics.supervisor_presence(self.identity), self._offline(unexpected=True)),
            )

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        if self._first_time("start"):
            self._start_link()

    def stop(self) -> None:
        if self._first_time("stop") and self.link is not None:
            self.link.stop(
                farewell=[(topics.supervisor_presence(self.identity), self._offline(), True)]
            )

    # -- what the supervisor does -----------------------------------------------------------
    def acknowledge(self, esc_id: str) -> None:
        item = self._item(esc_id)
        if item.kind != "escalation":
            with self._lock:
                events = self.board.acknowledged(esc_id, self.identity)
            self._publish(events)
            return
        msg = m.Ack(m.new_id(), esc_id, self.identity, self.clock.now())
        self._reply(topics.ack(item.counselor, esc_id), msg, retain=True)
        with self._lock:
            events = self.board.acknowledged(esc_id, self.identity)
        self._record(item)
        self._publish(events)

    def whisper(self, esc_id: str, text: str) -> None:
        text = text.strip()
        limit = self.config.get(o.WHISPER_MAX_CHARS)
        if not text or len(text) > limit:
            raise ValueError(f"a whisper has 1 to {limit} characters")
        item = self._item(esc_id)
        if item.by != self.identity:
            raise NotYours(_("Only the supervisor who acknowledged this escalation can whisper."))
        msg = m.Whisper(m.new_id(), esc_id, self.identity, text, self.clock.now())
        self._reply(topics.supervisor_event(item.counselor, esc_id), msg)
        self.outbox.whisper(esc_id, "out", text)
        with self._lock:
            events = self.board.whispered(esc_id, "out", self.identity, text, msg.at)
        self._publish(events)

    def resolve(self, esc_id: str, outcome: str = "resolved") -> None:
        item = self._item(esc_id)
        if item.kind == "escalation":
            msg = m.Resolve(m.new_id(), esc_id, self.identity, outcome, self.clock.now())
            self._reply(topics.supervisor_event(item.counselor, esc_id), msg)
            self._clear_ack(item.counselor, esc_id)
        with self._lock:
            events = self.board.resolved(esc_id, self.identity, outcome)
        self._record(item)
        self._publish(events)

    def snapshot(self) -> tuple[list[CounselorRow], list[AlertItem], list[tuple], int, int]:
        """(board rows, open alerts, recent rings, available, minimum) — copies for the UI.
        The rows are the board's own: frozen, replaced at each presence, never changed (deep
        copies of 5,000 rows took ~30 ms of each UI tick; bench/results/escalation_scale.md)."""
        with self._lock:
            return (
                sorted(self.board.counselors.values(), key=_by_name),
                copy.deepcopy(self.board.open_alerts()),
                list(self.board.rings),
                self.board.available(),
                self.board.coverage_minimum,
            )

    def coverage(self) -> CoverageNow | None:
        """The hour's coverage from the roster (None without one for this hour); a change of
        its level is published once (:class:`escalation.events.CoverageLevel`)."""
        with self._lock:
            seen = presence_map(list(self.board.counselors.values()))
        cov = self.roster.coverage_now(seen)
        level = self.roster.coverage_level_changed(cov)
        if level is not None:
            log.info("coverage from the roster: %s", level)
            self.bus.publish(ev.CoverageLevel(level, cov.version if cov else 0))
        return cov

    def alert(self, esc_id: str) -> AlertItem | None:
        with self._lock:
            item = self.board.alerts.get(esc_id)
            return copy.deepcopy(item) if item else None

    # -- internals ----------------------------------------------------------------------------
    def _item(self, esc_id: str) -> AlertItem:
        with self._lock:
            item = self.board.alerts.get(esc_id)
        if item is None:
            raise KeyError(esc_id)
        return item

    def _record(self, item: AlertItem) -> None:
        try:
            self.outbox.record(
                item.escalation_id,
                None,
                item.level,
                item.state,
                {
                    "counselor": item.counselor,
                    "contact": item.contact,
                    "reason": item.reason,
                    "risk": item.risk,
                    "by": item.by,
                    "outcome": item.outcome,
                    "realerted": item.realerted,
                    "kind": item.kind,
                    "raised_at": item.raised_at.isoformat(),
                },
            )
        except Exception:
            log.exception("could not record escalation %s", item.escalation_id)

    def _reply(self, topic: str, msg: m.Message, retain: bool = False) -> None:
        payload = m.encode(msg)
        self.outbox.add(REPLY, msg.id, payload)
        self._send_reply(topic, msg.id, payload, retain)

    def _clear_ack(self, counselor: str, esc_id: str, again: bool = False) -> None:
        item = f"{esc_id}:ack-clear" + (f":{m.new_id()[:8]}" if again else "")
        clear_retained(self.link, self.outbox, item, [topics.ack(counselor, esc_id)])

    def _send_reply(self, topic: str, message_id: str, payload: bytes, retain: bool) -> None:
        if self.link is not None:
            self.link.publish(
                topic, payload, qos=1, retain=retain, on_sent=self._done_when_sent(message_id)
            )

    def _publish(self, events: list[Event]) -> None:
        for e in events:
            self.bus.publish(e)

    def _on_connected(self) -> None:
        if self.link is None:
            return
        hello = m.Presence(self.identity, statuses.AVAILABLE, self.clock.now(), id=m.new_id())
        self.link.publish(topics.supervisor_presence(self.identity), m.encode(hello), retain=True)
        republish_clears(self.link, self.outbox)
        self.transfers.republish()
        self.roster.republish()
        self.callbacks.republish()
        self.quality.connected()
        for p in self.outbox.pending(REPLY):
            try:
                msg = m.decode(p.payload)
            except m.MessageError:
                self.outbox.mark_sent(p.message_id)
                continue
            item = self.board.alerts.get(getattr(msg, "escalation", ""))
            if item is None:
                continue
            if isinstance(msg, m.Ack):
                self._send_reply(
                    topics.ack(item.counselor, item.escalation_id), p.message_id, p.payload, True
                )
            else:
                self._send_reply(
                    topics.supervisor_event(item.counselor, item.escalation_id),
                    p.message_id,
                    p.payload,
                    False,
                )

    def _on_message(self, topic: str, payload: bytes, retained: bool) -> None:
        if self.training.on_message(topic, payload):
            return
        callback = topics.parse_callback(topic)
        if callback is not None:
            self.callbacks.on_message(*callback, payload, retained)
            return
        chat_queue = parse_chat_queue(topic)
        if chat_queue is not None:
            self.chat_queue.on_message(*chat_queue, payload)
            return
        if not payload:
            return
        if topic == ROSTER_TOPIC:
            self.roster.on_message(payload, retained)
            return
        transfer = topics.parse_transfer(topic)
        if transfer is not None:
            self.transfers.on_message(*transfer, payload)
            return
        quality = parse_quality(topic)
        if quality is not None:
            self.quality.on_message(*quality, payload, retained)
            return
        assist = parse_assist(topic)
        if assist is not None:
            self.assist.on_message(*assist, payload)
            return
        try:
            side, who, esc_id, leaf = topics.parse(topic)
            msg = m.decode(payload, self.config.get(o.WHISPER_MAX_CHARS))
        except (m.MessageError, ValueError) as exc:
            log.warning("ignored a malformed message: %s", exc)
            return
        # the sender's identity is the topic (enforced by the broker ACL): it must match
        if side == "c" and getattr(msg, "counselor", who) != who:
            log.warning("ignored a message whose counselor does not match its topic")
            return
        if esc_id is not None and getattr(msg, "escalation", esc_id) != esc_id:
            log.warning("ignored a message whose escalation does not match its topic")
            return
        if side == "c" and isinstance(msg, m.Presence) and leaf == "presence":
            self.transfers.presence(msg)
            self.callbacks.presence(msg)
            self.quality.presence(msg, retained)
            with self._lock:
                events = self.board.presence(msg, live=not retained)
                suspect = self.board.suspected(msg.counselor)
            if suspect is not None and suspect.id == msg.id:
                self.clock.call_later(
                    self.config.get(o.LOST_GRACE_S),
                    functools.partial(self._lost, msg.counselor, msg.id),
                )
            self._publish(events)
        elif side == "sup" and isinstance(msg, m.Presence) and leaf == "presence":
            self.roster.supervisor_presence(who, msg)
        elif side == "c" and isinstance(msg, m.Ring) and leaf == "ring":
            with self._lock:
                events = self.board.ring(msg)
            self.callbacks.ring(msg)
            self._publish(events)
        elif side == "c" and isinstance(msg, m.Answered) and leaf == "ring":
            self.callbacks.answered(msg)
        elif side == "c" and isinstance(msg, m.Alert) and leaf in ("alert", "realert"):
            self._alert(msg, who)
        elif side == "c" and leaf == "event" and esc_id:
            self._counselor_event(msg, esc_id, who)
        elif side == "s" and esc_id:
            self._supervisor_reply(msg, esc_id, who, retained)

    def _is_over(self, esc_id: str, item: AlertItem | None) -> bool:
        if item is not None:
            return not item.open
        rec = self.outbox.escalation(esc_id)
        return rec is not None and rec.get("state") == ev.RESOLVED

    def _lost(self, counselor: str, presence_id: str) -> None:
        with self._lock:
            events = self.board.confirm_lost(counselor, presence_id)
        if events:
            log.warning("counselor %s lost during a call", counselor)
            self.outbox.audit("escalation.counselor_lost", counselor, None)
        self._publish(events)

    def _alert(self, a: m.Alert, counselor: str) -> None:
        with self._lock:
            fresh = a.escalation not in self.board.alerts
        known = self.outbox.escalation(a.escalation) if fresh else None
        with self._lock:
            shown, events = self.board.alert(a, known)
            item = self.board.alerts[a.escalation]
        if shown:
            log.info("alert %s from %s (level %s)", a.escalation, counselor, a.level)
            self.outbox.audit(
                "escalation.alert", a.escalation, {"level": a.level, "counselor": counselor}
            )
        if shown or events:
            self._record(item)
        self._publish(events)
        if item.open and item.by is None and self.link is not None:
            receipt = m.Receipt(m.new_id(), a.escalation, self.identity, self.clock.now())
            self.link.publish(topics.receipt(counselor, a.escalation), m.encode(receipt), qos=1)

    def _counselor_event(self, msg: m.Message, esc_id: str, counselor: str) -> None:
        if isinstance(msg, m.Whisper):
            with self._lock:
                item = self.board.alerts.get(esc_id)
                if item is None or msg.id in self._seen_msgs:
                    return
                self._seen_msgs.add(msg.id)
                events = self.board.whispered(esc_id, "in", msg.by, msg.text, msg.at)
            self.outbox.whisper(esc_id, "in", msg.text) if events else None
            self._publish(events)
        elif isinstance(msg, m.RescueStep):
            with self._lock:
                events = self.board.rescue_step(msg)
            if events:  # codes only: what the counselor did
                self.outbox.audit("escalation.rescue_step", esc_id, {"step": msg.step})
            self._publish(events)
        elif isinstance(msg, m.Resolve):
            with self._lock:
                events = self.board.resolved(esc_id, msg.by, msg.outcome)
                item = self.board.alerts.get(esc_id)
            if events and item is not None:
                self._record(item)
            if item is None or item.by is not None:
                # whoever acknowledged may be gone: any console that hears the end clears it
                self._clear_ack(counselor, esc_id)
            self._publish(events)

    def _supervisor_reply(
        self, msg: m.Message, esc_id: str, counselor: str, retained: bool = False
    ) -> None:
        if isinstance(msg, m.Ack):
            with self._lock:
                events = self.board.acknowledged(esc_id, msg.supervisor)
                item = self.board.alerts.get(esc_id)
            if events and item is not None:
                self._record(item)
            if retained and self._is_over(esc_id, item):
                log.info("acknowledgement of %s retained after its end: clearing it", esc_id)
                self._clear_ack(counselor, esc_id, again=True)
            self._publish(events)
        elif isinstance(msg, m.Resolve):
            with self._lock:
                events = self.board.resolved(esc_id, msg.by, msg.outcome)
                item = self.board.alerts.get(esc_id)
            if events and item is not None:
                self._record(item)
            self._publish(events)
