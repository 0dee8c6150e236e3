"""The roster on the escalation link: published by a supervisor, held by every supervisor
console, kept in their encrypted stores, and what it decides: the coverage of the hour and
whose turn it is to be alerted (issue 17; the model is escalation/roster.py).

**On the wire.** One retained QoS 1 message on ``faro/v1/s/_roster`` (``_`` cannot start an
identity, so no counselor's reply subtree can hold it; supervisors may write ``s/#``,
counselors read only their own ``s/<id>/#``). Its JSON::

    {"v": 1, "type": "roster", "id": ..., "version": 7, "base": 6, "by": "sup-ana",
     "at": "...", "shifts": [["c-0012", "counselor", "2026-12-04T06:00:00+00:00",
                              "2026-12-04T14:00:00+00:00", false], ...]}

Identities, roles, times and a flag: no names, no numbers. The highest ``version`` wins; an
equal version with another id is a conflict settled by the larger id, so every console ends
on the same roster whatever order the copies arrive in. Unknown fields are ignored (a newer
console's roster still reads here); a shift row longer than five items keeps its first five.

**Editing without losing anyone's work.** :meth:`SupervisorRoster.publish` takes the version
the editor started from (``base``); when another supervisor published in the meantime it
refuses with :class:`RosterConflict` and nothing is sent, so the editor reloads instead of
overwriting. A published roster is an outbox item until the broker has it (republished at
every connection), and :class:`escalation.events.RosterChanged` asks app/wiring.py to keep
it in the case store (the secret ``escalation.roster``, encrypted like everything there);
at unlock the wiring hands the stored copy back (:meth:`SupervisorRoster.load`), so a
console that starts with the broker down still knows the hour's roster.

**The ladder.** The first alert of an escalation sounds at the first on-call supervisor of
the hour who is connected; the others see it in their queue without a sound. The re-alert
(T1 unacknowledged, escalation/lifecycle.py) sounds everywhere, as without a roster. When
the supervisor whose turn it is goes offline before acknowledging, the turn moves to the
next one connected, who is alerted then (:class:`escalation.events.LadderMoved`). No roster,
no on-call supervisor in this hour, or none of them connected: every console sounds.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from escalation import events as ev
from escalation import messages as m
from escalation import options as o
from escalation import statuses, topics
from escalation.roster import (
    COUNSELOR,
    SUPERVISOR,
    Coverage,
    CoverageAlarm,
    Roster,
    Shift,
    coverage,
)

if TYPE_CHECKING:
    from escalation.supervisor import SupervisorAgent

log = logging.getLogger(__name__)

TOPIC = f"{topics.ROOT}/s/_roster"
#: the store's secret that holds the newest roster this console has seen
STORE_SECRET = "escalation.roster"
#: the outbox kind of a roster waiting for the broker
OUTBOX_KIND = "roster"
MAX_BYTES = 2_000_000  # about 20,000 shifts: a month of a national network's centre
MAX_SHIFTS = 20_000


class RosterConflict(RuntimeError):
    """Another supervisor published a newer roster while this one was being edited."""

    def __init__(self, current: int) -> None:
        super().__init__(f"the roster is at version {current} now")
        self.current = current


@dataclasses.dataclass(frozen=True)
class Published:
    """A roster as it travels: the roster and who published it, when, from which version."""

    id: str
    roster: Roster
    by: str
    at: dt.datetime
    base: int

    def newer_than(self, other: Published | None) -> bool:
        if other is None:
            return True
        return (self.roster.version, self.id) > (other.roster.version, other.id)


def encode(p: Published) -> bytes:
    rows = [
        [s.person, s.role, m.iso(s.start), m.iso(s.end), bool(s.on_call)] for s in p.roster.shifts
    ]
    data = {
        "v": m.VERSION,
        "type": "roster",
        "id": p.id,
        "version": p.roster.version,
        "base": p.base,
        "by": p.by,
        "at": m.iso(p.at),
        "shifts": rows,
    }
    out = json.dumps(data, separators=(",", ":"), ensure_ascii=True).encode()
    if len(out) > MAX_BYTES:
        raise ValueError(f"a roster is at most {MAX_BYTES} bytes on the link")
    return out


def decode(payload: bytes) -> Published:
    """A roster message, checked; :class:`escalation.messages.MessageError` (never echoing
    the payload) for anything else."""
    if len(payload) > MAX_BYTES:
        raise m.MessageError("roster too large")
    try:
        d = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        raise m.MessageError("not JSON") from None
    if not isinstance(d, dict) or d.get("type") != "roster":
        raise m.MessageError("not a roster")
    v = d.get("v")
    if not isinstance(v, int) or isinstance(v, bool) or v < 1 or v > m.VERSION:
        raise m.MessageError("unsupported version")
    rid, by = d.get("id"), d.get("by")
    if not isinstance(rid, str) or not m._ID.match(rid):
        raise m.MessageError("bad id")
    if not isinstance(by, str) or not m.IDENTITY.match(by):
        raise m.MessageError("bad publisher")
    version, base = d.get("version"), d.get("base", 0)
    if not isinstance(version, int) or not isinstance(base, int):
        raise m.MessageError("bad version")
    if isinstance(version, bool) or isinstance(base, bool) or version < 0 or base < 0:
        raise m.MessageError("bad version")
    rows = d.get("shifts")
    if not isinstance(rows, list) or len(rows) > MAX_SHIFTS:
        raise m.MessageError("bad shifts")
    shifts: list[Shift] = []
    for row in rows:
        if not isinstance(row, list) or len(row) < 5:
            raise m.MessageError("bad shift")
        person, role, start, end, on_call = row[:5]
        if not isinstance(person, str) or not m.IDENTITY.match(person):
            raise m.MessageError("bad shift person")
        if role not in (COUNSELOR, SUPERVISOR) or not isinstance(on_call, bool):
            raise m.MessageError("bad shift role")
        shifts.append(Shift(person, role, m.parse_time(start), m.parse_time(end), on_call))
    return Published(rid, Roster(version, tuple(shifts)), by, m.parse_time(d.get("at")), base)


@dataclasses.dataclass(frozen=True)
class CoverageNow:
    """What the board's coverage line says from the roster: the coverage and the roster's
    version (None: no roster, or nobody rostered in this hour — the fixed minimum applies)."""

    coverage: Coverage
    version: int


class SupervisorRoster:
    """The supervisor console's roster: what it holds, publishes, stores and decides."""

    def __init__(self, agent: SupervisorAgent) -> None:
        self.agent = agent
        self._lock = threading.Lock()
        self.current: Published | None = None
        self.supervisors: dict[str, str] = {}  # identity → presence status
        self._alarm = CoverageAlarm()
        #: escalation ids whose turn this console was given (sounded here once)
        self._sounded: set[str] = set()
        self.grace = dt.timedelta(minutes=agent.config.get(o.COVERAGE_GRACE_MIN))

    # -- what arrives ------------------------------------------------------------------------
    def on_message(self, payload: bytes, retained: bool) -> None:
        if not payload:
            return
        try:
            p = decode(payload)
        except m.MessageError as exc:
            log.warning("ignored a malformed roster: %s", exc)
            return
        self._take(p, from_link=True)

    def load(self, payload: str | bytes) -> None:
        """The copy kept in this console's store (app/wiring.py, at unlock)."""
        data = payload.encode() if isinstance(payload, str) else payload
        try:
            p = decode(data)
        except m.MessageError as exc:
            log.warning("the stored roster does not read: %s", exc)
            return
        self._take(p, from_link=False)

    def _take(self, p: Published, from_link: bool) -> None:
        with self._lock:
            mine = self.current
            take = p.newer_than(mine)
            if take:
                self.current = p
        if not take:
            if from_link and mine is not None and mine.id != p.id:
                # the broker holds an older roster than ours (ours never reached it, or a
                # restarted broker lost it): put ours back; the newest wins everywhere
                self._send(mine)
            return
        log.info("roster version %d from %s", p.roster.version, p.by)
        self.agent.bus.publish(ev.RosterChanged(p.roster.version, p.by, encode(p).decode()))
        self.agent.bus.publish(ev.BoardChanged("", "roster"))

    def supervisor_presence(self, who: str, p: m.Presence) -> None:
        if p.counselor != who:  # the topic is the sender (the broker's ACL): it must match
            return
        with self._lock:
            before = self.supervisors.get(who)
            self.supervisors[who] = p.status
        if before != p.status and p.status == statuses.OFFLINE:
            self._ladder_moved()

    # -- publishing ----------------------------------------------------------------------------
    def publish(self, shifts: list[Shift] | tuple[Shift, ...], base: int) -> Published:
        """Publish a new version built on ``base``. :class:`RosterConflict` if the roster
        moved on since the editor loaded it (nothing is sent then)."""
        with self._lock:
            current = self.current.roster.version if self.current else 0
            if base != current:
                raise RosterConflict(current)
            p = Published(
                m.new_id(),
                Roster(current + 1, tuple(shifts)),
                self.agent.identity,
                self.agent.clock.now(),
                base,
            )
            payload = encode(p)  # too large: ValueError before anything changes
            self.current = p
        self.agent.outbox.add(OUTBOX_KIND, p.id, payload)
        self.agent.outbox.audit(
            "escalation.roster_published", str(p.roster.version), {"shifts": len(p.roster.shifts)}
        )
        self._send(p, payload)
        self.agent.bus.publish(ev.RosterChanged(p.roster.version, p.by, payload.decode()))
        self.agent.bus.publish(ev.BoardChanged("", "roster"))
        return p

    def _send(self, p: Published, payload: bytes | None = None) -> None:
        link = self.agent.link
        if link is None:
            return
        data = payload if payload is not None else encode(p)
        link.publish(TOPIC, data, qos=1, retain=True, on_sent=self.agent._done_when_sent(p.id))

    def republish(self) -> None:
        """At every connection: a roster the broker has not confirmed goes again."""
        for item in self.agent.outbox.pending(OUTBOX_KIND):
            with self._lock:
                latest = self.current
            if latest is not None and latest.id != item.message_id:
                self.agent.outbox.mark_sent(item.message_id)  # superseded
                continue
            link = self.agent.link
            if link is not None:
                link.publish(
                    TOPIC,
                    item.payload,
                    qos=1,
                    retain=True,
                    on_sent=self.agent._done_when_sent(item.message_id),
                )

    # -- what it decides ---------------------------------------------------------------------
    def roster(self) -> Roster | None:
        with self._lock:
            return self.current.roster if self.current else None

    def coverage_now(self, presence: Mapping[str, str]) -> CoverageNow | None:
        """The hour's coverage against the board's presence (counselors) and the supervisors'
        own; None without a roster or with nobody rostered now."""
        with self._lock:
            current = self.current
            sups = dict(self.supervisors)
        if current is None:
            return None
        now = self.agent.clock.now()
        if not current.roster.at(now):
            return None
        seen = dict(presence)
        seen.update(sups)
        seen[self.agent.identity] = statuses.AVAILABLE if self.agent.connected else "offline"
        return CoverageNow(coverage(current.roster, seen, now, self.grace), current.roster.version)

    def coverage_level_changed(self, cov: CoverageNow | None) -> str | None:
        """The coverage level as a state: the new level when it changed (an alarm raised or
        cleared once), None while it stays; no roster for the hour counts as ``ok``."""
        if cov is not None:
            return self._alarm.update(cov.coverage)
        if self._alarm.level == "ok":
            return None
        self._alarm.level = "ok"
        return "ok"

    def turn(self, t: dt.datetime | None = None) -> tuple[str, ...]:
        """Who is alerted first now: the first connected on-call supervisor of the hour, or
        everyone (``()``) without one."""
        with self._lock:
            current = self.current
            sups = dict(self.supervisors)
        if current is None:
            return ()
        ladder = current.roster.ladder(t or self.agent.clock.now())
        sups[self.agent.identity] = statuses.AVAILABLE if self.agent.connected else "offline"
        present = [p for p in ladder if sups.get(p, "offline") != statuses.OFFLINE]
        return tuple(present[:1])

    def sounds_here(self, escalation_id: str) -> bool:
        """Whether a new alert sounds on this console (the ladder's first turn); an alert
        that does not is remembered so that the turn can come here later."""
        first = self.turn()
        mine = not first or self.agent.identity in first
        if mine:
            with self._lock:
                self._sounded.add(escalation_id)
        return mine

    def _ladder_moved(self) -> None:
        """A supervisor went offline: alerts nobody acknowledged that were not sounded here
        and are now this console's turn are alerted here."""
        if self.agent.identity not in self.turn():
            return
        with self._lock:
            waiting = [
                a.escalation_id
                for a in self.agent.board.open_alerts()
                if a.by is None and a.escalation_id not in self._sounded
            ]
            self._sounded.update(waiting)
        for esc_id in waiting:
            log.info("escalation %s: the on-call turn moved to this console", esc_id)
            self.agent.bus.publish(ev.LadderMoved(esc_id))


def presence_map(rows: list[Any]) -> dict[str, str]:
    """The board's rows as identity → status (for :meth:`SupervisorRoster.coverage_now`);
    a trainee on practice calls answers no real call: not in the coverage."""
    return {r.counselor: r.status for r in rows if not getattr(r, "practice", False)}
