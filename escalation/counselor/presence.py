"""The counselor's presence on the supervisors' board: status, call time, call health.

Retained on the broker; the Last Will (retained too) marks an unexpected disconnect, and a
clean stop says ``offline`` without it. The command-line agent keeps none (it is a drill,
not a counselor at work).
"""

from __future__ import annotations

from core.clock import Clock
from escalation import messages as m
from escalation import statuses, topics


class Presence:
    """What the next presence message says; the agent updates it under its lock."""

    def __init__(self, identity: str, clock: Clock, enabled: bool) -> None:
        self.identity = identity
        self.clock = clock
        self.enabled = enabled
        self.status = statuses.AVAILABLE
        self.health: tuple[str, ...] = ()
        self.call_started: float | None = None
        self.key = ""  # the sealing public key (base64), announced as a trailing field
        self.practice = False  # training mode (escalation/training.py)
        self.chats = 0  # chats that keep calls from ringing (app/chat_flow.py)

    @property
    def topic(self) -> str:
        return topics.presence(self.identity)

    def message(self, escalation_state: str | None) -> m.Presence | None:
        """Our presence now (None: we publish none)."""
        if not self.identity or not self.enabled:
            return None
        started = self.call_started
        call_s = None if started is None else max(0.0, self.clock.monotonic() - started)
        return m.Presence(
            self.identity,
            self.status,
            self.clock.now(),
            None if call_s is None else round(call_s, 1),
            escalation_state,
            id=m.new_id(),
            health=self.health,
            key=self.key,
            practice=self.practice,
            chats=self.chats,
        )
