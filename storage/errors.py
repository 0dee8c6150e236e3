"""Errors of the case store, fit to show a counselor or an IT admin.

Each class carries the exit code ``faro db`` returns for it (documented in docs/storage.md).
"""
from __future__ import annotations

from core.errors import StorageError
from core.i18n import _


class WrongPassphrase(StorageError):
    exit_code = 3

    def __init__(self) -> None:
        super().__init__(_("That passphrase is not right. Your notes are safe; check Caps Lock "
                           "and the keyboard layout, then try again."))


class NotInitialised(StorageError):
    exit_code = 4

    def __init__(self) -> None:
        super().__init__(_("There is no case store on this laptop yet."),
                         hint=_("IT sets it up with: faro db init"))


class AlreadyInitialised(StorageError):
    exit_code = 5


class StoreIsLocked(StorageError):
    exit_code = 6

    def __init__(self) -> None:
        super().__init__(_("The case store is locked. Unlock it with your passphrase."))


class StoreDamaged(StorageError):
    """Integrity checks failed or the database does not match its key file."""

    exit_code = 7


class StoreWriteFailed(StorageError):
    """A write could not be made durable; what was saved before is intact."""

    exit_code = 74


class BackupInvalid(StorageError):
    exit_code = 65


class WeakPassphrase(StorageError):
    exit_code = 2
