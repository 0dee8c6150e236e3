"""The call state machine.

One instance per counselor session. Commands arrive from any thread and any source (the
console, the keyboard, the button box, a headset, telephony); the machine serialises them
with one lock, tells the telephony backend what to do, and publishes events on the bus.
Time comes from the injected clock, so ring timeouts are tested without sleeping.

States: available → ringing → on call ⇄ on hold → wrap-up → available, plus break.
Muted is a flag of the call, cleared when the call ends.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections import deque
from typing import TYPE_CHECKING

from calls import events as ev
from calls.model import Action, Call, CallState, Command, EndedBy, MissReason, Source
from calls.options import (
    ALLOW_DECLINE,
    DEFAULT_ESCALATION_LEVEL,
    REQUIRE_DISPOSITION,
    RING_TIMEOUT,
    TRAINING,
)
from core.clock import Clock, Timer
from core.config import Config
from core.events import Event, EventBus
from core.i18n import _
from core.privacy import Personal

if TYPE_CHECKING:
    from calls.backends.base import TelephonyBackend

log = logging.getLogger(__name__)

HISTORY = 200


class CallMachine:
    def __init__(
        self, bus: EventBus, clock: Clock, config: Config, backend: TelephonyBackend
    ) -> None:
        self._bus = bus
        self._clock = clock
        self._config = config
        self.backend = backend
        self._lock = threading.RLock()
        self._state = CallState.AVAILABLE
        self._muted = False
        self._call: Call | None = None
        self._hold_started: float | None = None
        self._ring_timer: Timer | None = None
        self._pending: list[Event] = []
        self._publishing = False
        #: recent finished or missed calls, newest last (kept in memory only)
        self.history: deque[Call] = deque(maxlen=HISTORY)
        self._started = False
        #: another channel holds the counselor (chats: app/chat_flow.py): no call is offered
        self._occupied = False

    # -- read-only view -------------------------------------------------------------
    @property
    def state(self) -> CallState:
        return self._state

    @property
    def muted(self) -> bool:
        return self._muted

    @property
    def call(self) -> Call | None:
        return self._call

    # -- lifecycle --------------------------------------------------------------------
    def start(self) -> None:
        with self._lock:
            if self._started:
                return
            self._started = True
        self.backend.start(self)
        self.backend.counselor_available(self._available())

    def _available(self) -> bool:
        return self._state is CallState.AVAILABLE and not self._occupied

    @property
    def occupied(self) -> bool:
        return self._occupied

    def set_occupied(self, occupied: bool) -> None:
        """Another channel holds the counselor (the chats of app/chat_flow.py, the one place
        that decides it): meanwhile the backend is told the counselor is not available, and
        a call offered anyway is missed as busy, as in any state but available."""
        with self._lock:
            if occupied == self._occupied:
                return
            before = self._available()
            self._occupied = occupied
            if self._available() != before:
                self._emit(_AvailabilityNote(self._available()))
        self._flush()

    def stop(self) -> None:
        with self._lock:
            if self._ring_timer:
                self._ring_timer.cancel()
                self._ring_timer = None
        self.backend.stop()

    # -- commands from people and devices ---------------------------------------------
    def handle(self, command: Command) -> bool:
        """Apply a command. Returns False (and publishes CommandRejected) if it does not apply."""
        handler = _HANDLERS.get(command.action)
        if handler is None:
            raise AssertionError(f"unhandled action {command.action}")
        with self._lock:
            ok = handler(self, command)
        self._flush()
        return ok

    def do(
        self,
        action: Action,
        source: Source = Source.UI,
        disposition: str | None = None,
        level: str | None = None,
    ) -> bool:
        return self.handle(Command(action, source, disposition, level))

    def report(self, event: Event) -> None:
        """Publish what the telephony backend observed (line status, call quality), in order
        with the machine's own events."""
        with self._lock:
            self._emit(event)
        self._flush()

    def state_event(self) -> ev.CallStateChanged:
        """The current state as the :class:`~calls.events.CallStateChanged` a view renders
        from (``previous`` is the state itself): for its first render, before any event."""
        with self._lock:
            return self._state_changed(self._state, Source.SYSTEM)

    # -- signals from the telephony backend --------------------------------------------
    def on_incoming(
        self, caller_id: Personal | str, channel: str = "phone", backend_ref: str = ""
    ) -> str:
        """A call is offered to this counselor. Returns Faro's call id."""
        if not isinstance(caller_id, Personal):
            caller_id = Personal(caller_id)
        with self._lock:
            call = Call(
                Call.new_id(),
                channel,
                caller_id,
                self._clock.now(),
                self._clock.monotonic(),
                backend_ref=backend_ref,
                practice=self._config.get(TRAINING),  # marked where it is born
            )
            if not self._available():
                self._emit(ev.MissedCall(call, MissReason.BUSY, 0.0))
                self.history.append(call)
            else:
                self._call = call
                self._set_state(CallState.RINGING, Source.TELEPHONY)
                self._emit(ev.IncomingCall(call))
                timeout = self._config.get(RING_TIMEOUT)
                self._ring_timer = self._clock.call_later(
                    timeout, lambda: self._ring_timeout(call.id)
                )
        self._flush()
        return call.id

    def on_remote_hangup(self, call_id: str, by: EndedBy = EndedBy.CALLER) -> None:
        """The caller hung up, the line dropped (``EndedBy.NETWORK``) or the call was handed
        over (``EndedBy.TRANSFERRED``)."""
        with self._lock:
            call = self._call
            if call is None or call.id != call_id:
                return
            if self._state is CallState.RINGING:
                self._miss(MissReason.ABANDONED)
            elif self._state.in_call:
                self._end(by, Source.TELEPHONY)
        self._flush()

    # -- internals (all under self._lock) -----------------------------------------------
    def _reject(self, command: Command, reason: str) -> bool:
        self._emit(ev.CommandRejected(command.action, command.source, self._state, reason))
        return False

    # one handler per kind of action, looked up by handle() in _HANDLERS
    def _cmd_answer(self, cmd: Command) -> bool:
        s, st = cmd.source, self._state
        if st is CallState.RINGING:
            return self._answer(s)
        if st is CallState.AVAILABLE and self.backend.follows_counselor:
            self._call = Call(
                Call.new_id(), "phone", Personal(""), self._clock.now(), self._clock.monotonic()
            )
            return self._answer(s)
        return self._reject(cmd, _("There is no call ringing."))

    def _cmd_hang_up(self, cmd: Command) -> bool:
        s, st = cmd.source, self._state
        if st.in_call:
            self._end(EndedBy.COUNSELOR, s)
            return True
        if st is CallState.RINGING and self._config.get(ALLOW_DECLINE):
            self.backend.hangup(self._the_call())
            self._miss(MissReason.UNANSWERED)
            return True
        return self._reject(cmd, _("There is no call to hang up."))

    def _cmd_hold(self, cmd: Command) -> bool:
        st = self._state
        if not st.in_call:
            return self._reject(cmd, _("There is no call to hold."))
        # HOLD_TOGGLE: by the state
        want_hold = {Action.HOLD: True, Action.RESUME: False}.get(
            cmd.action, st is CallState.ON_CALL
        )
        if want_hold == (st is CallState.ON_HOLD):
            return True
        self._set_hold(want_hold, cmd.source)
        return True

    def _cmd_mute(self, cmd: Command) -> bool:
        if not self._state.in_call:
            return self._reject(cmd, _("There is no call to mute."))
        # MUTE_TOGGLE: the opposite
        want = {Action.MUTE: True, Action.UNMUTE: False}.get(cmd.action, not self._muted)
        if want != self._muted:
            self._set_muted(want, cmd.source)
        return True

    def _cmd_escalate(self, cmd: Command) -> bool:
        if self._state not in (CallState.ON_CALL, CallState.ON_HOLD, CallState.WRAP_UP):
            return self._reject(cmd, _("Escalation is for a call in progress or in wrap-up."))
        level = cmd.level or self._config.get(DEFAULT_ESCALATION_LEVEL)
        self._emit(ev.EscalationRequested(self._call.id if self._call else None, level, cmd.source))
        return True

    def _cmd_finish_wrap_up(self, cmd: Command) -> bool:
        if self._state is not CallState.WRAP_UP:
            return self._reject(cmd, _("There is no call in wrap-up."))
        if cmd.disposition is None and self._config.get(REQUIRE_DISPOSITION):
            return self._reject(cmd, _("Choose a disposition to finish the wrap-up."))
        call = dataclasses.replace(self._the_call(), disposition=cmd.disposition)
        self.history.append(call)
        self._call = None
        self._emit(ev.WrapUpFinished(call, cmd.disposition))
        self._set_state(CallState.AVAILABLE, cmd.source)
        return True

    def _cmd_start_break(self, cmd: Command) -> bool:
        if self._state is not CallState.AVAILABLE:
            return self._reject(cmd, _("Finish the current call before taking a break."))
        self._set_state(CallState.BREAK, cmd.source)
        return True

    def _cmd_end_break(self, cmd: Command) -> bool:
        if self._state is not CallState.BREAK:
            return self._reject(cmd, _("You are not on a break."))
        self._set_state(CallState.AVAILABLE, cmd.source)
        return True

    def _answer(self, source: Source) -> bool:
        if self._ring_timer:
            self._ring_timer.cancel()
            self._ring_timer = None
        call = dataclasses.replace(
            self._the_call(), answered_at=self._clock.now(), answered_mono=self._clock.monotonic()
        )
        self._call = call
        self.backend.answer(call)
        self._set_state(CallState.ON_CALL, source)
        self._emit(ev.CallAnswered(call, source))
        return True

    def _set_hold(self, on: bool, source: Source) -> None:
        self.backend.hold(self._the_call(), on)
        now = self._clock.monotonic()
        if on:
            self._hold_started = now
            self._set_state(CallState.ON_HOLD, source)
        else:
            self._close_hold(now)
            self._set_state(CallState.ON_CALL, source)

    def _close_hold(self, now: float) -> None:
        if self._hold_started is not None and self._call is not None:
            self._call = dataclasses.replace(
                self._call, hold_s=self._call.hold_s + (now - self._hold_started)
            )
        self._hold_started = None

    def _set_muted(self, muted: bool, source: Source) -> None:
        self._muted = muted
        self.backend.mute(muted)
        self._emit(ev.MuteChanged(muted, self._call.id if self._call else None, source))

    def _end(self, by: EndedBy, source: Source) -> None:
        now = self._clock.monotonic()
        self._close_hold(now)
        if not by.by_line:
            self.backend.hangup(self._the_call())
        if self._muted:
            self._set_muted(False, Source.SYSTEM)
        call = dataclasses.replace(
            self._the_call(), ended_at=self._clock.now(), ended_mono=now, ended_by=by
        )
        self._call = call
        self._set_state(CallState.WRAP_UP, source)
        self._emit(ev.CallEnded(call, by))

    def _miss(self, reason: MissReason) -> None:
        if self._ring_timer:
            self._ring_timer.cancel()
            self._ring_timer = None
        call = self._the_call()
        rang = self._clock.monotonic() - call.rung_mono
        call = dataclasses.replace(
            call,
            ended_at=self._clock.now(),
            ended_mono=self._clock.monotonic(),
            ended_by=EndedBy.CALLER if reason is MissReason.ABANDONED else EndedBy.SYSTEM,
        )
        self._call = None
        self.history.append(call)
        self._set_state(
            CallState.AVAILABLE,
            Source.TELEPHONY if reason is MissReason.ABANDONED else Source.SYSTEM,
        )
        self._emit(ev.MissedCall(call, reason, rang))

    def _ring_timeout(self, call_id: str) -> None:
        with self._lock:
            if self._state is CallState.RINGING and self._call and self._call.id == call_id:
                self._ring_timer = None
                self.backend.hangup(self._call)
                self._miss(MissReason.UNANSWERED)
        self._flush()

    def _set_state(self, new: CallState, source: Source) -> None:
        old = self._state
        if new is old:
            return
        self._state = new
        self._emit(self._state_changed(old, source))
        if not self._occupied and (old is CallState.AVAILABLE) != (new is CallState.AVAILABLE):
            self._emit(_AvailabilityNote(new is CallState.AVAILABLE))

    def _state_changed(self, previous: CallState, source: Source) -> ev.CallStateChanged:
        return ev.CallStateChanged(
            previous, self._state, self._call, self._muted, source, self.backend.follows_counselor
        )

    def _the_call(self) -> Call:
        """The call of a state that has one (ringing, on call, on hold, wrap-up)."""
        if self._call is None:
            raise AssertionError(f"no call in state {self._state}")
        return self._call

    def _emit(self, event: Event) -> None:
        self._pending.append(event)

    def _flush(self) -> None:
        """Publish queued events in order, outside the lock, one publisher at a time."""
        with self._lock:
            if self._publishing or not self._pending:
                return
            self._publishing = True
            batch, self._pending = self._pending, []
        self._publish(batch)

    def _publish(self, batch: list[Event]) -> None:
        """Publish ``batch`` and whatever is queued meanwhile; the caller set _publishing."""
        try:
            while True:
                for event in batch:
                    if isinstance(event, _AvailabilityNote):
                        self.backend.counselor_available(event.available)
                    else:
                        self._bus.publish(event)
                with self._lock:  # events queued meanwhile (by a subscriber): go on with them
                    if not self._pending:
                        self._publishing = False
                        return
                    batch, self._pending = self._pending, []
        except BaseException:
            with self._lock:
                self._publishing = False
            raise


_HANDLERS = {
    Action.ANSWER: CallMachine._cmd_answer,
    Action.HANG_UP: CallMachine._cmd_hang_up,
    Action.HOLD: CallMachine._cmd_hold,
    Action.RESUME: CallMachine._cmd_hold,
    Action.HOLD_TOGGLE: CallMachine._cmd_hold,
    Action.MUTE: CallMachine._cmd_mute,
    Action.UNMUTE: CallMachine._cmd_mute,
    Action.MUTE_TOGGLE: CallMachine._cmd_mute,
    Action.ESCALATE: CallMachine._cmd_escalate,
    Action.FINISH_WRAP_UP: CallMachine._cmd_finish_wrap_up,
    Action.START_BREAK: CallMachine._cmd_start_break,
    Action.END_BREAK: CallMachine._cmd_end_break,
}


@dataclasses.dataclass(frozen=True, slots=True)
class _AvailabilityNote(Event):
    """Internal: tell the backend, after the lock is released, whether we take calls."""

    available: bool
