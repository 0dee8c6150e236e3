"""A follow-up handed to another counselor: the store's side of escalation/transfers.py.

Escalation carries the steps and never sees what is inside; the store holds the follow-up
and this console's X25519 sealing key pair (made once, kept as the store secret
``transfer.sealing_key``; its public half is announced with the presence). Here, with the
store unlocked:

- a request reads the follow-up's codes (due time, attempts left, risk level) for the
  supervisors and keeps the counselor's handover note in the store (``transfer.note.x<id>``);
- an approved transfer is sealed (core/sealing.py) twice — to the recipient console's key
  and to the organisation's recovery key (``storage.recovery_public_key``) — and handed back
  to escalation to send;
- a package received is opened with this console's key and added to the store as a
  follow-up (channel ``transfer:<sender>``), then acknowledged; one that does not open is
  kept and reported;
- the recipient's acceptance closes the original follow-up (``transferred``).

Everything waits in the escalation outbox while the store is locked and runs at unlock.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import logging
import threading
import uuid
from typing import Any

from core.errors import ConfigError, FaroError
from core.i18n import _
from core.sealing import (
    SealError,
    new_private,
    private_b64,
    private_from_b64,
    public_b64,
    public_from_b64,
    seal,
    unseal,
)

log = logging.getLogger(__name__)

SEALING_KEY = "transfer.sealing_key"
#: the purpose bound into every transfer seal (a recovery wrap never opens as one)
TRANSFER_INFO = b"faro follow-up transfer v1"
#: the handover note's length limit (the sealed package must stay under 8 KiB twice over)
NOTE_MAX = 300


def note_secret(transfer: str) -> str:
    return f"transfer.note.x{transfer}"


class FollowUpTransfers:
    def __init__(self, session: Any) -> None:
        self.session = session
        self._lock = threading.Lock()

    # -- what is here ----------------------------------------------------------------------
    def _parts(self) -> tuple[Any, Any] | None:
        escalation = self.session.service("escalation")
        store = self.session.service("store")
        if escalation is None or store is None or escalation.role != "counselor":
            return None
        return escalation, store

    @property
    def available(self) -> bool:
        """This console can hand follow-ups on: a counselor's, with escalation and a store,
        outside training mode (practice follow-ups stay in the practice store)."""
        from calls.options import TRAINING

        return self._parts() is not None and not self.session.config.get(TRAINING)

    def pending(self) -> dict[str, str]:
        """The follow-ups on their way to someone else: follow-up id → step (requested,
        approved, sent), for the queue to show after a restart or an unlock."""
        parts = self._parts()
        return {} if parts is None else parts[0].counselor.transfers.pending()

    def _private(self, store: Any) -> Any:
        text = store.secret(SEALING_KEY)
        if text is None:
            key = new_private()
            store.set_secret(SEALING_KEY, private_b64(key))
            log.info("made this console's sealing key for follow-up transfers")
            return key
        return private_from_b64(text)

    def ready(self) -> None:
        """The store is open: announce our sealing key, do the work that waited."""
        parts = self._parts()
        if parts is None or parts[1].is_locked:
            return
        escalation, store = parts
        try:
            key = self._private(store)
        except (FaroError, SealError) as exc:
            log.error("no sealing key for follow-up transfers: %s", type(exc).__name__)
            return
        escalation.counselor.set_sealing_key(public_b64(key.public_key()))
        self.work()

    # -- the counselor asks ------------------------------------------------------------------
    def request(self, follow_up_id: int, reason: str, note: str = "") -> str:
        """Ask the supervisors to hand ``follow_up_id`` on. Returns the transfer id.
        ConfigError when the organisation's recovery key is not set (the transfer is sealed
        to it too), RecordError for a follow-up that is closed or unknown."""
        from storage.records import RecordError

        parts = self._parts()
        if parts is None:
            raise ConfigError(_("Follow-ups can be transferred only on a counselor's console."))
        escalation, store = parts
        self._organisation_key()
        found = store.follow_ups(follow_up_id=follow_up_id)
        if not found or found[0].done:
            raise RecordError(_("That follow-up is already closed."))
        fu = found[0]
        risk = "unknown"
        try:
            levels = [a.level for a in store.risk_assessments(fu.contact_id) if a.level]
            risk = levels[-1] if levels else "unknown"
        except FaroError:
            pass
        transfer = uuid.uuid4().hex
        note = note.strip()[:NOTE_MAX]
        if note:
            store.set_secret(note_secret(transfer), note)
        try:
            escalation.counselor.transfers.request(
                str(fu.id), fu.due, fu.max_attempts - fu.attempts, risk, reason, transfer=transfer
            )
        except ValueError:
            if note:
                store.delete_secret(note_secret(transfer))
            raise RecordError(_("This follow-up is already being transferred.")) from None
        return transfer

    def _organisation_key(self) -> Any:
        from storage.options import RECOVERY_PUBLIC_KEY
        from storage.recovery import load_public_key

        path = self.session.config.get(RECOVERY_PUBLIC_KEY)
        if not path:
            raise ConfigError(
                _(
                    "A follow-up can be transferred only when the organisation's recovery "
                    "key is set (storage.recovery_public_key)."
                )
            )
        return load_public_key(path)

    # -- the work that needs the store ---------------------------------------------------------
    def work(self, event: object = None) -> None:
        parts = self._parts()
        if parts is None or parts[1].is_locked:
            return
        from escalation import transfers as t

        escalation, store = parts
        agent = escalation.counselor
        with self._lock:
            for job in agent.transfers.work():
                try:
                    if job.kind == t.APPROVED:
                        self._seal(agent, store, job)
                    elif job.kind == t.INBOX:
                        self._import(agent, store, job)
                    elif job.kind == t.CLOSE:
                        self._close(agent, store, job)
                except FaroError as exc:
                    log.warning("follow-up transfer %s waits: %s", job.transfer, exc.message)
                    return

    def _seal(self, agent: Any, store: Any, job: Any) -> None:
        from escalation.messages import MessageError

        decision, request = job.msg, job.request
        content = store.follow_up_handover(int(request.follow_up))
        content.update(
            v=1,
            transfer=job.transfer,
            sender=agent.identity,
            note=store.secret(note_secret(job.transfer)) or "",
        )
        data = json.dumps(content, separators=(",", ":"), ensure_ascii=False).encode()
        org = self._organisation_key()
        to_recipient = seal(public_from_b64(decision.key), data, TRANSFER_INFO)
        to_org = seal(org, data, TRANSFER_INFO)
        try:
            agent.transfers.package_ready(
                job.transfer,
                base64.b64encode(to_recipient).decode(),
                base64.b64encode(to_org).decode(),
            )
        except MessageError:
            log.error("follow-up transfer %s: the package is too large to send", job.transfer)

    def _import(self, agent: Any, store: Any, job: Any) -> None:
        pkg = job.msg
        try:
            data = unseal(self._private(store), base64.b64decode(pkg.sealed), TRANSFER_INFO)
            content = json.loads(bytes(data))
            if content.get("transfer") != pkg.transfer or content.get("sender") != pkg.counselor:
                raise ValueError("package for another transfer")
            due = dt.datetime.fromisoformat(str(content["due_at"]))
            attempts_left = int(content.get("attempts_left", 1))
            caller = content.get("caller")
            if caller is not None and not isinstance(caller, str):
                raise ValueError("caller")
        except (SealError, ValueError, KeyError, TypeError, binascii.Error):
            agent.transfers.unreadable(pkg.transfer)
            return
        store.import_transferred_follow_up(
            pkg.transfer, pkg.counselor, caller, due, attempts_left, self._note(content)
        )
        agent.transfers.imported(pkg.transfer, pkg.counselor)

    @staticmethod
    def _note(content: dict[str, Any]) -> str:
        lines = [_("Transferred from {counselor}.").format(counselor=content["sender"])]
        note = str(content.get("note") or "").strip()
        if note:
            lines.append(note)
        for attempt in content.get("attempts") or []:
            if isinstance(attempt, dict):
                lines.append(
                    _("Attempt {at}: {outcome}").format(
                        at=str(attempt.get("at", ""))[:16], outcome=attempt.get("outcome", "")
                    )
                )
        return "\n".join(lines)

    def _close(self, agent: Any, store: Any, job: Any) -> None:
        accepted, request = job.msg, job.request
        if request is not None:
            store.close_follow_up_transferred(
                int(request.follow_up), job.transfer, accepted.counselor
            )
        if store.secret(note_secret(job.transfer)) is not None:
            store.delete_secret(note_secret(job.transfer))
        agent.transfers.closed(job.transfer)
