"""A follow-up handed to another counselor, through the supervisor, sealed end to end.

Four messages (escalation/messages.py), each an outbox item until the next step shows it
arrived, so a broker restart, a recipient away or a console killed mid-way loses nothing,
and the transfer id makes every repeat harmless:

1. ``transfer_request`` (counselor A → supervisors, ``c/A/xfer/T/request``): codes only.
   Pending on A (``xfer.request``) until a decision comes; published again at every
   connection and every ``escalation.resend_s``.
2. ``transfer_decision`` (a supervisor → A, ``s/A/xfer/T/decision``): approved to B with
   B's sealing public key (from B's presence), or declined with a reason code. A supervisor
   that hears a request it already decided sends its decision again.
3. ``transfer_package`` (A → supervisors, ``c/A/xfer/T/package``; relayed by any supervisor
   to ``s/B/xfer/T/package``, B's persistent session): the follow-up sealed to B and to the
   organisation — app/wiring.py seals it, the supervisor can read none of it. Pending on A
   (``xfer.package``) until B's acceptance comes back.
4. ``transfer_accepted`` (B → supervisors, relayed to ``s/A/xfer/T/accepted``): B's store
   has it. A closes the original follow-up (``transferred``). A package B already took is
   answered with its acceptance again.

Work for the store is kept in the outbox as local items that are never published (they
wait in memory and the sealed spool while the store is locked) and handed to app/wiring.py
(:meth:`CounselorTransfers.work`, :class:`escalation.events.TransferWork`): a decision to
seal (``xfer.approved``), a package to import (``xfer.inbox``), an original to close
(``xfer.close``). A package that does not open is kept (``xfer.inbox`` stays pending) and
reported, never dropped.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
import logging
import threading
from typing import TYPE_CHECKING, Any

from escalation import events as ev
from escalation import messages as m
from escalation import topics
from escalation.reasons import DECLINE_REASONS, RISKS, TRANSFER_REASONS

if TYPE_CHECKING:
    from escalation.agent import Agent

log = logging.getLogger(__name__)

REQUEST = "xfer.request"  # published until a decision comes back
APPROVED = "xfer.approved"  # local: a package to seal
PACKAGE = "xfer.package"  # published until the recipient's acceptance comes back
CLOSE = "xfer.close"  # local: the original follow-up to close
INBOX = "xfer.inbox"  # local (recipient): a package to import
SEND = "xfer.send"  # published until the broker has it (decisions, relays, acceptances)
KINDS = (REQUEST, APPROVED, PACKAGE, CLOSE, INBOX, SEND)
#: the local items handed to app/wiring.py
WORK = (APPROVED, CLOSE, INBOX)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _wrap(request: bytes | None, msg: bytes) -> bytes:
    return json.dumps(
        {"request": None if request is None else request.decode(), "msg": msg.decode()},
        separators=(",", ":"),
    ).encode()


def _unwrap(payload: bytes) -> tuple[m.TransferRequest | None, m.Message]:
    d = json.loads(payload)
    req = m.decode(d["request"].encode()) if d.get("request") else None
    if req is not None and not isinstance(req, m.TransferRequest):
        raise m.MessageError("not a transfer request")
    return req, m.decode(d["msg"].encode())


def _decode(transfer: str, payload: bytes) -> Any | None:
    """The message of a transfer topic, or None (logged) when it is malformed or names
    another transfer than its topic."""
    try:
        msg = m.decode(payload)
    except m.MessageError as exc:
        log.warning("ignored a malformed transfer message: %s", exc)
        return None
    if getattr(msg, "transfer", None) != transfer:
        log.warning("ignored a transfer message whose id does not match its topic")
        return None
    return msg


@dataclasses.dataclass(frozen=True, slots=True)
class TransferJob:
    """Work for the store: ``kind`` is APPROVED (seal ``msg``'s follow-up to its recipient),
    INBOX (import the package ``msg``) or CLOSE (close ``request.follow_up``)."""

    kind: str
    transfer: str
    request: m.TransferRequest | None
    msg: m.Message


class _Side:
    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self._lock = threading.RLock()

    @property
    def me(self) -> str:
        return self.agent.identity

    def _publish(self, topic: str, payload: bytes, message_id: str | None = None) -> None:
        link = self.agent.link
        if link is None:
            return
        sent = self.agent._done_when_sent(message_id) if message_id else None
        link.publish(topic, payload, qos=1, on_sent=sent)

    def _pending(self, kind: str | None = None) -> dict[str, bytes]:
        return {
            p.message_id: p.payload
            for p in self.agent.outbox.pending(kind)
            if p.kind in KINDS and (kind is None or p.kind == kind)
        }

    def _emit(self, event: ev.TransferChanged) -> None:
        self.agent.bus.publish(event)


class CounselorTransfers(_Side):
    """Both ends on a counselor laptop: the one that hands a follow-up on, the one that
    receives it."""

    def __init__(self, agent: Agent) -> None:
        super().__init__(agent)
        self._unreadable: set[str] = set()  # packages that did not open (kept, reported)

    # -- the sender ---------------------------------------------------------------------
    def request(
        self,
        follow_up: str,
        due_at: dt.datetime,
        attempts_left: int,
        risk: str,
        reason: str,
        transfer: str | None = None,
    ) -> str:
        """Ask the supervisors to hand ``follow_up`` to another counselor. Returns the
        transfer id. ValueError for a reason this Faro does not know, a follow-up already
        on its way, or in training mode (a practice follow-up is never handed on)."""
        training = getattr(self.agent, "training", None)
        if training is not None and training.active:
            raise ValueError("a practice follow-up is never handed on")
        if reason not in TRANSFER_REASONS:
            raise ValueError(f"unknown transfer reason {reason!r}")
        if any(req is not None and req.follow_up == follow_up for req, _msg in self._open_steps()):
            raise ValueError("this follow-up is already being transferred")
        transfer = transfer or m.new_id()
        msg = m.TransferRequest(
            f"{transfer}:req",
            transfer,
            self.me,
            follow_up,
            due_at,
            max(0, min(100, attempts_left)),
            risk if risk in RISKS else "unknown",
            reason,
            self.agent.clock.now(),
        )
        payload = m.encode(msg)
        self.agent.outbox.add(REQUEST, msg.id, _wrap(None, payload))
        self.agent.outbox.audit("transfer.request", transfer, {"reason": reason})
        log.info("follow-up transfer %s requested (reason %s)", transfer, reason)
        self._publish(topics.counselor_transfer(self.me, transfer, "request"), payload)
        self._emit(ev.TransferChanged(transfer, "requested", follow_up, self.me))
        return transfer

    def _open_steps(self) -> list[tuple[m.TransferRequest | None, m.Message]]:
        out = []
        for kind in (REQUEST, APPROVED, PACKAGE):
            for payload in self._pending(kind).values():
                try:
                    out.append(_unwrap(payload))
                except (ValueError, KeyError, TypeError, AttributeError):
                    continue
        return out

    def pending(self) -> dict[str, str]:
        """The follow-ups on their way to someone else: follow-up id → step (requested,
        approved, sent). For the queue to show (and to keep two transfers of one apart)."""
        steps = {REQUEST: "requested", APPROVED: "approved", PACKAGE: "sent"}
        out: dict[str, str] = {}
        for kind, step in steps.items():
            for payload in self._pending(kind).values():
                try:
                    req, msg = _unwrap(payload)
                except (ValueError, KeyError, TypeError, AttributeError):
                    continue
                follow_up = req.follow_up if req else getattr(msg, "follow_up", None)
                if follow_up:
                    out[follow_up] = step
        return out

    def package_ready(self, transfer: str, sealed: str, org_sealed: str) -> None:
        """app/wiring.py sealed the follow-up of an approved transfer: send it."""
        with self._lock:
            payload = self._pending(APPROVED).get(f"{transfer}:approved")
            if payload is None:
                return  # done already
            req, decision = _unwrap(payload)
            assert isinstance(decision, m.TransferDecision) and decision.recipient
            pkg = m.TransferPackage(
                f"{transfer}:pkg",
                transfer,
                self.me,
                decision.recipient,
                sealed,
                org_sealed,
                self.agent.clock.now(),
            )
            data = m.encode(pkg)  # MessageError if too large: the caller says so
            assert req is not None
            self.agent.outbox.add(PACKAGE, pkg.id, _wrap(m.encode(req), data))
            self.agent.outbox.mark_sent(f"{transfer}:approved")
        self._publish(topics.counselor_transfer(self.me, transfer, "package"), data)
        self._emit(ev.TransferChanged(transfer, "sent", req.follow_up, self.me, pkg.recipient))

    def closed(self, transfer: str) -> None:
        """The original follow-up is closed (``transferred``) in the store."""
        self.agent.outbox.mark_sent(f"{transfer}:close")
        self._emit(ev.TransferChanged(transfer, "closed"))

    # -- the recipient ------------------------------------------------------------------------
    def imported(self, transfer: str, sender: str) -> None:
        """The package is in this laptop's store: acknowledge it (through the supervisor)."""
        acc = m.TransferAccepted(
            f"{transfer}:acc", transfer, self.me, sender, self.agent.clock.now()
        )
        data = m.encode(acc)
        self.agent.outbox.add(SEND, acc.id, data)
        self.agent.outbox.mark_sent(f"{transfer}:in")
        self._publish(topics.counselor_transfer(self.me, transfer, "accepted"), data, acc.id)
        self._emit(ev.TransferChanged(transfer, "imported", None, sender, self.me))

    def unreadable(self, transfer: str) -> None:
        """The package does not open with this console's key or holds no valid follow-up:
        kept in the outbox (not retried in this run), reported."""
        with self._lock:
            if transfer in self._unreadable:
                return
            self._unreadable.add(transfer)
        log.error("follow-up transfer %s: the package cannot be read; it is kept", transfer)
        self.agent.outbox.audit("transfer.unreadable", transfer, None)
        self._emit(ev.TransferChanged(transfer, "unreadable"))

    # -- work for the store ---------------------------------------------------------------------
    def work(self) -> list[TransferJob]:
        jobs = []
        for p in self.agent.outbox.pending():
            if p.kind not in WORK:
                continue
            try:
                if p.kind == INBOX:
                    req, msg = None, m.decode(p.payload)
                else:
                    req, msg = _unwrap(p.payload)
            except (ValueError, KeyError, TypeError, AttributeError):
                log.error("an unreadable transfer item is kept in the outbox")
                continue
            transfer = str(getattr(msg, "transfer", ""))
            if p.kind == INBOX and transfer in self._unreadable:
                continue
            jobs.append(TransferJob(p.kind, transfer, req, msg))
        return jobs

    # -- the link ----------------------------------------------------------------------------
    def republish(self) -> None:
        for p in self.agent.outbox.pending():
            try:
                if p.kind in (REQUEST, PACKAGE):
                    _req, msg = _unwrap(p.payload)
                elif p.kind == SEND:
                    msg = m.decode(p.payload)
                else:
                    continue
            except (ValueError, KeyError, TypeError, AttributeError):
                continue
            data = m.encode(msg)
            if isinstance(msg, m.TransferRequest):
                self._publish(topics.counselor_transfer(self.me, msg.transfer, "request"), data)
            elif isinstance(msg, m.TransferPackage):
                self._publish(topics.counselor_transfer(self.me, msg.transfer, "package"), data)
            elif isinstance(msg, m.TransferAccepted):
                topic = topics.counselor_transfer(self.me, msg.transfer, "accepted")
                self._publish(topic, data, p.message_id)

    def on_message(self, side: str, who: str, transfer: str, leaf: str, payload: bytes) -> None:
        if not payload or side != "s" or who != self.me:
            return
        msg = _decode(transfer, payload)
        if msg is None:
            return
        if isinstance(msg, m.TransferDecision) and leaf == "decision" and msg.counselor == self.me:
            self._decided(msg)
        elif isinstance(msg, m.TransferPackage) and leaf == "package" and msg.recipient == self.me:
            self._package(msg, payload)
        elif isinstance(msg, m.TransferAccepted) and leaf == "accepted" and msg.sender == self.me:
            self._accepted(msg)

    def _decided(self, msg: m.TransferDecision) -> None:
        with self._lock:
            payload = self._pending(REQUEST).get(f"{msg.transfer}:req")
            if payload is None:
                return  # decided already (another supervisor, or a repeat)
            _none, req = _unwrap(payload)
            assert isinstance(req, m.TransferRequest)
            if msg.approved:
                self.agent.outbox.add(
                    APPROVED, f"{msg.transfer}:approved", _wrap(m.encode(req), m.encode(msg))
                )
            self.agent.outbox.mark_sent(req.id)
        if msg.approved:
            log.info("follow-up transfer %s approved by %s", msg.transfer, msg.supervisor)
            self._emit(
                ev.TransferChanged(msg.transfer, "approved", req.follow_up, self.me, msg.recipient)
            )
            self.agent.bus.publish(ev.TransferWork(msg.transfer))
        else:
            log.info("follow-up transfer %s declined (%s)", msg.transfer, msg.reason)
            self.agent.outbox.audit("transfer.declined", msg.transfer, {"reason": msg.reason})
            self._emit(
                ev.TransferChanged(
                    msg.transfer, "declined", req.follow_up, self.me, reason=msg.reason
                )
            )

    def _package(self, msg: m.TransferPackage, payload: bytes) -> None:
        with self._lock:
            fresh = self.agent.outbox.add(INBOX, f"{msg.transfer}:in", payload)
            waiting = f"{msg.transfer}:in" in self._pending(INBOX)
        if fresh:
            log.info("follow-up transfer %s received from %s", msg.transfer, msg.counselor)
            self._emit(ev.TransferChanged(msg.transfer, "received", None, msg.counselor, self.me))
            self.agent.bus.publish(ev.TransferWork(msg.transfer))
        elif not waiting:  # taken already: the sender missed our acceptance
            acc = m.TransferAccepted(
                f"{msg.transfer}:acc", msg.transfer, self.me, msg.counselor, self.agent.clock.now()
            )
            self._publish(
                topics.counselor_transfer(self.me, msg.transfer, "accepted"), m.encode(acc)
            )

    def _accepted(self, msg: m.TransferAccepted) -> None:
        with self._lock:
            payload = self._pending(PACKAGE).get(f"{msg.transfer}:pkg")
            if payload is None:
                return  # closed already
            req, _pkg = _unwrap(payload)
            self.agent.outbox.add(
                CLOSE,
                f"{msg.transfer}:close",
                _wrap(None if req is None else m.encode(req), m.encode(msg)),
            )
            self.agent.outbox.mark_sent(f"{msg.transfer}:pkg")
        log.info("follow-up transfer %s accepted by %s", msg.transfer, msg.counselor)
        self._emit(
            ev.TransferChanged(
                msg.transfer, "accepted", req.follow_up if req else None, self.me, msg.counselor
            )
        )
        self.agent.bus.publish(ev.TransferWork(msg.transfer))


@dataclasses.dataclass
class TransferItem:
    """A transfer as supervisors see it: codes, times and counselor ids only."""

    transfer: str
    counselor: str
    follow_up: str | None = None
    due_at: dt.datetime | None = None
    attempts_left: int | None = None
    risk: str = "unknown"
    reason: str = "other"
    requested_at: dt.datetime | None = None
    #: pending (waiting for a supervisor), approved, declined, sent (package relayed), done
    state: str = "pending"
    recipient: str | None = None
    supervisor: str | None = None
    decline_reason: str | None = None
    decision: bytes | None = dataclasses.field(default=None, repr=False)


class SupervisorTransfers(_Side):
    """The supervisor's part: show requests, decide, relay what it cannot read."""

    def __init__(self, agent: Agent) -> None:
        super().__init__(agent)
        self.items: dict[str, TransferItem] = {}
        #: each counselor's sealing public key, from its presence (kept while it is offline)
        self.keys: dict[str, str] = {}

    def presence(self, msg: m.Presence) -> None:
        if msg.key:
            with self._lock:
                self.keys[msg.counselor] = msg.key

    def snapshot(self) -> tuple[list[TransferItem], dict[str, str]]:
        """(transfers, pending first then newest first; sealing keys) — copies."""
        with self._lock:
            items = sorted(
                self.items.values(),
                key=lambda i: (i.state != "pending", -(i.requested_at or _EPOCH).timestamp()),
            )
            return copy.deepcopy(items), dict(self.keys)

    def recipients(self, transfer: str) -> list[str]:
        """Counselors this transfer can go to: known to the board with a sealing key, but
        not the one handing it on."""
        with self._lock:
            item = self.items.get(transfer)
            return sorted(c for c in self.keys if item is None or c != item.counselor)

    def approve(self, transfer: str, recipient: str) -> None:
        with self._lock:
            item = self.items.get(transfer)
            if item is None:
                raise KeyError(transfer)
            key = self.keys.get(recipient)
            if key is None or recipient == item.counselor:
                raise ValueError("that counselor cannot receive this follow-up")
            msg = m.TransferDecision(
                f"{transfer}:dec",
                transfer,
                item.counselor,
                self.me,
                True,
                recipient,
                key,
                None,
                self.agent.clock.now(),
            )
            item.state, item.recipient, item.supervisor = "approved", recipient, self.me
            item.decision = m.encode(msg)
        self.agent.outbox.audit(
            "transfer.approve", transfer, {"counselor": item.counselor, "recipient": recipient}
        )
        self._send(msg)
        self._emit(ev.TransferChanged(transfer, "approved", None, item.counselor, recipient))

    def decline(self, transfer: str, reason: str) -> None:
        if reason not in DECLINE_REASONS:
            raise ValueError(f"unknown decline reason {reason!r}")
        with self._lock:
            item = self.items.get(transfer)
            if item is None:
                raise KeyError(transfer)
            msg = m.TransferDecision(
                f"{transfer}:dec",
                transfer,
                item.counselor,
                self.me,
                False,
                None,
                None,
                reason,
                self.agent.clock.now(),
            )
            item.state, item.supervisor, item.decline_reason = "declined", self.me, reason
            item.decision = m.encode(msg)
        self.agent.outbox.audit("transfer.decline", transfer, {"reason": reason})
        self._send(msg)
        self._emit(ev.TransferChanged(transfer, "declined", None, item.counselor, reason=reason))

    # -- the link ----------------------------------------------------------------------------
    def _topic(self, msg: m.Message) -> str | None:
        if isinstance(msg, m.TransferDecision):
            return topics.supervisor_transfer(msg.counselor, msg.transfer, "decision")
        if isinstance(msg, m.TransferPackage):
            return topics.supervisor_transfer(msg.recipient, msg.transfer, "package")
        if isinstance(msg, m.TransferAccepted):
            return topics.supervisor_transfer(msg.sender, msg.transfer, "accepted")
        return None

    def _send(self, msg: m.Message, message_id: str | None = None) -> None:
        """Outboxed, published until the broker has it (a repeat is published again)."""
        topic = self._topic(msg)
        assert topic is not None
        data = m.encode(msg)
        message_id = message_id or msg.id
        self.agent.outbox.add(SEND, message_id, data)
        self._publish(topic, data, message_id)

    def republish(self) -> None:
        for message_id, payload in self._pending(SEND).items():
            try:
                msg = m.decode(payload)
            except m.MessageError:
                self.agent.outbox.mark_sent(message_id)
                continue
            topic = self._topic(msg)
            if topic is not None:
                self._publish(topic, payload, message_id)

    def on_message(self, side: str, who: str, transfer: str, leaf: str, payload: bytes) -> None:
        if not payload:
            return
        msg = _decode(transfer, payload)
        if msg is None:
            return
        if side == "c" and getattr(msg, "counselor", None) != who:
            log.warning("ignored a transfer message whose counselor does not match its topic")
            return
        if side == "c" and isinstance(msg, m.TransferRequest) and leaf == "request":
            self._requested(msg)
        elif side == "c" and isinstance(msg, m.TransferPackage) and leaf == "package":
            self._relay(msg, "sent", msg.recipient)
        elif side == "c" and isinstance(msg, m.TransferAccepted) and leaf == "accepted":
            self._relay(msg, "done", msg.counselor)
        elif side == "s" and isinstance(msg, m.TransferDecision) and leaf == "decision":
            self._heard_decision(msg, payload)

    def _requested(self, msg: m.TransferRequest) -> None:
        with self._lock:
            item = self.items.get(msg.transfer)
            if item is None:
                item = self.items[msg.transfer] = TransferItem(
                    msg.transfer,
                    msg.counselor,
                    msg.follow_up,
                    msg.due_at,
                    msg.attempts_left,
                    msg.risk,
                    msg.reason,
                    msg.at,
                )
                fresh, again = True, None
            else:
                fresh, again = False, item.decision
        if fresh:
            log.info("follow-up transfer %s requested by %s", msg.transfer, msg.counselor)
            self.agent.outbox.audit(
                "transfer.request", msg.transfer, {"counselor": msg.counselor, "reason": msg.reason}
            )
            self._emit(ev.TransferChanged(msg.transfer, "requested", msg.follow_up, msg.counselor))
        elif again is not None:  # the counselor missed the decision: say it again
            decision = m.decode(again)
            topic = self._topic(decision)
            if topic is not None:
                self._publish(topic, again)

    def _relay(self, msg: m.TransferPackage | m.TransferAccepted, state: str, to: str) -> None:
        self._send(msg, f"{msg.transfer}:relay-{state}")
        with self._lock:
            item = self.items.get(msg.transfer)
            if item is None:  # a console that started after the decision
                sender = msg.counselor if isinstance(msg, m.TransferPackage) else msg.sender
                item = self.items[msg.transfer] = TransferItem(msg.transfer, sender)
            changed = item.state != state
            item.state, item.recipient = state, to
        if changed:
            if state == "done":
                self.agent.outbox.audit(
                    "transfer.done", msg.transfer, {"counselor": item.counselor, "recipient": to}
                )
            self._emit(ev.TransferChanged(msg.transfer, state, None, item.counselor, to))

    def _heard_decision(self, msg: m.TransferDecision, payload: bytes) -> None:
        """Another supervisor's decision (or our own, back from the broker)."""
        with self._lock:
            item = self.items.get(msg.transfer)
            if item is None or item.state != "pending":
                return
            item.state = "approved" if msg.approved else "declined"
            item.recipient, item.supervisor = msg.recipient, msg.supervisor
            item.decline_reason, item.decision = msg.reason, payload
        self._emit(
            ev.TransferChanged(
                msg.transfer, item.state, None, item.counselor, msg.recipient, msg.reason
            )
        )
