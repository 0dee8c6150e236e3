"""The record methods of the "store" service: notes, contacts, risk assessments, safety
plans, follow-ups, call-health figures, the escalation mirror, the outbox and the audit log.

Each runs on the open :class:`storage.store.CaseStore` and raises ``StoreIsLocked`` while
the store is locked (``search`` returns nothing instead).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from core.config import Config
from core.events import EventBus
from core.forms import Form, FormBook, FormError
from core.privacy import Personal
from storage import transcripts
from storage.events import RescueStepRecorded, RiskAssessmentSaved
from storage.records import (
    FollowUp,
    Note,
    NoteVersion,
    OutboxItem,
    RescueStep,
    RiskAssessment,
    SafetyPlan,
    SearchHit,
    follow_up_rule,
    iso,
)
from storage.store import CaseStore
from storage.vault import KeyVault

log = logging.getLogger(__name__)


class RecordsAPI:
    """Mixed into :class:`storage.service.StoreService`, which sets ``vault``, ``bus`` and
    ``config``."""

    vault: KeyVault
    bus: EventBus
    config: Config

    #: the organisation's form new records are saved under (use_form; None: built-in)
    form: Form | None = None

    def _require(self) -> CaseStore:
        return self.vault.require()

    # -- the organisation's forms (core/forms.py) ---------------------------------------------
    def use_form(self, form: Form) -> str | None:
        """Save new records under ``form`` (kept by the store the first time it is seen);
        returns a warning for a version older than one the store has seen. A FormError when
        the store keeps other content under the same version (then the form is not used)."""
        warning = self._require().use_form(form)
        self.form = form
        return warning

    def form_book(self, current: Form) -> FormBook:
        """``current`` and every version the store keeps, for the words of old records."""
        versions: dict[int, Form] = {}
        for version, text in self._require().form_versions().items():
            try:
                versions[version] = Form.from_json(text)
            except (FormError, ValueError):  # kept by a newer Faro: shown by code
                log.warning("the store's form version %d cannot be read", version)
        return FormBook(current, versions)

    # -- secrets (credentials the laptop needs, such as the SIP password) ---------------------------
    def secret(self, name: str) -> str | None:
        return self._require().secret(name)

    def set_secret(self, name: str, value: str) -> None:
        self._require().set_secret(name, value)

    def delete_secret(self, name: str) -> bool:
        return self._require().delete_secret(name)

    # -- notes ----------------------------------------------------------------------------
    def notes(self, contact_id: str) -> Note | None:
        return self._require().notes(contact_id)

    def save_note(self, contact_id: str, text: str | None = None) -> int:
        return self._require().save_note(contact_id, text)

    def note_history(self, contact_id: str) -> list[NoteVersion]:
        return self._require().note_history(contact_id)

    def search(self, query: str, limit: int = 50) -> list[SearchHit]:
        """Highlighted hits; nothing at all while locked."""
        store = self.vault.store
        return [] if store is None else store.search(query, limit)

    # -- contacts ----------------------------------------------------------------------------
    def contact(self, contact_id: str) -> dict[str, Any] | None:
        return self._require().contact(contact_id)

    def contacts(self, limit: int = 100) -> list[dict[str, Any]]:
        return self._require().contacts(limit)

    def set_contact_health(self, contact_id: str, figures: dict[str, Any]) -> None:
        self._require().set_contact_health(contact_id, figures)

    def set_legal_hold(self, contact_id: str, on: bool, reason: str = "") -> None:
        self._require().set_legal_hold(contact_id, on, reason)

    def log_outside_contact(
        self, at: dt.datetime, kind: str, duration_min: int, disposition: str, note: str = ""
    ) -> str:
        """A contact made outside Faro, written as a contact row ("outside:<kind>")."""
        return self._require().log_outside_contact(at, kind, duration_min, disposition, note)

    def caller_flag(self, contact_id: str) -> str | None:
        return self._require().caller_flag(contact_id)

    def set_caller_flag(self, contact_id: str, flag: str) -> None:
        self._require().set_caller_flag(contact_id, flag)

    def clear_caller_flag(self, contact_id: str) -> bool:
        return self._require().clear_caller_flag(contact_id)

    # -- chats (storage/transcripts.py) ------------------------------------------------------------
    def record_contact(self, call: Any, save_note: bool = False) -> None:
        """Write the contact row of a ``calls.model.Call`` snapshot that did not come from the
        call machine (a chat: channel ``chat``), as the machine's calls are written; with
        ``save_note`` its note is saved as a version too (the wrap-up's end)."""
        store = self._require()

        def write(db: Any) -> None:
            store.record_call_in(db, call, {})
            if save_note:
                store.save_note_in(db, call.id)

        store._write(write, "contact")  # noqa: SLF001 (the store's own package)

    def keep_chat_messages(self, lines: list[transcripts.ChatLine]) -> int:
        """Keep chat messages (a repeat changes nothing); returns how many were new."""
        store = self._require()
        added: int = store._write(  # noqa: SLF001 (the store's own package)
            lambda db: transcripts.add_messages_in(store, db, lines), "chat transcript"
        )
        return added

    def set_chat_delivery(
        self, chat: str, mid: str, state: str, at: dt.datetime, reason: str = ""
    ) -> bool:
        """The counselor's message ``mid`` was sent, received, read or refused."""
        store = self._require()
        when = iso(at)
        changed: bool = store._write(  # noqa: SLF001 (the store's own package)
            lambda db: transcripts.set_delivery_in(db, chat, mid, state, when, reason),
            "chat transcript",
        )
        return changed

    def chat_transcript(self, contact_id: str) -> list[transcripts.ChatLine]:
        return transcripts.transcript(self._require(), contact_id)

    # -- risk, safety plans, follow-ups ----------------------------------------------------------
    def add_risk_assessment(self, contact_id: str, assessment: RiskAssessment) -> int:
        assessment_id = self._require().add_risk_assessment(contact_id, assessment)
        self.bus.publish(RiskAssessmentSaved(contact_id, assessment_id, assessment.imminent))
        return assessment_id

    def risk_assessments(self, contact_id: str) -> list[RiskAssessment]:
        return self._require().risk_assessments(contact_id)

    def set_safety_plan(self, contact_id: str, plan: SafetyPlan) -> int:
        return self._require().set_safety_plan(contact_id, plan)

    def safety_plan(self, contact_id: str) -> SafetyPlan | None:
        return self._require().safety_plan(contact_id)

    def latest_safety_plan_for_caller(self, contact_id: str) -> dict[str, Any] | None:
        return self._require().latest_safety_plan_for_caller(contact_id)

    def copy_safety_plan(self, from_contact_id: str, to_contact_id: str) -> SafetyPlan:
        return self._require().copy_safety_plan(from_contact_id, to_contact_id)

    def safety_plan_exported(self, contact_id: str, detail: dict[str, Any]) -> None:
        self._require().safety_plan_exported(contact_id, detail)

    def backfill_caller_keys(self) -> int:
        return self._require().backfill_caller_keys()

    def add_rescue_step(
        self, contact_id: str, step: str, at: dt.datetime | None = None, detail: str = ""
    ) -> RescueStep:
        """Record a rescue step, then tell the bus (:class:`RescueStepRecorded`: the code
        and the time, never the location)."""
        saved = self._require().add_rescue_step(contact_id, step, at, detail)
        self.bus.publish(RescueStepRecorded(contact_id, saved.id or 0, saved.step, saved.time))
        return saved

    def rescue_steps(self, contact_id: str) -> list[RescueStep]:
        return self._require().rescue_steps(contact_id)

    def waiting_rescues(self, since: dt.datetime) -> list[str]:
        return self._require().waiting_rescues(since)

    def add_follow_up(self, contact_id: str, due_at: dt.datetime, max_attempts: int = 5) -> int:
        return self._require().add_follow_up(contact_id, due_at, max_attempts)

    def record_follow_up_attempt(self, follow_up_id: int, outcome: str, reached: bool) -> FollowUp:
        """One attempt and its outcome; unless it closed the follow-up, the next attempt is
        due the retry hours from now (the form's, or ``clinical.follow_up_retry_h`` when
        set: storage.records.follow_up_rule)."""
        retry = dt.timedelta(hours=follow_up_rule(self.config, self.form).retry_h)
        return self._require().record_follow_up_attempt(
            follow_up_id, outcome, reached, retry_after=retry
        )

    def follow_ups(self, **kw: Any) -> list[FollowUp]:
        return self._require().follow_ups(**kw)

    def due_follow_ups(self, now: dt.datetime) -> list[FollowUp]:
        """Open follow-ups due at ``now``, those that fell due while Faro was off included."""
        return self._require().due_follow_ups(now)

    def follow_up_caller(self, follow_up_id: int) -> Personal | None:
        """The number to call back (audited view; on screen only, never logged)."""
        return self._require().follow_up_caller(follow_up_id)

    def follow_up_handover(self, follow_up_id: int) -> dict[str, Any]:
        """What a transfer seals for the next counselor (personal data: sealing only)."""
        return self._require().follow_up_handover(follow_up_id)

    def import_transferred_follow_up(
        self,
        transfer_id: str,
        sender: str,
        caller: str | None,
        due_at: dt.datetime,
        attempts_left: int,
        note: str = "",
    ) -> int:
        return self._require().import_transferred_follow_up(
            transfer_id, sender, caller, due_at, attempts_left, note
        )

    def close_follow_up_transferred(
        self, follow_up_id: int, transfer_id: str, recipient: str
    ) -> bool:
        return self._require().close_follow_up_transferred(follow_up_id, transfer_id, recipient)

    # -- escalation mirror, outbox, audit ----------------------------------------------------------
    def record_escalation(
        self,
        escalation_id: str,
        contact_id: str | None,
        level: str,
        state: str,
        detail: dict[str, Any],
    ) -> None:
        self._require().record_escalation(escalation_id, contact_id, level, state, detail)

    def escalation(self, escalation_id: str) -> dict[str, Any] | None:
        return self._require().escalation(escalation_id)

    def add_whisper(self, escalation_id: str, direction: str, text: str) -> int:
        return self._require().add_whisper(escalation_id, direction, text)

    def whispers(self, escalation_id: str) -> list[tuple[str, str, str]]:
        return self._require().whispers(escalation_id)

    def outbox_add(self, kind: str, message_id: str, payload: bytes) -> bool:
        return self._require().outbox_add(kind, message_id, payload)

    def outbox_pending(self, kind: str | None = None) -> list[OutboxItem]:
        return self._require().outbox_pending(kind)

    def outbox_attempted(self, message_id: str) -> None:
        self._require().outbox_attempted(message_id)

    def outbox_mark_sent(self, message_id: str) -> bool:
        return self._require().outbox_mark_sent(message_id)

    def audit(self, action: str, subject: str, detail: dict[str, Any] | None = None) -> None:
        self._require().audit(action, subject, detail)

    def talk_seconds_since(
        self, since: dt.datetime, counselor_id: str | None = None
    ) -> dict[str, float]:
        """Talk seconds per contact ended after ``since`` (this counselor's by default)."""
        return self._require().talk_seconds_since(since, counselor_id)
