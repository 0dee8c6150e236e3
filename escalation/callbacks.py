"""Nothing left unanswered: speed to answer, the service level per hour, the callback queue.

**Speed to answer.** Every ring a counselor's console takes ends as an ``answered`` message
(how long it rang) or a ``ring`` (missed: unanswered, abandoned, busy — now with the
contact's id and whether a number reached Faro, never the number). Both go through the
outbox until the broker has them. :class:`ServiceLevel` (supervisor side) turns them into
figures per local hour: the share of contacts answered within ``escalation.service_level_s``;
every missed one counts against it, except abandons shorter than
``escalation.short_abandon_s`` when that is set.

**The callback queue.** Each missed contact (``ring`` with a ``contact``) becomes a callback
``K`` (= the contact's id on laptop ``A`` that took the ring; its number stays there). Its
state is one retained message per callback, ``s/A/cb/K/state`` (:class:`m.CallbackState`),
written by supervisors with a version; the highest version wins and, of two with the same
version, the one the broker took first (every subscriber sees one topic in the broker's
order). A supervisor never applies its own change before it comes back from the broker, so
two supervisors assigning the same callback at once end with the same winner on both
screens; the loser is told, and puts the winner back as the retained copy if its own landed
last. Retained, so a supervisor console that starts (or restarts) gets the whole queue at
subscription, from the broker, with nothing of its own to trust.

- ``open`` → ``assigned`` (a supervisor chooses a counselor connected now, available ones
  first; the consent rule, ``escalation.callback_consent``, and a withheld number forbid
  it) → ``closed`` (an outcome: reached, wrong_number, not_allowed, duplicate, other — by
  the assignee, or a supervisor's reason). ``no_answer`` puts it back ``open`` with one
  attempt more.
- The author of each accepted version sends it as a ``notice`` to the new and the former
  assignee (their persistent sessions keep it while they are away). ``A`` reads its own
  callbacks' states in its inbox.
- Assigned to ``B`` ≠ ``A``: ``A``'s console seals the number to ``B``'s console key (the
  follow-up transfers' key, from ``B``'s presence, carried in the state) with
  core/sealing.py and sends a ``callback_package``, relayed by a supervisor to ``B``'s
  inbox; ``B`` keeps it sealed and opens it only to show the number. ``A`` = ``B``: nothing
  is sealed, the number is in ``A``'s store.
- An assignee who logs off (a clean ``offline``, or a Last Will still there after
  ``escalation.lost_grace_s``) loses its callbacks: back ``open``, ``why`` =
  ``assignee_offline``, on every supervisor's queue.
- Each step is an outbox item: a supervisor's state until the broker has it, notices and
  relays the same, the counselor's package until the broker has it, its outcome until a
  later version comes back. Everything pending is published again at every connection.
- Closed callbacks stay retained for :data:`KEEP_CLOSED_H` hours; the first supervisor
  console that sees an older one clears it.

Older consoles drop the new types (``answered``, ``callback*``) as unknown and ignore the
new ``ring`` fields; the ``cb`` topics are not ones they parse.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import functools
import json
import logging
import threading
from typing import TYPE_CHECKING, Any

from core.events import Event
from escalation import messages as m
from escalation import options as o
from escalation import statuses, topics

if TYPE_CHECKING:
    from escalation.agent import Agent

log = logging.getLogger(__name__)

OPEN, ASSIGNED, CLOSED = m.CALLBACK_STATES
STATE = "cb.state"  # supervisor: a version it published (retained) until the broker has it
SEND = "cb.send"  # notices, relays, packages: until the broker has them
SEAL = "cb.seal"  # local (the laptop that took the ring): a number to seal for the assignee
MINE = "cb.mine"  # local (the assignee): a callback assigned to this console
INBOX = "cb.inbox"  # local (the assignee): the sealed number of one of them
OUTCOME = "cb.outcome"  # the assignee's outcome, until a later version comes back
#: supervisor, local: one contact of the service level (times and codes only), kept so the
#: hour's figures survive a restart of the supervisor's console; dropped after HOURS_KEPT
SERVED = "cb.served"
KINDS = (STATE, SEND, SEAL, MINE, INBOX, OUTCOME, SERVED)
#: a supervisor closes a callback with one of these
CLOSE_REASONS = ("duplicate", "not_allowed", "other")
#: why a callback is open again
ASSIGNEE_OFFLINE = "assignee_offline"
#: closed callbacks stay retained (and listed) this long
KEEP_CLOSED_H = 24.0


def allowed(consent: str, shown: bool) -> bool:
    """The organisation's rule (``escalation.callback_consent``) for one contact: a withheld
    number can never be called back."""
    return bool(shown) and consent != "never"


@dataclasses.dataclass(frozen=True, slots=True)
class CallbackChanged(Event):
    """A callback moved on, on either side (codes and ids only). ``state``: open, assigned,
    closed; ``lost``: this supervisor's change lost to ``by``'s (both see the winner)."""

    callback: str
    state: str
    counselor: str
    assignee: str | None = None
    by: str | None = None
    lost: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class CallbackWork(Event):
    """There is callback work for the store (app/wiring.py): a number to seal."""

    callback: str


def _wrap(topic: str, payload: bytes, retain: bool = False) -> bytes:
    return json.dumps({"t": topic, "m": payload.decode(), "r": retain}).encode()


def _unwrap(data: bytes) -> tuple[str, bytes, bool]:
    d = json.loads(data)
    return str(d["t"]), str(d["m"]).encode(), bool(d.get("r"))


# -- the service level ---------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, slots=True)
class HourFigures:
    """One local hour: ``contacts`` counted (answered + missed, short abandons left out),
    ``within`` answered within the threshold, ``answered``, ``short`` abandons left out,
    ``asa_s`` the mean speed to answer (None: nothing answered)."""

    start: dt.datetime
    contacts: int = 0
    within: int = 0
    answered: int = 0
    short: int = 0
    asa_s: float | None = None

    @property
    def level(self) -> float | None:
        """The share answered within the threshold, 0..1 (None: no contact this hour)."""
        return self.within / self.contacts if self.contacts else None


class ServiceLevel:
    """Contacts per local hour, from ``answered`` and ``ring`` messages (each id once)."""

    HOURS_KEPT = 48

    def __init__(self, threshold_s: float, short_abandon_s: float) -> None:
        self.threshold_s = threshold_s
        self.short_abandon_s = short_abandon_s
        self._seen: set[str] = set()
        #: local hour start → [(answered, rang_s, reason, channel)]
        self._hours: dict[dt.datetime, list[tuple[bool, float, str, str]]] = {}

    @staticmethod
    def hour_of(t: dt.datetime) -> dt.datetime:
        return t.astimezone().replace(minute=0, second=0, microsecond=0)

    def add(
        self,
        msg_id: str,
        at: dt.datetime,
        answered: bool,
        rang_s: float,
        reason: str,
        channel: str = "call",
    ) -> bool:
        if msg_id in self._seen:
            return False
        self._seen.add(msg_id)
        self._hours.setdefault(self.hour_of(at), []).append((answered, rang_s, reason, channel))
        while len(self._hours) > self.HOURS_KEPT:
            self._hours.pop(min(self._hours))
        return True

    def hour(self, t: dt.datetime, channel: str | None = None) -> HourFigures:
        """One hour's figures, of every contact or of one ``channel`` (call, chat)."""
        start = self.hour_of(t)
        contacts = within = answered = short = 0
        total_rang = 0.0
        for was_answered, rang_s, reason, ch in self._hours.get(start, ()):
            if channel is not None and ch != channel:
                continue
            if was_answered:
                answered += 1
                total_rang += rang_s
                contacts += 1
                within += rang_s <= self.threshold_s
            elif reason == "abandoned" and rang_s < self.short_abandon_s:
                short += 1
            else:
                contacts += 1
        asa = total_rang / answered if answered else None
        return HourFigures(start, contacts, within, answered, short, asa)

    def day(self, t: dt.datetime) -> list[HourFigures]:
        """Every hour of ``t``'s local day that had a contact, in order."""
        day = self.hour_of(t).date()
        return [self.hour(h) for h in sorted(self._hours) if h.date() == day]


class _Side:
    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self._lock = threading.RLock()

    @property
    def me(self) -> str:
        return self.agent.identity

    def _publish(
        self, topic: str, payload: bytes, message_id: str | None = None, retain: bool = False
    ) -> None:
        link = self.agent.link
        if link is None:
            return
        sent = self.agent._done_when_sent(message_id) if message_id else None
        link.publish(topic, payload, qos=1, retain=retain, on_sent=sent)

    def _send(self, kind: str, message_id: str, topic: str, payload: bytes, retain=False) -> None:
        """Outboxed first, then published until the broker has it."""
        if self.agent.outbox.add(kind, message_id, _wrap(topic, payload, retain)):
            self._publish(topic, payload, message_id, retain)

    def _republish(self, kinds: tuple[str, ...]) -> None:
        for p in self.agent.outbox.pending():
            if p.kind not in kinds:
                continue
            try:
                topic, payload, retain = _unwrap(p.payload)
            except (ValueError, KeyError, TypeError):
                self.agent.outbox.mark_sent(p.message_id)
                continue
            self._publish(topic, payload, p.message_id, retain)

    def _pending(self, kind: str) -> list[tuple[str, bytes]]:
        return [(p.message_id, p.payload) for p in self.agent.outbox.pending(kind)]

    def _emit(self, event: Event) -> None:
        self.agent.bus.publish(event)


@dataclasses.dataclass
class CallbackItem:
    """A callback as a supervisor sees it: the winning state, and this console's change
    while it travels (``writing``) or after it lost (``lost_to``: who won)."""

    state: m.CallbackState
    writing: m.CallbackState | None = None
    lost_to: str | None = None


class SupervisorCallbacks(_Side):
    """The queue on a supervisor console: heard from the broker, changed through it."""

    def __init__(self, agent: Agent) -> None:
        super().__init__(agent)
        cfg = agent.config
        self.consent = str(cfg.get(o.CALLBACK_CONSENT))
        self.service_level = ServiceLevel(
            float(cfg.get(o.SERVICE_LEVEL_S)), float(cfg.get(o.SHORT_ABANDON_S))
        )
        self.items: dict[str, CallbackItem] = {}
        self._writing: dict[str, m.CallbackState] = {}  # before the first version is heard
        self._lost: dict[str, str] = {}
        self._corrected: set[str] = set()
        #: each counselor's presence status, as this console last heard it
        self.status: dict[str, str] = {}

    # -- what counselors report ---------------------------------------------------------------
    def ring(self, r: m.Ring) -> None:
        with self._lock:
            channel = r.channel or "call"
            if self.service_level.add(r.id, r.at, False, r.rang_s, r.reason, channel):
                self._keep_served(r.id, r.at, False, r.rang_s, r.reason, channel)
            if r.contact is None or r.contact in self.items or r.contact in self._writing:
                return
            if self.agent.clock.now() - r.at > dt.timedelta(hours=KEEP_CLOSED_H):
                return  # heard long after: not for today's queue
            state = m.CallbackState(
                m.new_id(),
                r.contact,
                r.counselor,
                r.reason,
                r.rang_s,
                r.at,
                bool(r.shown),
                allowed(self.consent, bool(r.shown)),
                OPEN,
                1,
                self.me,
                self.agent.clock.now(),
            )
        self._propose(state)

    def answered(self, a: m.Answered) -> None:
        with self._lock:
            channel = a.channel or "call"
            if self.service_level.add(a.id, a.at, True, a.rang_s, "answered", channel):
                self._keep_served(a.id, a.at, True, a.rang_s, "answered", channel)

    def _keep_served(
        self,
        msg_id: str,
        at: dt.datetime,
        answered: bool,
        rang_s: float,
        reason: str,
        channel: str,
    ) -> None:
        data = {
            "at": m.iso(at),
            "answered": answered,
            "rang_s": rang_s,
            "reason": reason,
            "channel": channel,
        }
        self.agent.outbox.add(SERVED, f"{msg_id}:served", json.dumps(data).encode())

    def restore_service_level(self) -> int:
        """The contacts this console counted before a restart, from its outbox (in the
        encrypted store; the spool while it is locked); older than the figures keep: dropped.
        Harmless to repeat (each id counts once). Returns how many were taken back."""
        cutoff = self.agent.clock.now() - dt.timedelta(hours=ServiceLevel.HOURS_KEPT)
        taken = 0
        for p in self.agent.outbox.pending(SERVED):
            try:
                d = json.loads(p.payload)
                at = m.parse_time(d["at"])
                answered, rang_s, reason = bool(d["answered"]), float(d["rang_s"]), str(d["reason"])
                channel = str(d.get("channel") or "call")
            except (ValueError, KeyError, TypeError, m.MessageError):
                self.agent.outbox.mark_sent(p.message_id)  # unreadable: nothing to count
                continue
            if at < cutoff:
                self.agent.outbox.mark_sent(p.message_id)
                continue
            msg_id = p.message_id.removesuffix(":served")
            with self._lock:
                taken += self.service_level.add(msg_id, at, answered, rang_s, reason, channel)
        return taken

    def presence(self, p: m.Presence) -> None:
        with self._lock:
            self.status[p.counselor] = p.status
        if p.status != statuses.OFFLINE:
            return
        if p.unexpected:  # a Last Will: the broker's restart sends every one; wait
            self._still_offline_later(p.counselor)
        else:
            self._unassign_from(p.counselor)

    def _still_offline(self, counselor: str) -> None:
        with self._lock:
            gone = self.status.get(counselor) == statuses.OFFLINE
        if gone:
            self._unassign_from(counselor)

    def _unassign_from(self, counselor: str) -> None:
        with self._lock:
            held = [
                i.state
                for i in self.items.values()
                if i.state.state == ASSIGNED and i.state.assignee == counselor and not i.writing
            ]
        for s in held:
            log.info("callback %s back to the queue: its assignee logged off", s.callback)
            self._next(s, OPEN, assignee=None, key=None, why=ASSIGNEE_OFFLINE)

    # -- what the supervisor does ---------------------------------------------------------------
    def assignees(self, callback: str) -> list[str]:
        """Counselors this callback can go to now: connected, available ones first; the one
        whose laptop took the ring, or one whose console announced a sealing key."""
        order = {statuses.AVAILABLE: 0, statuses.WRAP_UP: 1, statuses.BREAK: 2}
        with self._lock:
            item = self.items.get(callback)
            origin = item.state.counselor if item else None
            keys = self._keys()
            who = [
                c
                for c, s in self.status.items()
                if s != statuses.OFFLINE and (c == origin or c in keys)
            ]
        return sorted(who, key=lambda c: (order.get(self.status.get(c, ""), 3), c))

    def assign(self, callback: str, counselor: str) -> None:
        """ValueError (a reason fit to show) when it cannot go to ``counselor``."""
        from core.i18n import _

        with self._lock:
            item = self.items.get(callback)
            if item is None:
                raise KeyError(callback)
            s = item.state
            if s.state == CLOSED:
                raise ValueError(_("This callback is closed."))
            if not s.allowed:
                raise ValueError(
                    _("The organisation's rule does not allow calling this contact back.")
                )
            if self.status.get(counselor, statuses.OFFLINE) == statuses.OFFLINE:
                raise ValueError(_("That counselor is not connected."))
            key = None
            if counselor != s.counselor:
                key = self._keys().get(counselor)
                if key is None:
                    raise ValueError(_("That counselor's console cannot receive the number yet."))
        self.agent.outbox.audit("callback.assign", callback, {"to": counselor})
        self._next(s, ASSIGNED, assignee=counselor, key=key, why=None)

    def _keys(self) -> dict[str, str]:
        """Counselors' sealing keys, from their presence (kept by the follow-up transfers)."""
        transfers = getattr(self.agent, "transfers", None)
        return dict(transfers.keys) if transfers is not None else {}

    def close(self, callback: str, reason: str) -> None:
        if reason not in CLOSE_REASONS:
            raise ValueError(f"unknown close reason {reason!r}")
        with self._lock:
            item = self.items.get(callback)
            if item is None:
                raise KeyError(callback)
            s = item.state
        if s.state == CLOSED:
            return
        self.agent.outbox.audit("callback.close", callback, {"reason": reason})
        self._next(s, CLOSED, outcome=reason, why=None)

    def snapshot(self) -> list[CallbackItem]:
        """Open first (longest waiting first), then assigned, then closed (newest first)."""
        rank = {OPEN: 0, ASSIGNED: 1, CLOSED: 2}
        with self._lock:
            items = list(self.items.values())
            items += [
                CallbackItem(s, writing=s) for k, s in self._writing.items() if k not in self.items
            ]
            out = copy.deepcopy(items)
        for i in out:
            i.lost_to = self._lost.get(i.state.callback)

        def key(i: CallbackItem) -> tuple:
            t = i.state.rung_at.timestamp()
            return (rank[i.state.state], -t if i.state.state == CLOSED else t)

        return sorted(out, key=key)

    # -- the link -------------------------------------------------------------------------------
    def _next(self, s: m.CallbackState, state: str, **change: Any) -> None:
        change.setdefault("outcome", None)
        new = dataclasses.replace(
            s,
            id=m.new_id(),
            state=state,
            version=s.version + 1,
            by=self.me,
            at=self.agent.clock.now(),
            **change,
        )
        self._propose(new)

    def _propose(self, s: m.CallbackState) -> None:
        """Publish a new version (retained); it counts once it comes back from the broker."""
        with self._lock:
            item = self.items.get(s.callback)
            if item is not None:
                item.writing = s
            else:
                self._writing[s.callback] = s
            self._lost.pop(s.callback, None)
        topic = topics.supervisor_callback(s.counselor, s.callback, "state")
        self._send(STATE, s.id, topic, m.encode(s), retain=True)

    def republish(self) -> None:
        self.restore_service_level()
        self._republish((STATE, SEND))

    def on_message(
        self, side: str, who: str, callback: str, leaf: str, payload: bytes, retained: bool
    ) -> None:
        if side == "s" and leaf == "state":
            if not payload:
                with self._lock:  # cleared (a closed one, old): off the queue
                    self.items.pop(callback, None)
                return
            self._heard_state(who, callback, payload, retained)
            return
        if side != "c" or not payload:
            return
        msg = _decode(callback, payload)
        if msg is None or getattr(msg, "counselor", None) != who:
            return
        if isinstance(msg, m.CallbackPackage) and leaf == "package":
            topic = topics.supervisor_callback(msg.assignee, callback, "package")
            self._send(SEND, f"{msg.id}:relay", topic, payload)
        elif isinstance(msg, m.CallbackOutcome) and leaf == "outcome":
            self._outcome(msg)

    def _heard_state(self, origin: str, callback: str, payload: bytes, retained: bool) -> None:
        msg = _decode(callback, payload)
        if not isinstance(msg, m.CallbackState) or msg.counselor != origin:
            return
        now = self.agent.clock.now()
        if retained and msg.state == CLOSED and now - msg.at > dt.timedelta(hours=KEEP_CLOSED_H):
            topic = topics.supervisor_callback(origin, callback, "state")
            self._publish(topic, b"", None, retain=True)  # old news: off the broker
            return
        notify: list[str] = []
        correct: bytes | None = None
        lost: str | None = None
        with self._lock:
            item = self.items.get(callback)
            if item is not None and item.state.id == msg.id:
                return  # a repeat
            if item is None or msg.version > item.state.version:
                before = item.state if item else None
                writing = item.writing if item else self._writing.get(callback)
                self.items[callback] = item = CallbackItem(msg)
                self._writing.pop(callback, None)
                if writing is not None and writing.id != msg.id:
                    if writing.version > msg.version:
                        item.writing = writing  # ours is still on its way, and later
                    elif msg.version > 1:  # two consoles opening one ring is no conflict
                        lost = msg.by
                if msg.by == self.me and not retained:  # we made it: tell who it concerns
                    notify = [
                        c
                        for c in {msg.assignee, before.assignee if before else None}
                        if c is not None and c != msg.counselor
                    ]
                offline = (
                    msg.state == ASSIGNED
                    and msg.assignee is not None
                    and self.status.get(msg.assignee) == statuses.OFFLINE
                )
            else:  # an older or a second same version: the first one stands
                offline = False
                if item.writing is not None and item.writing.id == msg.id:
                    item.writing = None
                    lost = item.state.by if msg.version > 1 else None
                if msg.by == self.me and msg.id not in self._corrected:
                    self._corrected.add(msg.id)
                    correct = m.encode(item.state)  # ours may be the retained copy now
            if lost is not None:
                self._lost[callback] = lost
        if correct is not None:
            topic = topics.supervisor_callback(origin, callback, "state")
            self._publish(topic, correct, None, retain=True)
        for c in notify:
            topic = topics.supervisor_callback(c, callback, "notice")
            self._send(SEND, f"{msg.id}:to:{c}", topic, payload)
        if lost is not None:
            log.info("callback %s: another supervisor's change came first", callback)
        self._emit(
            CallbackChanged(callback, msg.state, origin, msg.assignee, msg.by, lost is not None)
        )
        if offline and msg.assignee is not None:
            self._still_offline_later(msg.assignee)

    def _still_offline_later(self, counselor: str) -> None:
        """Give a Last Will the time a counselor needs to come back after a broker restart
        (its longest back-off, plus the lost-counselor grace), as the board does."""
        cfg = self.agent.config
        grace = float(cfg.get(o.RECONNECT_MAX_S)) + float(cfg.get(o.LOST_GRACE_S))
        self.agent.clock.call_later(grace, functools.partial(self._still_offline, counselor))

    def _outcome(self, msg: m.CallbackOutcome) -> None:
        if msg.outcome not in m.CALLBACK_OUTCOMES:
            log.warning("ignored a callback outcome this Faro does not know")
            return
        with self._lock:
            item = self.items.get(msg.callback)
            s = item.state if item else None
            busy = item is not None and item.writing is not None
        if s is None or busy:
            return  # not known yet, or a change of ours on its way: the counselor says it again
        if s.state == CLOSED or (
            msg.outcome == "no_answer" and (s.version > msg.version or s.state != ASSIGNED)
        ):
            # taken into account already (or overtaken): the counselor needs to hear it
            topic = topics.supervisor_callback(msg.counselor, msg.callback, "notice")
            self._publish(topic, m.encode(s))
            return
        self.agent.outbox.audit(
            "callback.outcome", msg.callback, {"by": msg.counselor, "outcome": msg.outcome}
        )
        if msg.outcome == "no_answer":
            self._next(s, OPEN, assignee=None, key=None, why="no_answer", attempts=s.attempts + 1)
        else:
            self._next(s, CLOSED, outcome=msg.outcome, why=None)


def _decode(callback: str, payload: bytes) -> Any | None:
    try:
        msg = m.decode(payload)
    except m.MessageError as exc:
        log.warning("ignored a malformed callback message: %s", exc)
        return None
    if getattr(msg, "callback", None) != callback:
        log.warning("ignored a callback message whose id does not match its topic")
        return None
    return msg


class CounselorCallbacks(_Side):
    """On a counselor's laptop: the callbacks of its own missed contacts (it holds their
    numbers) and the ones assigned to it."""

    def __init__(self, agent: Agent) -> None:
        super().__init__(agent)
        self._versions: dict[str, int] = {}  # the latest version heard per callback

    def consent(self) -> str:
        return str(self.agent.config.get(o.CALLBACK_CONSENT))

    # -- what the assignee sees and does ----------------------------------------------------
    def mine(self) -> list[m.CallbackState]:
        """The callbacks assigned to this console and not done yet, longest waiting first."""
        out = []
        for _mid, payload in self._pending(MINE):
            try:
                s = m.decode(payload)
            except m.MessageError:
                continue
            if isinstance(s, m.CallbackState):
                out.append(s)
        return sorted(out, key=lambda s: s.rung_at)

    def sealed_number(self, callback: str) -> m.CallbackPackage | None:
        """The sealed number of a callback assigned here (None: not arrived yet)."""
        found = None
        for _mid, payload in self._pending(INBOX):
            try:
                pkg = m.decode(payload)
            except m.MessageError:
                continue
            if isinstance(pkg, m.CallbackPackage) and pkg.callback == callback:
                if found is None or pkg.version > found.version:
                    found = pkg
        return found

    def record(self, callback: str, outcome: str) -> None:
        """The assignee called back (or could not): ``outcome`` is a
        :data:`messages.CALLBACK_OUTCOMES` code. KeyError: not assigned here."""
        if outcome not in m.CALLBACK_OUTCOMES:
            raise ValueError(f"unknown callback outcome {outcome!r}")
        s = next((x for x in self.mine() if x.callback == callback), None)
        if s is None:
            raise KeyError(callback)
        msg = m.CallbackOutcome(
            f"{callback}:out:{s.version}",
            callback,
            self.me,
            s.counselor,
            s.version,
            outcome,
            self.agent.clock.now(),
        )
        topic = topics.counselor_callback(self.me, callback, "outcome")
        payload = m.encode(msg)
        self.agent.outbox.add(OUTCOME, msg.id, _wrap(topic, payload))
        self._done(MINE, callback)
        self._done(INBOX, callback)
        self.agent.outbox.audit("callback.outcome", callback, {"outcome": outcome})
        self._publish(topic, payload)  # pending until a later version comes back
        self._emit(CallbackChanged(callback, "recorded", s.counselor, self.me, self.me))

    def _done(self, kind: str, callback: str, below: int | None = None) -> None:
        for mid, payload in self._pending(kind):
            try:
                msg = m.decode(_unwrap(payload)[1] if kind == OUTCOME else payload)
            except (ValueError, KeyError, TypeError):
                continue
            if getattr(msg, "callback", None) == callback and (
                below is None or msg.version < below  # type: ignore[union-attr]
            ):
                self.agent.outbox.mark_sent(mid)

    # -- the laptop that took the ring ----------------------------------------------------------
    def work(self) -> list[m.CallbackState]:
        """Numbers to seal (app/wiring.py): assigned to another console."""
        out = []
        for _mid, payload in self._pending(SEAL):
            try:
                s = m.decode(payload)
            except m.MessageError:
                continue
            if isinstance(s, m.CallbackState):
                out.append(s)
        return out

    def package_ready(self, s: m.CallbackState, sealed: str) -> None:
        assert s.assignee is not None
        pkg = m.CallbackPackage(
            f"{s.callback}:pkg:{s.version}",
            s.callback,
            self.me,
            s.assignee,
            s.version,
            sealed,
            self.agent.clock.now(),
        )
        topic = topics.counselor_callback(self.me, s.callback, "package")
        self._send(SEND, pkg.id, topic, m.encode(pkg))
        self.agent.outbox.mark_sent(f"{s.callback}:seal:{s.version}")
        self.agent.outbox.audit("callback.handover", s.callback, {"to": s.assignee})

    def seal_refused(self, s: m.CallbackState, why: str) -> None:
        log.warning("callback %s: the number is not handed over (%s)", s.callback, why)
        self.agent.outbox.mark_sent(f"{s.callback}:seal:{s.version}")

    # -- the link -------------------------------------------------------------------------------
    def republish(self) -> None:
        self._republish((SEND, OUTCOME))

    def on_message(self, side: str, who: str, callback: str, leaf: str, payload: bytes) -> None:
        if side != "s" or who != self.me or not payload:
            return
        msg = _decode(callback, payload)
        if msg is None:
            return
        if isinstance(msg, m.CallbackState) and leaf in ("state", "notice"):
            if leaf == "state" and msg.counselor != self.me:
                return
            self._heard(msg, payload, own=leaf == "state")
        elif isinstance(msg, m.CallbackPackage) and leaf == "package" and msg.assignee == self.me:
            if self.agent.outbox.add(INBOX, msg.id, payload):
                self._emit(CallbackChanged(callback, "number", msg.counselor, self.me))

    def _heard(self, s: m.CallbackState, payload: bytes, own: bool) -> None:
        with self._lock:
            if s.version <= self._versions.get(s.callback, 0):
                return
            self._versions[s.callback] = s.version
        self._done(OUTCOME, s.callback, below=s.version)  # the supervisors took our outcome
        self._done(MINE, s.callback, below=s.version)
        self._done(SEAL, s.callback, below=s.version)  # for an assignee no longer
        work = False
        if s.state == ASSIGNED and s.assignee == self.me:
            self.agent.outbox.add(MINE, s.id, payload)
        elif own and s.state == ASSIGNED and s.assignee and s.key:
            if allowed(self.consent(), s.shown):
                work = self.agent.outbox.add(SEAL, f"{s.callback}:seal:{s.version}", payload)
            else:
                log.warning("callback %s: not handed over, the consent rule forbids it", s.callback)
        if s.state != ASSIGNED or s.assignee != self.me:
            self._done(INBOX, s.callback)
        self._emit(CallbackChanged(s.callback, s.state, s.counselor, s.assignee, s.by))
        if work:
            self._emit(CallbackWork(s.callback))
