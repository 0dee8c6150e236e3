"""The chat line on the counselor's laptop (docs/chat.md "The console"): between the chat
service (chat/service.py), the call machine, the case store, the ring and the quality flow.

- **One place decides who may take what**: :meth:`ChatFlow.policy`. A counselor holds one
  call or up to ``chat.max_chats`` chats, never both unless ``chat.chats_with_call``. From
  the call machine's state, a break, the lock screen and the chats held it tells the chat
  service its capacity (``set_capacity(n, busy)``: no new offers while busy) and the call
  machine whether chats occupy the counselor (``set_occupied``: no call is offered then).
  The console asks :meth:`ChatFlow.refusal` before accepting and says the same words.
- **A chat is a contact** like a call: a ``calls.model.Call`` snapshot with the channel
  ``chat`` and the id ``chat:<chat>`` (storage/transcripts.py), written to the case store at
  acceptance, at the end and at its wrap-up, so notes, risk, escalation and wrap-up attach
  to it as to a call. A chat's wrap-up (disposition) ends in the quality flow like a call's.
- **Transcripts** are written from the chat events on the store's writer thread; while the
  store is locked (or a write fails) they wait in memory, bounded (:data:`PENDING_CHAT`),
  in order, and are written at unlock. The text is personal data: it is never logged.
- **The ring** plays while an offer is open (audio/ringer.py, as for a call), and stops when
  it is accepted, declined or withdrawn — unless a call still rings.

The service's events arrive on its own thread; every method here is thread-safe.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
from collections import deque
from typing import TYPE_CHECKING, Any

from calls.model import Call, CallState, EndedBy, Source
from core.errors import FaroError
from core.events import Event
from core.i18n import _
from core.modules import optional_module
from core.privacy import Personal, reveal

if TYPE_CHECKING:
    from app.session import Session

log = logging.getLogger(__name__)

#: transcript writes kept while the store is locked (messages, deliveries, contact rows)
PENDING_CHAT = 5000
#: the option defaults when chat/options.py is not part of this build
_DEFAULTS = {"chat.enabled": False, "chat.max_chats": 2, "chat.chats_with_call": False}

# phases of a chat contact on this console
OFFERED, ACTIVE, WRAP_UP, DONE = "offered", "active", "wrap_up", "done"
#: why nobody can take a new chat now (ChatCapacity.reason)
REASON_CALL, REASON_BREAK, REASON_LOCKED, REASON_FULL = "call", "break", "locked", "full"
#: the router's end reasons → who ended the contact (calls.model.EndedBy)
_ENDED_BY = {
    "by_counselor": EndedBy.COUNSELOR,
    "by_person": EndedBy.CALLER,
    "quick_exit": EndedBy.CALLER,
    "idle": EndedBy.SYSTEM,
    "server": EndedBy.NETWORK,
    "counselor_lost": EndedBy.NETWORK,
    "person_lost": EndedBy.NETWORK,
}


@dataclasses.dataclass(frozen=True, slots=True)
class ChatCapacity(Event):
    """What the flow told the chat service: ``capacity`` chats in all, ``busy`` (no new
    offers) and why (a REASON_* code, "" when new chats may come)."""

    capacity: int
    busy: bool
    reason: str
    held: int
    #: the chats keep calls from ringing (held, and ``chat.chats_with_call`` off)
    occupied: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class ChatContactChanged(Event):
    """A chat contact moved on (offered → active → wrap_up → done): ``call`` is its
    contact snapshot (``call.id`` the contact id, for the notes and forms)."""

    chat: str
    phase: str
    call: Call
    lang: str
    disposition: str | None = None


@dataclasses.dataclass
class _Chat:
    chat: str
    phase: str
    call: Call
    lang: str
    offered_mono: float


class ChatFlow:
    def __init__(self, session: Session) -> None:
        self.session = session
        self._lock = threading.RLock()
        self._write_lock = threading.Lock()  # one writer of the pending jobs at a time
        self._chats: dict[str, _Chat] = {}
        self._pending: deque[tuple[str, tuple[Any, ...]]] = deque()
        self.dropped = 0  # pending jobs dropped because the bound was reached
        self._told: tuple[int, bool] | None = None
        self._ringing = False
        self._call_state: CallState = session.calls.state
        bus = session.bus
        from calls.events import CallStateChanged

        bus.subscribe(CallStateChanged, self._on_call_state)
        try:
            from storage.events import StoreLocked, StoreUnlocked
        except ModuleNotFoundError:
            pass
        else:
            bus.subscribe(StoreUnlocked, self._on_store)
            bus.subscribe(StoreLocked, self._on_store)
            from storage.events import RiskAssessmentSaved

            bus.subscribe(RiskAssessmentSaved, self._on_risk)
        events = optional_module("chat.events")
        if events is None:  # a build without the chat line
            return
        self.ev = events
        bus.subscribe(events.ChatLine, self._on_line)
        bus.subscribe(events.ChatOffered, self._on_offered)
        bus.subscribe(events.ChatWithdrawn, self._on_withdrawn)
        bus.subscribe(events.ChatAssigned, self._on_assigned)
        bus.subscribe(events.ChatMessage, self._on_message)
        bus.subscribe(events.ChatDelivery, self._on_delivery)
        bus.subscribe(events.ChatEnded, self._on_ended)

    # -- options and services ------------------------------------------------------------------
    def option(self, key: str) -> Any:
        try:
            return self.session.config.get(key)
        except KeyError:  # a build without chat/options.py
            return _DEFAULTS[key]

    @property
    def service(self) -> Any:
        return self.session.service("chat")

    def setting(self, name: str) -> Any:
        """``enabled``, ``max_chats``, ``chats_with_call``: the chat service's own (its
        options as it applies them), else the options."""
        service = self.service
        value = getattr(service, name, None) if service is not None else None
        return value if value is not None else self.option(f"chat.{name}")

    @property
    def available(self) -> bool:
        """Whether this console takes chats (the service is here and enabled)."""
        return self.service is not None and bool(self.setting("enabled"))

    # -- the one place: who may take what ------------------------------------------------------
    def held(self) -> int:
        """Chats that occupy the counselor: offered-and-accepted, in progress, in wrap-up."""
        with self._lock:
            return sum(1 for c in self._chats.values() if c.phase in (ACTIVE, WRAP_UP))

    def _busy_reason(self) -> str:
        state = self._call_state
        store = self.session.service("store")
        if store is not None and store.is_locked:
            return REASON_LOCKED
        if state is CallState.BREAK:
            return REASON_BREAK
        if state is not CallState.AVAILABLE and not self.setting("chats_with_call"):
            return REASON_CALL
        if self.held() >= int(self.setting("max_chats")):
            return REASON_FULL
        return ""

    def policy(self) -> None:
        """Tell the chat service and the call machine what the counselor may take now."""
        max_chats = int(self.setting("max_chats"))
        with self._lock:
            # a chat in wrap-up has left the router but still takes its place here
            wrapping = sum(1 for c in self._chats.values() if c.phase == WRAP_UP)
            held = self.held()
        reason = self._busy_reason()
        capacity = max(0, max_chats - wrapping)
        busy = bool(reason)
        occupied = held > 0 and not self.setting("chats_with_call")
        self.session.calls.set_occupied(occupied)
        service = self.service
        if service is None or not self.setting("enabled"):
            return
        with self._lock:
            changed = self._told != (capacity, busy)
            self._told = (capacity, busy)
        if changed:
            try:
                service.set_capacity(capacity, busy)
            except Exception:
                log.exception("the chat service refused the capacity")
        self.session.bus.publish(ChatCapacity(capacity, busy, reason, held, occupied))
        escalation = self.session.service("escalation")
        if escalation is not None and hasattr(escalation, "chats_held"):
            escalation.chats_held(held if occupied else 0)  # the supervisors' board

    def refusal(self, chat: str | None = None) -> str | None:
        """Why the counselor cannot accept a chat now, in words (None: they can)."""
        if not self.available:
            return _("The chat line is not set up on this console.")
        reason = self._busy_reason()
        if reason == REASON_CALL:
            return _("Finish the call first: a chat cannot be taken during a call.")
        if reason == REASON_BREAK:
            return _("You are on a break: end it to take a chat.")
        if reason == REASON_LOCKED:
            return _("Unlock the case notes to take a chat.")
        if reason == REASON_FULL:
            return _("You already have as many chats as you may hold.")
        if chat is not None:
            with self._lock:
                known = self._chats.get(chat)
            if known is None or known.phase != OFFERED:
                return _("That chat is no longer offered to you.")
        return None

    # -- commands from the console -------------------------------------------------------------
    def accept(self, chat: str) -> str | None:
        """Accept an offer; returns a refusal in words, or None."""
        why = self.refusal(chat)
        if why is not None:
            return why
        try:
            self.service.accept(chat)
        except FaroError as exc:
            return exc.message
        return None

    def decline(self, chat: str) -> None:
        service = self.service
        if service is not None:
            service.decline(chat)
        with self._lock:
            known = self._chats.get(chat)
            if known is not None and known.phase == OFFERED:
                del self._chats[chat]
        self._ring()

    def send(self, chat: str, text: str) -> str:
        """Send a message; returns its mid. Raises the service's ChatRefused (its words)."""
        mid: str = self.service.send(chat, text)
        return mid

    def typing(self, chat: str, on: bool) -> None:
        service = self.service
        if service is not None:
            service.typing(chat, on)

    def read(self, chat: str, mid: str) -> None:
        service = self.service
        if service is not None:
            service.read(chat, mid)

    def end(self, chat: str) -> None:
        self.service.end(chat)

    def escalate(self, chat: str, level: str | None = None) -> bool:
        """Ask a supervisor about this chat, as the call's Escalate does (the escalation
        service hears the same event the call machine publishes)."""
        from calls.events import EscalationRequested

        with self._lock:
            known = self._chats.get(chat)
        if known is None or known.phase not in (ACTIVE, WRAP_UP):
            return False
        self.session.bus.publish(EscalationRequested(known.call.id, level, Source.UI))
        return True

    def _on_risk(self, event: Any) -> None:
        """An assessment of a chat held here at imminent risk proposes an urgent escalation,
        as the escalation service does for the call in progress (one press sends it)."""
        from storage.transcripts import chat_of

        chat = chat_of(event.contact_id)
        if not event.imminent or chat is None:
            return
        with self._lock:
            known = self._chats.get(chat)
            if known is None or known.phase not in (ACTIVE, WRAP_UP):
                return
        try:
            from escalation.events import EscalationProposed
            from escalation.levels import URGENT
        except ModuleNotFoundError:  # a build without escalation
            return
        if self.session.service("escalation") is not None:
            self.session.bus.publish(EscalationProposed(event.contact_id, URGENT, "imminent_risk"))

    def finish_wrap_up(self, chat: str, disposition: str | None) -> str | None:
        """End a chat's wrap-up with its disposition (required, as for a call): the contact
        row, its note saved as a version, the quality flow. Returns a refusal, or None."""
        with self._lock:
            known = self._chats.get(chat)
            if known is None or known.phase != WRAP_UP:
                return _("This chat is not in its wrap-up.")
            if not disposition:
                return _("Choose how the chat ended to finish its wrap-up.")
            known.call = dataclasses.replace(known.call, disposition=disposition)
            known.phase = DONE
            call, lang = known.call, known.lang
            del self._chats[chat]
        self._job("contact", call, True)
        quality = getattr(self.session.wiring, "quality", None)
        if quality is not None:
            quality.wrapped_up(call, disposition)
        self.session.bus.publish(ChatContactChanged(chat, DONE, call, lang, disposition))
        self.policy()
        return None

    def contact(self, chat: str) -> Call | None:
        with self._lock:
            known = self._chats.get(chat)
            return known.call if known is not None else None

    # -- events from the chat service ----------------------------------------------------------
    def _on_line(self, event: Any) -> None:
        with self._lock:
            self._told = None  # a (re)connected line learns the capacity again
        self.policy()

    def _on_offered(self, event: Any) -> None:
        from storage.transcripts import CHANNEL, contact_id

        clock = self.session.clock
        now = clock.now()
        call = Call(
            contact_id(event.chat),
            CHANNEL,
            Personal(""),
            now - dt.timedelta(seconds=max(0.0, float(event.waited_s))),  # when it arrived
            clock.monotonic() - max(0.0, float(event.waited_s)),
        )
        with self._lock:
            known = self._chats.get(event.chat)
            if known is not None and known.phase != OFFERED:
                return  # offered again while held here (a reconnection): nothing new
            self._chats[event.chat] = _Chat(event.chat, OFFERED, call, event.lang or "es", 0.0)
        self._ring()
        self.session.bus.publish(ChatContactChanged(event.chat, OFFERED, call, event.lang))

    def _on_withdrawn(self, event: Any) -> None:
        with self._lock:
            known = self._chats.get(event.chat)
            if known is None or known.phase != OFFERED:
                return
            del self._chats[event.chat]
        self._ring()

    def _on_assigned(self, event: Any) -> None:
        clock = self.session.clock
        with self._lock:
            known = self._chats.get(event.chat)
            if known is None:  # assigned without an offer seen here (a restart): a contact
                from storage.transcripts import CHANNEL, contact_id

                call = Call(
                    contact_id(event.chat), CHANNEL, Personal(""), clock.now(), clock.monotonic()
                )
                known = self._chats[event.chat] = _Chat(event.chat, OFFERED, call, "es", 0.0)
            if known.phase != OFFERED:
                return
            known.phase = ACTIVE
            known.lang = event.lang or known.lang
            known.call = dataclasses.replace(
                known.call, answered_at=clock.now(), answered_mono=clock.monotonic()
            )
            call, lang = known.call, known.lang
        self._ring()
        self._job("contact", call, False)
        self.session.bus.publish(ChatContactChanged(event.chat, ACTIVE, call, lang))
        self.policy()

    def _on_message(self, event: Any) -> None:
        from storage.records import iso
        from storage.transcripts import ChatLine, contact_id

        line = ChatLine(
            contact_id(event.chat),
            event.chat,
            event.mid,
            event.direction,
            reveal(event.text),
            iso(event.at),
            event.seq,
            "sent" if event.direction == "out" else "",
        )
        self._job("lines", [line])

    def _on_delivery(self, event: Any) -> None:
        self._job(
            "delivery", event.chat, event.mid, event.state, self.session.clock.now(), event.reason
        )

    def _on_ended(self, event: Any) -> None:
        clock = self.session.clock
        with self._lock:
            known = self._chats.get(event.chat)
            if known is None:
                return
            if known.phase == OFFERED:  # ended before it was accepted: the router's queue
                del self._chats[event.chat]
                call = None
            elif known.phase == ACTIVE:
                known.phase = WRAP_UP
                known.call = dataclasses.replace(
                    known.call,
                    ended_at=clock.now(),
                    ended_mono=clock.monotonic(),
                    ended_by=_ENDED_BY.get(event.reason, EndedBy.SYSTEM),
                )
                call, lang = known.call, known.lang
            else:
                return
        if call is None:
            self._ring()
            return
        self._job("contact", call, False)
        self.session.bus.publish(ChatContactChanged(event.chat, WRAP_UP, call, lang))
        self.policy()

    # -- calls, the store ------------------------------------------------------------------------
    def _on_call_state(self, event: Any) -> None:
        self._call_state = event.state  # the machine's transitions, in order
        self.policy()
        if event.state is not CallState.RINGING:
            self._ring()  # the wiring silenced the ring for the call: an offer rings on

    def _on_store(self, event: Any) -> None:
        self.policy()
        self.flush()

    # -- the ring --------------------------------------------------------------------------------
    def offers(self) -> list[str]:
        with self._lock:
            return [c.chat for c in self._chats.values() if c.phase == OFFERED]

    def _ring(self) -> None:
        """The ringer plays while an offer is open; silent when none (unless a call rings)."""
        ringer = self.session.service("ringer")
        want = bool(self.offers())
        if ringer is None:
            return
        if want:
            ringer.ring()
            self._ringing = True
        elif self._ringing:
            self._ringing = False
            if self.session.calls.state is not CallState.RINGING:
                ringer.silence()

    # -- transcripts to the store ----------------------------------------------------------------
    def _job(self, kind: str, *args: Any) -> None:
        with self._lock:
            if len(self._pending) >= PENDING_CHAT:
                self._pending.popleft()
                self.dropped += 1
                if self.dropped == 1 or self.dropped % 100 == 0:
                    log.warning("chat transcript writes dropped while waiting: %d", self.dropped)
            self._pending.append((kind, args))
        self.flush()

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def flush(self) -> None:
        """Write what waits, in order, while the store is open (a failure: it waits on)."""
        store = self.session.service("store")
        if store is None:
            return
        with self._write_lock:
            while True:
                if store.is_locked:
                    return
                with self._lock:
                    if not self._pending:
                        return
                    kind, args = self._pending[0]
                try:
                    if kind == "lines":
                        store.keep_chat_messages(args[0])
                    elif kind == "delivery":
                        store.set_chat_delivery(*args)
                    else:
                        store.record_contact(args[0], save_note=args[1])
                except FaroError as exc:
                    log.warning("chat transcript not stored yet (%s): %s", kind, exc.message)
                    return
                except RuntimeError:  # the writer stopped: the store is locking
                    return
                with self._lock:
                    if self._pending and self._pending[0] == (kind, args):
                        self._pending.popleft()
