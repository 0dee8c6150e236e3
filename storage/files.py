"""The store's files in a profile: ``cases.db`` (+ ``-wal``, ``-shm``) and ``cases.key``.

What is on disk and what is missing, told apart before anything is opened or created.
"""

from __future__ import annotations

from pathlib import Path

from core.i18n import _
from storage import database
from storage.errors import AlreadyInitialised, NotInitialised, StoreDamaged, restore_hint

DB_NAME = "cases.db"
KEY_NAME = "cases.key"


class StoreFiles:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.db_path = self.data_dir / DB_NAME
        self.key_path = self.data_dir / KEY_NAME

    def is_initialised(self) -> bool:
        return self.key_path.exists() and self.db_path.exists()

    def has_db_files(self) -> bool:
        """The database or one of its side files (-wal, -shm) is there."""
        return any(p.exists() for p in database.side_files(self.db_path))

    def has_any(self) -> bool:
        return self.is_initialised() or self.has_db_files() or self.key_path.exists()

    def require(self) -> None:
        """Both the key file and the database, or say exactly which one is missing."""
        has_key, has_db = self.key_path.exists(), self.has_db_files()
        if not has_key and not has_db:
            raise NotInitialised()
        if not has_key:
            raise StoreDamaged(
                _("The key file {key} is missing, so the database {db} cannot be opened.").format(
                    key=self.key_path.name, db=self.db_path.name
                ),
                hint=restore_hint(),
            )
        if not self.db_path.exists():
            raise StoreDamaged(
                _("The database {db} is missing (its key file {key} is there).").format(
                    key=self.key_path.name, db=self.db_path.name
                ),
                hint=restore_hint(),
            )

    def refuse_existing(self) -> None:
        """Raise :class:`AlreadyInitialised` (naming what is there) unless the profile holds
        no store file at all."""
        has_key, has_db = self.key_path.exists(), self.has_db_files()
        key, db, folder = self.key_path.name, self.db_path.name, self.data_dir
        if has_key and has_db:
            raise AlreadyInitialised(
                _("This laptop already has a case store."),
                hint=_("Use 'faro db passwd' to change the passphrase."),
            )
        if has_key:
            raise AlreadyInitialised(
                _(
                    "The key file {key} is here but the database {db} is missing. Nothing was "
                    "changed: a new store would replace that key and make the notes unreadable "
                    "for good."
                ).format(key=key, db=db),
                hint=_(
                    "Put {db} back if it was moved, or restore the latest backup: move the "
                    "folder {folder} aside (keep it), then run 'faro db restore "
                    "BACKUP'."
                ).format(db=db, folder=folder),
            )
        if has_db:
            raise AlreadyInitialised(
                _(
                    "The database {db} is here but its key file {key} is missing. Nothing was "
                    "changed."
                ).format(key=key, db=db),
                hint=_(
                    "Put {key} back if it was moved, or restore the latest backup: move the "
                    "folder {folder} aside (keep it), then run 'faro db restore "
                    "BACKUP'."
                ).format(key=key, folder=folder),
            )
