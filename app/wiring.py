"""Flows between services that neither service should know about.

The Session creates one :class:`Wiring` after attaching the services (before starting
them). Each flow listens on the bus and calls the other service, so capability packages
stay independent of each other:

- call-health figures (audio) are kept with the contact (store); figures that arrive while
  the store is locked wait in memory (bounded) and are written at unlock;
- the button box's help LED shows the escalation: pending (blinking) from raised until a
  supervisor acknowledges, and again once the fallback number is due; acknowledged (steady)
  until it is resolved;
- the escalation outbox keeps its records in the encrypted store (:class:`StoreBox`, the
  store seen as escalation's ``DurableBox``), and writes what it held while the store was
  locked when it is unlocked;
- a risk assessment at imminent risk (store) lets the escalation service propose an urgent
  escalation;
- the imminent-risk rescue steps (store) reach the supervisors of that call's escalation
  as codes and times (escalation);
- the audio prompts (transitions only) become the call-health codes of the counselor's
  presence on the supervisors' board;
- the ring (audio/ringer.py) plays while the call machine says a call is ringing, and
  stops the moment it is not;
- a follow-up handed to another counselor (app/follow_up_transfer.py): escalation carries
  the steps (escalation/transfers.py), the store seals, opens, adds and closes follow-ups;
  the console's sealing key (in the store) is announced with its presence at unlock;
- a missed contact's callback (app/callback_numbers.py): escalation carries the queue
  (escalation/callbacks.py), the store seals the number for the assignee and opens it there;
- quality figures (app/quality_flow.py): at the end of a wrap-up the call's figures are
  derived from the store and sent by escalation if the counselor consented; a supervisor's
  console keeps the records and review marks it receives in its store;
- training mode (app/training.py): the practice caller's audio, the trainee's risk level and
  rescue steps for the watching supervisor, and the debrief after each practice call;
- live assistance (app/live_assist.py): a supervisor's request answered by the phone line's
  one-time grant, the audio leg's life told back on the link, the supervisor's phone line
  dialling when the counselor's laptop is ready;
- the SIP password of the ``sip`` telephony backend lives in the encrypted store
  (secret ``sip.password``): it is handed to the backend when the store is unlocked (and at
  start when it already is), so the phone line registers only once the counselor is in;
- the chat line's password lives there too (secret ``chat.password``) and is handed to the
  chat service the same way; the chat service is told the counselor is busy (no offers) on a
  phone call (unless ``chat.chats_with_call``), on a break and while the store is locked.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import TYPE_CHECKING, Any

from core.errors import FaroError

if TYPE_CHECKING:
    from app.session import Session

try:
    from escalation.outbox import BoxLocked, Pending, StoreOutbox
    from escalation.spool import Spool
except ModuleNotFoundError:  # a build without escalation: StoreBox is never made
    pass

log = logging.getLogger(__name__)

PENDING_FIGURES = 200
#: the store's secret that holds the SIP password
SIP_PASSWORD = "sip.password"
#: the store's secret that holds the chat account's password
CHAT_PASSWORD = "chat.password"


class Wiring:
    def __init__(self, session: Session) -> None:
        self.session = session
        self._pending: deque[tuple[str, dict[str, Any]]] = deque(maxlen=PENDING_FIGURES)
        self._health_codes: dict[type, str] = {}
        self._roster_payload: str | None = None  # a roster waiting for the store to unlock
        bus = session.bus
        # services are looked up when an event arrives (a test may attach one later); the
        # outbox's durable box is handed over now, before the escalation service is used
        escalation = session.service("escalation")
        store = session.service("store")
        if escalation is not None and store is not None:
            escalation.use_durable_box(StoreBox(store))
        try:
            from storage.events import RescueStepRecorded, RiskAssessmentSaved, StoreUnlocked
        except ModuleNotFoundError:  # a build without storage
            pass
        else:
            bus.subscribe(RiskAssessmentSaved, self._on_risk)
            bus.subscribe(RescueStepRecorded, self._on_rescue_step)
            bus.subscribe(StoreUnlocked, self._on_unlocked)
            from storage.events import StoreLocked

            bus.subscribe(StoreLocked, self._on_locked)
        try:
            from audio import events as aev
        except ModuleNotFoundError:  # a build without audio: nothing to wire
            pass
        else:
            bus.subscribe(aev.CallHealthSummary, self._on_health)
            self._health_codes = {
                aev.CallerSilenceLong: "caller_silent",
                aev.TalkingMoreThanListening: "talking_more",
                aev.MutedWhileSpeaking: "muted_while_speaking",
                aev.DeadMic: "dead_mic",
                aev.OneWayAudio: "one_way_audio",
                aev.Clipping: "clipping",
            }
            for kind in self._health_codes:
                bus.subscribe(kind, self._on_health_signal)
            bus.subscribe(aev.AudioDeviceLost, self._on_audio_device)
            bus.subscribe(aev.AudioDeviceRestored, self._on_audio_device)
        try:
            from escalation import events as esc
        except ModuleNotFoundError:
            pass
        else:
            for kind in (esc.EscalationStateChanged, esc.FallbackNumberDue):
                bus.subscribe(kind, self._on_escalation)
            bus.subscribe(esc.RosterChanged, self._on_roster)
        from calls.events import CallStateChanged

        bus.subscribe(CallStateChanged, self._on_call_state)
        # follow-ups handed to another counselor: escalation carries, the store seals/opens
        from app.follow_up_transfer import FollowUpTransfers

        self.transfers = FollowUpTransfers(session)
        if escalation is not None and store is not None:
            from escalation.events import TransferWork

            bus.subscribe(TransferWork, self.transfers.work)
        # missed contacts' callbacks: escalation carries, the store seals and shows the number
        from app.callback_numbers import CallbackNumbers

        self.callbacks = CallbackNumbers(session, self.transfers)
        if escalation is not None and store is not None:
            from escalation.callbacks import CallbackWork

            bus.subscribe(CallbackWork, self.callbacks.work)
        # quality figures (store → escalation, with consent) and what supervisors receive
        from app.quality_flow import QualityFlow

        self.quality = QualityFlow(session)
        # training mode: the practice call's flows and its debrief (app/training.py)
        from app.training import TrainingRun

        self.training = TrainingRun(session) if TrainingRun.wanted(session) else None
        # live assistance: the link's control, the phone line's audio leg (app/live_assist.py)
        from app.live_assist import LiveAssist

        self.assist = LiveAssist(session)

    # -- calls → the ring ----------------------------------------------------------------------
    def _on_call_state(self, event: Any) -> None:
        from calls.model import CallState

        self._call_state = event.state
        self.give_chat_capacity()
        ringer = self.session.service("ringer")
        if ringer is None:
            return
        if event.state is CallState.RINGING:
            ringer.ring()
        else:
            ringer.silence()  # answered, missed, declined: silent within one 50 ms block

    # -- escalation ↔ button box -----------------------------------------------------------
    def _on_escalation(self, event: Any) -> None:
        box = self.session.service("buttonbox")
        escalation = self.session.service("escalation")
        if box is None or escalation is None:
            return
        state = escalation.led_state()
        box.set_escalation(
            None
            if state in (None, "resolved")
            else "acknowledged"
            if state == "acknowledged"
            else "pending"
        )

    # -- store → escalation, audio → escalation ---------------------------------------------
    def _on_risk(self, event: Any) -> None:
        escalation = self.session.service("escalation")
        if escalation is not None:
            escalation.risk_assessed(event.contact_id, event.imminent)

    def _on_rescue_step(self, event: Any) -> None:
        """A rescue step recorded (store) goes, as its code and time, to the supervisors of
        the call's escalation (escalation): never the location text."""
        escalation = self.session.service("escalation")
        if escalation is not None:
            escalation.rescue_step(event.contact_id, event.step, event.at)

    def _on_health_signal(self, event: Any) -> None:
        escalation = self.session.service("escalation")
        if escalation is not None:
            escalation.health_signal(self._health_codes[type(event)], event.active)

    def _on_audio_device(self, event: Any) -> None:
        from audio.events import AudioDeviceLost

        escalation = self.session.service("escalation")
        if escalation is not None:
            escalation.audio_device_changed(isinstance(event, AudioDeviceLost))

    # -- escalation ↔ store: the roster -----------------------------------------------------
    def _on_roster(self, event: Any) -> None:
        """A newer roster (identities, roles, times) is kept in the supervisor's store; while
        the store is locked it waits in memory (the broker holds it retained meanwhile)."""
        self._roster_payload = event.payload
        self._store_roster()

    def _store_roster(self) -> None:
        from escalation.roster_link import STORE_SECRET

        store = self.session.service("store")
        payload = self._roster_payload
        if store is None or store.is_locked or payload is None:
            return
        try:
            if store.secret(STORE_SECRET) != payload:
                store.set_secret(STORE_SECRET, payload)
        except FaroError as exc:
            log.warning("roster not stored yet: %s", exc.message)
            return
        self._roster_payload = None

    def _roster_unlocked(self) -> None:
        """At unlock: the stored roster to the supervisor agent (a console started with the
        broker down still knows the hour's roster), then one that arrived while locked."""
        from escalation.roster_link import STORE_SECRET

        escalation = self.session.service("escalation")
        store = self.session.service("store")
        if escalation is None or store is None or store.is_locked:
            return
        roster = getattr(escalation.agent, "roster", None)  # a supervisor console's
        if roster is None:
            return
        try:
            stored = store.secret(STORE_SECRET)
        except FaroError as exc:
            log.warning("cannot read the stored roster: %s", exc.message)
            stored = None
        if stored:
            roster.load(stored)
        self._store_roster()

    # -- audio → store -------------------------------------------------------------------------
    def _on_health(self, event: Any) -> None:
        self._pending.append((event.call_id, event.figures))
        self._flush_health()

    def _on_unlocked(self, event: Any) -> None:
        self.give_form()
        escalation = self.session.service("escalation")
        if escalation is not None:
            escalation.box_unlocked()
        self._flush_health()
        self.give_sip_credentials()
        self.give_chat_credentials()
        self.give_chat_capacity()
        self.transfers.ready()
        self._roster_unlocked()
        self.callbacks.work()
        self.quality.ready()

    # -- the session's form → store -----------------------------------------------------------
    def give_form(self) -> None:
        """At unlock, the store keeps the session's form (core/forms.py) and saves new
        records under its version. A refusal (the same version with other content) is
        logged, and records go on under the version used before: nothing is lost."""
        from core.errors import FaroError

        store = self.session.service("store")
        form = getattr(self.session, "form", None)
        if store is None or form is None or store.is_locked:
            return
        try:
            warning = store.use_form(form)
        except FaroError as exc:  # says versions, never record data
            log.warning("forms file not used by the store: %s", exc.message)
            return
        if warning:
            log.warning("%s", warning)

    # -- store → telephony ------------------------------------------------------------------------
    def give_sip_credentials(self) -> None:
        """Hand the SIP password from the store to the ``sip`` backend (if both are here)."""
        backend = self.session.calls.backend
        store = self.session.service("store")
        if backend.name != "sip" or store is None or store.is_locked:
            return
        from calls.backends.sip import SipBackend
        from calls.sip.settings import SipCredentials

        assert isinstance(backend, SipBackend)
        try:
            password = store.secret(SIP_PASSWORD)
        except FaroError as exc:
            log.warning("cannot read the SIP password from the store: %s", exc)
            return
        if password is None:
            log.warning("no SIP password in the store (faro call account set)")
            return
        backend.set_credentials(SipCredentials(password))

    # -- store → chat line ------------------------------------------------------------------------
    def give_chat_credentials(self) -> None:
        """Hand the chat account's password from the store to the chat service (if both are
        here and the chat line is on)."""
        chat = self.session.service("chat")
        store = self.session.service("store")
        if chat is None or not chat.enabled or store is None or store.is_locked:
            return
        try:
            password = store.secret(CHAT_PASSWORD)
        except FaroError as exc:
            log.warning("cannot read the chat password from the store: %s", exc)
            return
        if password is None:
            log.warning("no chat password in the store (secret chat.password)")
            return
        chat.set_password(password)

    def give_chat_capacity(self) -> None:
        """No chat offers while on a phone call (unless ``chat.chats_with_call``), on a break,
        or with the store locked; otherwise up to ``chat.max_chats``."""
        chat = self.session.service("chat")
        if chat is None or not chat.enabled:
            return
        from calls.model import CallState

        state = getattr(self, "_call_state", CallState.AVAILABLE)
        on_call = state in (
            CallState.RINGING,
            CallState.ON_CALL,
            CallState.ON_HOLD,
            CallState.WRAP_UP,
        )
        store = self.session.service("store")
        locked = store is not None and store.is_locked
        busy = state is CallState.BREAK or locked or (on_call and not chat.chats_with_call)
        chat.set_capacity(chat.max_chats, busy)

    def _on_locked(self, event: Any) -> None:
        self.give_chat_capacity()

    def _flush_health(self) -> None:
        store = self.session.service("store")
        if store is None or store.is_locked:
            return
        while self._pending:
            call_id, figures = self._pending[0]
            try:
                store.set_contact_health(call_id, figures)
            except FaroError as exc:
                log.warning("call-health figures not stored yet: %s", exc.message)
                return
            self._pending.popleft()


def store_outbox(store: Any, bus: Any, spool: Spool | None = None) -> StoreOutbox:
    """The escalation outbox on a case store outside a Session (tests, bench/escalation.py):
    what it holds while the store is locked is written at every unlock."""
    from storage.events import StoreUnlocked

    outbox = StoreOutbox(StoreBox(store), spool)
    bus.subscribe(StoreUnlocked, lambda event: outbox.box_unlocked())
    return outbox


class StoreBox:
    """The case store as the escalation outbox's durable box
    (:class:`escalation.outbox.DurableBox`): the same records, with the store's
    ``StoreIsLocked`` told as ``BoxLocked``."""

    def __init__(self, store: Any) -> None:
        from storage.errors import StoreIsLocked

        self._store = store
        self._store_locked = StoreIsLocked

    @property
    def is_locked(self) -> bool:
        return bool(self._store.is_locked)

    def _call(self, method: str, *args: Any) -> Any:
        try:
            return getattr(self._store, method)(*args)
        except self._store_locked as exc:
            raise BoxLocked from exc

    def outbox_add(self, kind: str, message_id: str, payload: bytes) -> bool:
        return bool(self._call("outbox_add", kind, message_id, payload))

    def outbox_pending(self, kind: str | None = None) -> list[Pending]:
        return [
            Pending(p.id, p.kind, p.message_id, p.payload, p.attempts, p.created_at)
            for p in self._call("outbox_pending", kind)
        ]

    def outbox_attempted(self, message_id: str) -> None:
        self._call("outbox_attempted", message_id)

    def outbox_mark_sent(self, message_id: str) -> object:
        return self._call("outbox_mark_sent", message_id)

    def record_escalation(
        self,
        escalation_id: str,
        contact_id: str | None,
        level: str,
        state: str,
        detail: dict[str, Any],
    ) -> None:
        self._call("record_escalation", escalation_id, contact_id, level, state, detail)

    def add_whisper(self, escalation_id: str, direction: str, text: str) -> object:
        return self._call("add_whisper", escalation_id, direction, text)

    def audit(self, action: str, subject: str, detail: dict[str, Any] | None = None) -> None:
        self._call("audit", action, subject, detail)

    def escalation(self, escalation_id: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self._call("escalation", escalation_id)
        return found
