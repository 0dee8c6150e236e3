"""Autosave of the note being typed: the keystroke side (GUI thread) and its outcome events.

``draft`` returns at once: the writer thread (:mod:`storage.writer`) coalesces and commits;
its callback turns each commit into ``AutosaveState(saved)`` or ``(failed)`` + ``StoreError``.
"""

from __future__ import annotations

from core.i18n import _
from storage import database
from storage.errors import StoreIsLocked
from storage.events import FAILED, SAVED, SAVING, AutosaveState
from storage.vault import KeyVault


class Autosave:
    def __init__(self, vault: KeyVault) -> None:
        self.vault = vault
        self.bus = vault.bus

    def draft(self, contact_id: str, text: str) -> None:
        """Autosave the newest text of a note. Returns at once (GUI thread, every keystroke)."""
        store = self.vault.store
        if store is None:
            raise StoreIsLocked()
        self.vault.touch()
        if store.writer.draft(contact_id, text):
            self.bus.publish(AutosaveState(contact_id, SAVING))

    def drafts_done(self, ids: list[str], exc: BaseException | None) -> None:
        """The writer committed (or failed to commit) the drafts of ``ids``."""
        if exc is None:
            store = self.vault.store
            for cid in ids:  # "saved" only when nothing newer waits for this contact
                if store is None or store.writer.pending_text(cid) is None:
                    self.bus.publish(AutosaveState(cid, SAVED))
            return
        detail = database.failure_message(
            "autosave", exc, self.vault.files.data_dir, _("The case store could not be written.")
        )
        for cid in ids:
            self.bus.publish(AutosaveState(cid, FAILED, detail))
        self.vault.publish_error("autosave", detail)

    def flush(self, timeout: float = 10.0) -> bool:
        store = self.vault.store
        return True if store is None else store.writer.flush(timeout)
