"""Errors of the case store, fit to show a counselor or an IT admin.

Each class carries the exit code ``faro db`` returns for it (documented in docs/storage.md).
Three faults must never be confused, because what to do differs: a wrong passphrase (3:
try again), damage (7: a file is broken, restore it) and a disk that cannot be written
(74: free space; nothing is damaged). :func:`write_failed` names the last kind.
"""

from __future__ import annotations

import errno
import resource
import shutil
from pathlib import Path

from core.errors import StorageError
from core.i18n import _

#: free space under which a vague I/O error is taken to mean "the disk is full"
LOW_SPACE_BYTES = 64 * 1024 * 1024


class WrongPassphrase(StorageError):
    exit_code = 3

    def __init__(self) -> None:
        super().__init__(
            _(
                "That passphrase is not right. Your notes are safe; check Caps Lock "
                "and the keyboard layout, then try again."
            )
        )


class WrongRecoveryKey(StorageError):
    """A recovery private key that is not the one the store's recovery wrap was sealed to."""

    exit_code = 3


class NotInitialised(StorageError):
    exit_code = 4

    def __init__(self) -> None:
        super().__init__(
            _("There is no case store on this laptop yet."),
            hint=_("IT sets it up with: faro db init"),
        )


class AlreadyInitialised(StorageError):
    exit_code = 5


class StoreIsLocked(StorageError):
    exit_code = 6

    def __init__(self) -> None:
        super().__init__(_("The case store is locked. Unlock it with your passphrase."))


class StoreDamaged(StorageError):
    """Integrity checks failed, a store file is missing or damaged, or the database does not
    match its key file."""

    exit_code = 7


class StoreWriteFailed(StorageError):
    """A write could not be made durable (or the store cannot be opened because its files
    cannot be written); what was saved before is intact."""

    exit_code = 74


class BackupInvalid(StorageError):
    exit_code = 65


class WeakPassphrase(StorageError):
    exit_code = 2


class NoRecoveryWrap(StorageError):
    """Emergency access asked of a store made without a recovery key (a configuration fact,
    not damage)."""

    exit_code = 78


def restore_hint() -> str:
    return _(
        "Keep the data folder as it is (copy it aside for support); restore your latest "
        "backup into a clean profile with 'faro db restore PATH', then copy back what was "
        "typed since."
    )


_FULL = (errno.ENOSPC, errno.EDQUOT)
_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)


def _size_limited() -> bool:
    soft, _hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    return soft != resource.RLIM_INFINITY


def _space_short(directory: Path | None) -> bool:
    """SQLite reports ENOSPC on some paths as a plain I/O error: look at the free space."""
    if directory is None:
        return False
    try:
        usage = shutil.disk_usage(directory)
    except OSError:
        return False
    return usage.free < 1 << 20 or (usage.free < LOW_SPACE_BYTES and usage.free < usage.total // 20)


def why_not_written(exc: BaseException, directory: Path | None = None) -> str:
    """The reason a write failed, in words for IT: disk full, size limit, read-only, I/O."""
    code = getattr(exc, "errno", None) if isinstance(exc, OSError) else None
    text = str(exc).lower()
    name = str(getattr(exc, "sqlite_errorname", "") or "").upper()
    full = _("the disk is full")
    limited = _("the disk is full (or the file size limit was reached)")
    if code == errno.EFBIG or "too big" in text:
        return limited
    if code in _FULL or name.startswith("SQLITE_FULL") or "full" in text:
        return limited if _size_limited() else full
    if code == errno.ENOENT:
        return _("the folder does not exist")
    if (
        code in _READ_ONLY
        or name.startswith("SQLITE_READONLY")
        or "readonly" in text
        or "read-only" in text
    ):
        return _("the folder or file is read-only")
    if _space_short(directory):
        return full
    if _size_limited():
        return limited
    return _("the disk reported an input/output error")


def write_failed(
    exc: BaseException, directory: Path | None = None, what: str | None = None
) -> StoreWriteFailed:
    """A :class:`StoreWriteFailed` naming why (exit 74). ``what`` says what could not be done
    (default: saving to the case store)."""
    what = what or _("Could not save to the case store")
    return StoreWriteFailed(
        _("{what}: {why}. What was saved before is intact; free space or call IT.").format(
            what=what, why=why_not_written(exc, directory)
        )
    )


def is_os_write_failure(exc: BaseException) -> bool:
    """An OSError that means "cannot write here" (as opposed to a bug)."""
    return isinstance(exc, OSError) and exc.errno in (
        *_FULL,
        *_READ_ONLY,
        errno.EFBIG,
        errno.EIO,
        errno.ENOENT,
        errno.ENOTDIR,
    )
