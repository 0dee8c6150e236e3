"""Practice records kept apart from real ones (training mode, docs/training.md).

A training session (``calls.training``) keeps its records in a **practice store**: its own
folder (``<data>/practice``: its own ``cases.db`` and ``cases.key``, never the profile's real
ones), and a mark inside its encrypted database (``settings`` row ``store.kind = practice``)
written when it is created. So, by construction:

- a training session never opens the real store (another folder), and a real session never
  opens the practice one;
- the mark is checked every time a store is opened (:func:`settle_kind`): a real session
  refuses a store marked practice, and a training session refuses one that is not, before
  anything is written to it (:class:`WrongStoreKind`);
- a call marked practice at its source (``calls.model.Call.practice``) is never written into
  a real store, nor a real call into a practice one (:func:`refuses_call`);
- the real-records views (the shift report, the supervisor's report) refuse a practice store
  with a clear error (:func:`require_real`, :class:`PracticeRecordsRefused`) instead of
  counting practice calls as real work.

The post-call summary, which the debrief shows, reads a practice store as it reads any.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from core.errors import StorageError
from core.i18n import _

log = logging.getLogger(__name__)

#: the practice store's folder under the profile's data folder
PRACTICE_DIR = "practice"
#: the settings row that marks a store's kind
KIND_SETTING = "store.kind"
PRACTICE = "practice"


class PracticeRecordsRefused(StorageError):
    """Practice data reached a view of real records (a shift report, a supervisor report)."""

    exit_code = 65  # EX_DATAERR


class WrongStoreKind(StorageError):
    """A real session found a practice store, or a training session a real one."""

    exit_code = 65


def data_dir_for(data_dir: Path, training: bool) -> Path:
    """Where a session's store lives: the profile's data folder, or its practice folder."""
    return Path(data_dir) / PRACTICE_DIR if training else Path(data_dir)


def is_practice(store: Any) -> bool:
    """Whether the open :class:`storage.store.CaseStore` is marked practice."""
    rows = store._read("SELECT value FROM settings WHERE key=?", (KIND_SETTING,))  # noqa: SLF001 - the store's own package
    return bool(rows) and rows[0][0] == PRACTICE


def settle_kind(store: Any, *, created: bool, training: bool) -> None:
    """Mark a store created by a training session; check any other store's mark against
    the session. Raises :class:`WrongStoreKind` (the caller closes the store)."""
    if created:
        if training:

            def mark(db: Any) -> None:
                db.execute(
                    "INSERT OR REPLACE INTO settings(key, value) VALUES (?, ?)",
                    (KIND_SETTING, PRACTICE),
                )

            store._write(mark, "store kind")  # noqa: SLF001 - the store's own package
            store.audit("store.practice", "*")
        return
    practice = is_practice(store)
    if practice and not training:
        raise WrongStoreKind(
            _(
                "This case store holds practice calls from training mode: it cannot be opened "
                "as your real case store."
            ),
            hint=_("Open it with faro training, or restore your real store from its backup."),
        )
    if training and not practice:
        raise WrongStoreKind(
            _("This is a real case store: training mode never opens real records."),
            hint=_("Training keeps its practice calls in a separate practice store."),
        )


def require_real(store: Any, view: str) -> None:
    """Refuse practice data in a view of real records (``view``: its name, translated)."""
    if is_practice(store):
        raise PracticeRecordsRefused(
            _(
                "The {view} shows real records only: this is the practice store of training "
                "mode, and practice calls never count as real work."
            ).format(view=view)
        )


def refuses_call(call: Any, training: bool) -> bool:
    """True (logged) when a call's practice mark does not match the store's kind: it is
    not written there."""
    practice = bool(getattr(call, "practice", False))
    if practice == training:
        return False
    log.error(
        "a %s call was refused by the %s store",
        "practice" if practice else "real",
        "practice" if training else "real",
    )
    return True
