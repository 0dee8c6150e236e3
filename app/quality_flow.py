"""Quality records between the store and the escalation link (docs/quality.md).

Counselor laptop: when a wrap-up ends, the call's quality figures are derived from the
store (storage/figures.py: the call-health figures kept with the contact, the disposition,
the risk assessment, the follow-ups) and handed to escalation (escalation/quality.py), which
sends them only if the counselor consented. While the store is locked the finished wrap-ups
wait in memory (bounded) and are derived at unlock. Breaks are counted here from the call
states (the ``break`` state), for the record's "breaks in the 12 hours before".

Supervisor console: records and review marks that arrived (local outbox items) are kept in
the store at once, or at unlock.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import deque
from typing import TYPE_CHECKING, Any

from core.errors import FaroError

if TYPE_CHECKING:
    from app.session import Session

log = logging.getLogger(__name__)

#: finished wrap-ups kept while the store is locked
PENDING_WRAP_UPS = 100
#: the breaks a record counts: those of the 12 hours before its call ended (a shift's length)
BREAK_WINDOW = dt.timedelta(hours=12)


class QualityFlow:
    def __init__(self, session: Session) -> None:
        from storage.reports import BreakLog

        self.session = session
        self.breaks = BreakLog()
        self._wrap_ups: deque[tuple[Any, str | None]] = deque(maxlen=PENDING_WRAP_UPS)
        from calls.events import CallStateChanged, WrapUpFinished

        session.bus.subscribe(WrapUpFinished, self._on_wrap_up)
        session.bus.subscribe(CallStateChanged, self._on_state)
        try:
            from escalation.events import QualityWork
        except ModuleNotFoundError:  # a build without escalation
            return
        session.bus.subscribe(QualityWork, lambda event: self.keep())

    def _services(self) -> tuple[Any, Any]:
        return self.session.service("escalation"), self.session.service("store")

    # -- counselor ----------------------------------------------------------------------------
    def _on_state(self, event: Any) -> None:
        from calls.model import CallState

        self.breaks.state(event.state is CallState.BREAK, self.session.clock.now())

    def _on_wrap_up(self, event: Any) -> None:
        self.wrapped_up(event.call, event.disposition)

    def wrapped_up(self, call: Any, disposition: str | None) -> None:
        """A contact's wrap-up ended: a call's (the machine's WrapUpFinished) or a chat's
        (app/chat_flow.py, a ``Call`` snapshot with the channel ``chat``)."""
        escalation, store = self._services()
        if escalation is None or store is None or escalation.role != "counselor":
            return
        self._wrap_ups.append((call, disposition))
        self.share()

    def ready(self) -> None:
        """The store was unlocked: what waited is derived and sent now."""
        self.share()
        self.keep()

    def share(self) -> None:
        escalation, store = self._services()
        if escalation is None or store is None or escalation.role != "counselor":
            return
        from escalation.options import QUALITY_SHARE

        if not self.session.config.get(QUALITY_SHARE):
            self._wrap_ups.clear()  # no consent: nothing is derived, nothing leaves
            return
        if store.is_locked:
            return
        while self._wrap_ups:
            call, disposition = self._wrap_ups[0]
            try:
                record = self.record(store, call, disposition, escalation.identity)
                escalation.counselor.quality.share(record)
            except FaroError as exc:
                log.warning("quality figures not derived yet: %s", exc.message)
                return
            self._wrap_ups.popleft()

    def record(self, store: Any, call: Any, disposition: str | None, counselor: str) -> Any:
        """The quality record of ``call`` (escalation.messages.QualityRecord)."""
        from escalation import messages as m
        from storage import figures
        from storage.reports import risk_levels

        cs = store.vault.require()
        contact = store.contact(call.id) or {}
        level = risk_levels(cs, [call.id]).get(call.id, ("", 0))[0] or None
        duration = None
        if call.answered_at is not None and call.ended_at is not None:
            duration = max(0.0, (call.ended_at - call.answered_at).total_seconds())
        f = figures.call_figures(
            contact.get("health"),
            duration_s=duration,
            disposition=disposition,
            risk_level=level,
            follow_up=bool(store.follow_ups(contact_id=call.id)),
        )
        chat: dict[str, Any] = {}
        if call.channel == "chat":  # the chat's figures beside (docs/chat.md)
            chat = figures.chat_contact_figures(cs, [call.id]).get(call.id, {})
        ended = call.ended_at or self.session.clock.now()
        breaks = self.breaks.within(ended - BREAK_WINDOW, ended)
        code = f["disposition"]
        return m.QualityRecord(
            id=call.id,
            counselor=counselor,
            seq=figures.next_seq(cs),
            ended_at=ended,
            duration_s=f["duration_s"],
            audio=f["audio"],
            talk_share=f["talk_share"],
            interruptions=f["interruptions"],
            caller_interruptions=f["caller_interruptions"],
            longest_caller_silence_s=f["longest_caller_silence_s"],
            muted_speech=f["muted_speech"],
            overlap_s=f["overlap_s"],
            disposition=code if code and m.DISPOSITION_CODE.match(code) else None,
            assessed=f["assessed"],
            risk=f["risk"],
            follow_up=f["follow_up"],
            breaks=len(breaks),
            break_s=round(sum((b - a).total_seconds() for a, b in breaks), 1),
            at=self.session.clock.now(),
            channel="chat" if chat else None,
            messages_in=chat.get("messages_in"),
            messages_out=chat.get("messages_out"),
            response_median_s=chat.get("response_median_s"),
            response_longest_s=chat.get("response_longest_s"),
            longest_wait_s=chat.get("longest_wait_s"),
            message_share=chat.get("message_share"),
        )

    # -- supervisor -----------------------------------------------------------------------------
    def keep(self) -> None:
        """Records and marks that arrived go into the store (a repeat changes nothing)."""
        escalation, store = self._services()
        if escalation is None or store is None or escalation.role != "supervisor":
            return
        if store.is_locked:
            return
        from storage import figures

        quality = escalation.supervisor.quality
        try:
            cs = store.vault.require()
            for job in quality.work():
                if job.record is not None:
                    figures.keep_quality_record(cs, job.record)
                elif job.mark is not None:
                    mark = job.mark
                    kept = {r["id"] for r in figures.quality_records(cs)}
                    if mark.record not in kept:
                        continue  # its record has not arrived yet: kept for later
                    figures.mark_for_debrief(cs, mark.record, mark.supervisor, mark.at)
                quality.kept(job.message_id)
        except FaroError as exc:
            log.warning("quality records not stored yet: %s", exc.message)
