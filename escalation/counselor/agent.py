"""The counselor agent: what a counselor does (raise, whisper, resolve, presence, rings)
and the messages it receives."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from core.clock import Clock
from core.config import Config
from core.events import EventBus
from escalation import events as ev
from escalation import messages as m
from escalation import options as o
from escalation import reasons, topics
from escalation.assist import CounselorAssist
from escalation.assist import parse as parse_assist
from escalation.callbacks import CounselorCallbacks
from escalation.counselor.retained import Retained
from escalation.levels import DEFAULT_REASON, LEVELS
from escalation.lifecycle import Escalation
from escalation.outbox import ALERT, EVENT, Outbox
from escalation.quality import CounselorQuality
from escalation.quality import parse as parse_quality
from escalation.training import CounselorTraining
from escalation.transfers import CounselorTransfers
from escalation.transport import LinkSettings, MqttLink

log = logging.getLogger(__name__)


class CounselorAgent(Retained):
    def __init__(
        self,
        config: Config,
        clock: Clock,
        bus: EventBus,
        outbox: Outbox,
        settings: LinkSettings | None,
        *,
        link_factory: Callable[..., MqttLink] = MqttLink,
        presence: bool = True,
        strays: str = "keep",
    ) -> None:
        super().__init__(
            config,
            clock,
            bus,
            outbox,
            settings,
            link_factory=link_factory,
            presence=presence,
            strays=strays,
        )
        self._seen_msgs: set[str] = set()
        #: follow-ups handed to / from other counselors (escalation/transfers.py)
        self.transfers = CounselorTransfers(self)
        #: callbacks of our missed contacts, and those assigned to us (escalation/callbacks.py)
        self.callbacks = CounselorCallbacks(self)
        #: quality figures with consent, private requests (escalation/quality.py)
        self.quality = CounselorQuality(self)
        #: a supervisor listening in, coaching or joined (escalation/assist.py)
        self.assist = CounselorAssist(self)
        #: training mode: practice escalations to the watching supervisor (escalation/training.py)
        self.training = CounselorTraining(self)
        will = None
        if presence and settings is not None:
            will = (self.presence.topic, self._offline(unexpected=True))
        # our own alerts come back only as retained copies (no_local): to reconcile them
        self._open_link(
            [
                (topics.counselor_inbox(self.identity), 1, False),
                (topics.own_alerts(self.identity), 1, True),
                (topics.own_realerts(self.identity), 1, True),
            ],
            will,
        )

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        if not self._first_time("start"):
            return
        self._reload()
        self._start_link()
        self._schedule_resend()

    def stop(self) -> None:
        with self._lock:
            if not self._first_time("stop"):
                return
            if self._resend:
                self._resend.cancel()
            self._cancel_ladders()
        if self.link is not None:
            farewell = []
            if self.presence.enabled:
                farewell.append((self.presence.topic, self._offline(), True))
            farewell.extend(self.training.farewell())
            self.link.stop(farewell=farewell)

    # -- what the counselor does ------------------------------------------------------------
    def raise_escalation(
        self,
        level: str,
        call_id: str | None = None,
        *,
        reason: str | None = None,
        risk: str = "unknown",
        call_s: float = 0.0,
        source: str = "ui",
    ) -> str:
        """Record, persist, then publish a new escalation. Returns its id. In training mode
        it is a practice escalation, for the watching supervisor only."""
        if self.training.active:  # never a real alert from a practice session
            return self.training.raise_practice(
                level, call_id, reason=reason, risk=risk, call_s=call_s
            )
        if level not in LEVELS:
            raise ValueError(f"unknown escalation level {level!r}")
        reason = reason or DEFAULT_REASON[level]
        if reason not in reasons.REASONS:
            raise ValueError(f"unknown reason code {reason!r}")
        esc = Escalation(
            m.new_id(),
            self.identity or "unconfigured",
            call_id,
            level,
            reason,
            risk if risk in reasons.RISKS else "unknown",
            max(0.0, call_s),
            self.clock.now(),
            source,
        )
        payload = m.encode(self._alert(esc))
        gate = threading.Event()  # later steps wait until "raised" is in the store
        with self._lock:
            self.escalations[esc.id] = esc
            self._gates[esc.id] = (gate, threading.get_ident())
            try:
                self.outbox.add(ALERT, esc.id, payload)  # 1. the encrypted outbox first
            except Exception:
                log.exception("could not persist escalation %s; sending it anyway", esc.id)
            self._emit_state(esc, levels_state=ev.RAISED, by=None)
            self._arm_ladder(esc, 0.0)
        log.info("escalation %s raised (level %s, source %s)", esc.id, level, source)
        self._flush()
        try:
            self._publish_alert(esc, payload)  # 2. then the broker (never under our
        finally:  #    lock: paho calls back under its own)
            try:  # 3. history and audit row
                self.outbox.record(esc.id, call_id, level, ev.RAISED, esc.detail())
            except Exception:
                log.exception("could not record escalation %s", esc.id)
            finally:
                with self._lock:
                    self._gates.pop(esc.id, None)
                gate.set()
        self._send_presence()
        return esc.id

    def whisper(self, escalation_id: str, text: str) -> None:
        if self.training.owns(escalation_id):
            self.training.note(text)  # to the watching supervisor, marked practice
            return
        text = text.strip()
        limit = self.config.get(o.WHISPER_MAX_CHARS)
        if not text or len(text) > limit:
            raise ValueError(f"a whisper has 1 to {limit} characters")
        esc = self.escalations.get(escalation_id)
        if esc is None:
            raise KeyError(escalation_id)
        msg = m.Whisper(m.new_id(), escalation_id, self.identity, text, self.clock.now())
        self._send_event(esc, msg)
        self.outbox.whisper(escalation_id, "out", text)
        self.bus.publish(ev.WhisperReceived(escalation_id, "out", self.identity, text, msg.at))

    def set_presence(self, status: str, call_started_mono: float | None = None) -> None:
        with self._lock:
            self.presence.status = status
            self.presence.call_started = call_started_mono
        self._send_presence()

    def set_sealing_key(self, public_b64: str) -> None:
        """Announce this console's sealing public key with its presence (follow-ups handed
        to it are sealed to it)."""
        with self._lock:
            if self.presence.key == public_b64:
                return
            self.presence.key = public_b64
        self._send_presence()

    def set_chats(self, n: int) -> None:
        """How many chats keep this counselor from calls (0: none), with the presence."""
        with self._lock:
            if n == self.presence.chats:
                return
            self.presence.chats = n
        self._send_presence()

    def set_health(self, signals: tuple[str, ...]) -> None:
        """The live call-health signals supervisors see with the presence (codes only)."""
        with self._lock:
            if signals == self.presence.health:
                return
            self.presence.health = signals
        self._send_presence()

    def ring(
        self, reason: str, rang_s: float, contact: str | None = None, shown: bool | None = None
    ) -> None:
        """A missed ring: ``contact`` (its id here, the callback's id) and ``shown`` (a
        number reached Faro) let supervisors queue it for a callback; never the number."""
        if self.training.active:
            return  # a practice call that rang out is no missed call of the helpline
        msg = m.Ring(
            m.new_id(), self.identity, reason, max(0.0, rang_s), self.clock.now(), contact, shown
        )
        payload = m.encode(msg)
        self.outbox.add(EVENT, msg.id, payload)
        self._publish_event_item(topics.ring(self.identity), msg.id, payload)

    def answered(self, rang_s: float) -> None:
        """A ring answered after ``rang_s`` seconds (the supervisors' speed to answer)."""
        if self.training.active:
            return  # a practice call is not the helpline's speed to answer
        msg = m.Answered(m.new_id(), self.identity, max(0.0, rang_s), self.clock.now())
        payload = m.encode(msg)
        self.outbox.add(EVENT, msg.id, payload)
        self._publish_event_item(topics.ring(self.identity), msg.id, payload)

    def known(self, escalation_id: str) -> Escalation | None:
        """The escalation, brought back from the outbox's records if it was raised before a
        restart and is not over (None otherwise)."""
        return self._known(escalation_id)

    # -- the link (network thread) ---------------------------------------------------------
    def _on_connected(self) -> None:
        self._send_presence()
        self._republish(everything_open=True)
        self.training.republish()

    def _republish(self, everything_open: bool) -> None:
        super()._republish(everything_open)
        if self.link is not None and self.link.connected:
            self.transfers.republish()
            self.callbacks.republish()
            self.quality.republish()

    def _on_message(self, topic: str, payload: bytes, retained: bool) -> None:
        if self.training.on_message(topic, payload):
            return
        callback = topics.parse_callback(topic)
        if callback is not None:
            self.callbacks.on_message(*callback, payload)
            return
        transfer = topics.parse_transfer(topic)
        if transfer is not None:
            self.transfers.on_message(*transfer, payload)
            return
        quality = parse_quality(topic)
        if quality is not None:
            self.quality.on_message(*quality, payload)
            return
        assist = parse_assist(topic)
        if assist is not None:
            self.assist.on_message(*assist, payload)
            return
        try:
            side, who, esc_id, leaf = topics.parse(topic)
        except ValueError:
            log.warning("ignored a message on a foreign topic")
            return
        if side == "c" and who == self.identity and esc_id and leaf in ("alert", "realert"):
            self._own_retained(esc_id, payload, retained)
            return
        if not payload:
            return  # a cleared retained message
        try:
            msg = m.decode(payload, self.config.get(o.WHISPER_MAX_CHARS))
        except m.MessageError as exc:
            log.warning("ignored a malformed message on the inbox: %s", exc)
            return
        if side != "s" or who != self.identity or esc_id is None:
            return
        if getattr(msg, "escalation", None) != esc_id:
            log.warning("ignored a reply whose escalation does not match its topic")
            return
        esc = self._known(esc_id)
        if esc is None:
            return
        if isinstance(msg, m.Receipt):
            self.outbox.mark_sent(esc_id)
            self._advance(esc_id, ev.DELIVERED, msg.supervisor)
        elif isinstance(msg, m.Ack):
            self.outbox.mark_sent(esc_id)
            self._advance(esc_id, ev.ACKNOWLEDGED, msg.supervisor)
        elif isinstance(msg, m.Resolve):
            if esc.open:
                self._resolved(esc, msg.by, msg.outcome)
        elif isinstance(msg, m.Whisper):
            self._whisper_in(esc_id, msg)

    def _whisper_in(self, esc_id: str, msg: m.Whisper) -> None:
        with self._lock:
            if msg.by == self.identity or msg.id in self._seen_msgs:
                return
            self._seen_msgs.add(msg.id)
        self.outbox.whisper(esc_id, "in", msg.text)
        self.bus.publish(ev.WhisperReceived(esc_id, "in", msg.by, msg.text, msg.at))
