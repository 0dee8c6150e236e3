"""The number of a callback: the store's side of escalation/callbacks.py.

The number of a missed contact stays in the encrypted store of the laptop that took the
ring. When a supervisor assigns the callback to another counselor, that laptop seals the
number (core/sealing.py, purpose :data:`CALLBACK_INFO`) to the assignee console's sealing
key — the key follow-up transfers use (app/follow_up_transfer.py), announced with the
presence — and escalation sends it. The assignee keeps it sealed in its outbox and opens it
only to show it (:meth:`CallbackNumbers.number`, audited ``callback.view``). A callback
assigned to the counselor who missed it needs no sealing: the number is in its own store.
Work waits in the escalation outbox while the store is locked and runs at unlock.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import threading
from typing import Any

from core.errors import FaroError
from core.privacy import Personal
from core.sealing import SealError, public_from_b64, seal, unseal

log = logging.getLogger(__name__)

#: the purpose bound into every callback seal (never opens as a transfer or a recovery wrap)
CALLBACK_INFO = b"faro callback number v1"


class CallbackNumbers:
    def __init__(self, session: Any, transfers: Any) -> None:
        self.session = session
        self.transfers = transfers  # app.follow_up_transfer.FollowUpTransfers: the key pair
        self._lock = threading.Lock()

    def _parts(self) -> tuple[Any, Any] | None:
        escalation = self.session.service("escalation")
        store = self.session.service("store")
        if escalation is None or store is None or escalation.role != "counselor":
            return None
        return escalation.counselor, store

    @property
    def available(self) -> bool:
        return self._parts() is not None

    def work(self, event: object = None) -> None:
        """Seal the numbers of our missed contacts assigned to other consoles."""
        parts = self._parts()
        if parts is None or parts[1].is_locked:
            return
        agent, store = parts
        with self._lock:
            for s in agent.callbacks.work():
                try:
                    row = store.contact(s.callback)
                except FaroError as exc:
                    log.warning("callback %s waits: %s", s.callback, exc.message)
                    return
                number = (row or {}).get("caller")
                if not number:
                    agent.callbacks.seal_refused(s, "no number")
                    continue
                data = json.dumps(
                    {"v": 1, "callback": s.callback, "version": s.version, "number": number},
                    separators=(",", ":"),
                ).encode()
                try:
                    sealed = seal(public_from_b64(s.key), data, CALLBACK_INFO)
                except SealError:
                    agent.callbacks.seal_refused(s, "bad key")
                    continue
                agent.callbacks.package_ready(s, base64.b64encode(sealed).decode())

    def number(self, callback: str) -> Personal | None:
        """The number to call back for a callback assigned to this console (for the screen
        only; audited). None: it has not arrived yet, or there is none."""
        parts = self._parts()
        if parts is None or parts[1].is_locked:
            return None
        agent, store = parts
        mine = next((s for s in agent.callbacks.mine() if s.callback == callback), None)
        if mine is None:
            return None
        if mine.counselor == agent.identity:  # our own missed contact: in our store
            number = (store.contact(callback) or {}).get("caller")
        else:
            pkg = agent.callbacks.sealed_number(callback)
            if pkg is None:
                return None
            try:
                opened = json.loads(
                    bytes(
                        unseal(
                            self.transfers._private(store),
                            base64.b64decode(pkg.sealed),
                            CALLBACK_INFO,
                        )
                    )
                )
                if opened.get("callback") != callback:
                    raise ValueError("another callback")
                number = str(opened["number"])
            except (SealError, ValueError, KeyError, TypeError, binascii.Error):
                log.error("callback %s: the number cannot be opened", callback)
                return None
        if not number:
            return None
        store.audit("callback.view", callback, {"from": mine.counselor})
        return Personal(number)
