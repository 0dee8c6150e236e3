"""Stale escalations on the broker, for IT: ``faro supervisor stale [--clear]``.

Consoles clear and reconcile what they know (escalation/reconcile.py); what is left is what
nobody running knows about any more: an alert of a laptop that is gone (its console dead,
its store lost, a drill whose run was killed and never run again), or an acknowledgement or
re-alert whose alert is already gone. :class:`StaleSurvey` connects once, collects every
retained alert, re-alert, acknowledgement and counselor presence — complete, because it
waits for a marker it publishes after subscribing, which the broker delivers only after the
retained copies —, sorts them (:meth:`StaleSurvey.classify`), and clears the stale ones:
first a resolution (outcome ``cleared_stale``) so that running consoles close them, then the
empty retained messages. Only an identity listed with ``faro certs acl --it NAME`` may clear
alerts; a supervisor's certificate can list, and clear acknowledgements only.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import threading
from typing import Any

from core.clock import Clock
from core.i18n import N_
from escalation import messages as m
from escalation import statuses, topics
from escalation.transport import LinkSettings, MqttLink

OUTCOME = "cleared_stale"
SUBSCRIPTIONS = (
    topics.ALL_ALERTS,
    topics.ALL_REALERTS,
    f"{topics.ROOT}/s/+/esc/+/ack",
    topics.ALL_PRESENCE,
)


@dataclasses.dataclass
class Retained:
    """What the broker holds about one escalation."""

    escalation: str
    counselor: str
    alert: m.Alert | None = None
    realert: bool = False
    ack_by: str | None = None
    stale: bool = False
    why: str = ""  # marked with N_: English in JSON, translated with _() where shown

    def topics(self) -> list[str]:
        out = []
        if self.alert is not None:
            out.append(topics.alert(self.counselor, self.escalation))
        if self.realert:
            out.append(topics.realert(self.counselor, self.escalation))
        if self.ack_by is not None:
            out.append(topics.ack(self.counselor, self.escalation))
        return out

    def row(self, now: dt.datetime) -> dict[str, Any]:
        a = self.alert
        return {
            "escalation": self.escalation,
            "counselor": self.counselor,
            "level": a.level if a else None,
            "raised_at": a.raised_at.isoformat() if a else None,
            "age_min": round((now - a.raised_at).total_seconds() / 60, 1) if a else None,
            "realert": self.realert,
            "acknowledged_by": self.ack_by,
            "stale": self.stale,
            "why": self.why,
        }


class StaleSurvey:
    def __init__(self, settings: LinkSettings, clock: Clock) -> None:
        # no persistent session: the survey must not have the broker queue alerts for it
        self.settings = dataclasses.replace(settings, session_expiry=0)
        self.clock = clock
        self.entries: dict[str, Retained] = {}
        self.presence: dict[str, m.Presence] = {}
        self._marker = f"{topics.ROOT}/sup/{settings.identity}/sync"
        self._token = m.new_id().encode()
        self._synced = threading.Event()
        self._lock = threading.Lock()
        self.link = MqttLink(
            self.settings,
            subscriptions=[(t, 1) for t in SUBSCRIPTIONS] + [(self._marker, 1)],
            on_message=self._on_message,
            on_state=lambda up, why: None,
            on_connected=self._on_connected,
        )

    def collect(self, timeout: float) -> bool:
        """Connect and collect everything retained; False if the broker was not reached."""
        self.link.start()
        return self._synced.wait(timeout)

    def classify(self, older_than_s: float, named: set[str] | None = None) -> list[Retained]:
        """Mark what is stale: the named escalations; otherwise a re-alert or acknowledgement
        without its alert, and an alert whose counselor has been offline (or never had a
        console: a drill identity) for longer than ``older_than_s`` since it was raised.
        An online counselor's alerts are its console's to reconcile: never stale here."""
        now = self.clock.now()
        with self._lock:
            entries = sorted(self.entries.values(), key=lambda e: (e.counselor, e.escalation))
            presence = dict(self.presence)
        for e in entries:
            p = presence.get(e.counselor)
            online = p is not None and p.status != statuses.OFFLINE
            if named is not None:
                e.stale, e.why = e.escalation in named, N_("named")
            elif e.alert is None:
                e.stale, e.why = True, N_("no alert (left behind)")
            elif online:
                e.stale, e.why = False, N_("counselor online")
            elif (now - e.alert.raised_at).total_seconds() < older_than_s:
                e.stale, e.why = False, N_("recent")
            else:
                e.stale, e.why = True, N_("counselor offline") if p else N_("no console")
        return entries

    def clear(self, entries: list[Retained], timeout: float) -> tuple[int, list[str], int]:
        """Resolve (so that running consoles close them) and clear ``entries``.
        Returns (topics cleared, topics the broker refused, topics not answered in time)."""
        wanted: list[tuple[str, bytes, bool]] = []
        for e in entries:
            if e.alert is not None:
                msg = m.Resolve(
                    m.new_id(), e.escalation, self.settings.identity, OUTCOME, self.clock.now()
                )
                wanted.append(
                    (topics.supervisor_event(e.counselor, e.escalation), m.encode(msg), False)
                )
            wanted += [(t, b"", True) for t in e.topics()]
        results: dict[int, bool] = {}
        done = threading.Event()

        def sent(i: int, ok: bool) -> None:
            with self._lock:
                results[i] = ok
                if len(results) == len(wanted):
                    done.set()

        for i, (topic, payload, retain) in enumerate(wanted):
            if not self.link.publish(
                topic, payload, qos=1, retain=retain, on_sent=functools.partial(sent, i)
            ):
                sent(i, False)
        if wanted:
            done.wait(timeout)
        with self._lock:
            got = dict(results)
        clears = [i for i, w in enumerate(wanted) if w[2]]
        refused = sorted({wanted[i][0] for i, ok in got.items() if not ok})
        return (
            sum(1 for i in clears if got.get(i)),
            refused,
            sum(1 for i in clears if i not in got),
        )

    def close(self) -> None:
        self.link.stop()

    # -- network thread ------------------------------------------------------------------------
    def _on_connected(self) -> None:
        self.link.publish(self._marker, self._token, qos=1)

    def _on_message(self, topic: str, payload: bytes, retained: bool) -> None:
        if topic == self._marker:
            if payload == self._token:
                self._synced.set()
            return
        if not retained or not payload or self._synced.is_set():
            return
        try:
            side, who, esc_id, leaf = topics.parse(topic)
            msg = m.decode(payload)
        except (ValueError, m.MessageError):
            return
        with self._lock:
            if esc_id is None:
                if side == "c" and leaf == "presence" and isinstance(msg, m.Presence):
                    self.presence[who] = msg
                return
            e = self.entries.setdefault(esc_id, Retained(esc_id, who))
            if side == "c" and leaf == "alert" and isinstance(msg, m.Alert):
                e.alert = msg
            elif side == "c" and leaf == "realert":
                e.realert = True
            elif side == "s" and leaf == "ack" and isinstance(msg, m.Ack):
                e.ack_by = msg.supervisor
