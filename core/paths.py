"""Where Faro keeps its files.

By default the platform directories (XDG on Linux). ``FARO_HOME`` puts everything under one
folder instead: tests, the demo and kiosk profiles use it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from core.errors import NotWritable
from core.i18n import _

APP = "faro"
PRIVATE_DIR_MODE = 0o700


def make_private_dir(path: Path) -> Path:
    """Create ``path`` and every missing parent with mode 0700, whatever the umask (a plain
    ``mkdir(parents=True, mode=0o700)`` gives the parents 0777 & ~umask, and the mode is
    masked too). Folders that already exist are left as they are. Raises
    :class:`NotWritable` if a folder cannot be made (disk full, read-only)."""
    path = Path(path)
    missing = []
    for p in (path, *path.parents):
        if p.is_dir():
            break
        missing.append(p)
    for p in reversed(missing):
        try:
            os.mkdir(p, PRIVATE_DIR_MODE)
        except FileExistsError:
            if not p.is_dir():
                raise NotWritable(
                    _("Cannot create the folder {path}: a file of that name is in the way.").format(
                        path=p
                    )
                ) from None
            continue
        except OSError as exc:
            raise NotWritable(
                _("Cannot create the folder {path}: {reason}.").format(path=p, reason=exc.strerror)
            ) from None
        os.chmod(p, PRIVATE_DIR_MODE)
    return path


@dataclass(frozen=True)
class Paths:
    config_dir: Path
    data_dir: Path
    state_dir: Path

    @property
    def config_file(self) -> Path:
        return self.config_dir / "faro.toml"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "log"

    def ensure(self) -> Paths:
        """Create Faro's folders (and a missing ``FARO_HOME``), each 0700."""
        for d in (self.config_dir, self.data_dir, self.state_dir, self.log_dir):
            make_private_dir(d)
        return self

    @classmethod
    def under(cls, home: Path) -> Paths:
        home = Path(home)
        return cls(home / "config", home / "data", home / "state")

    @classmethod
    def default(cls) -> Paths:
        home = os.environ.get("FARO_HOME")
        if home:
            return cls.under(Path(home))
        return cls(
            Path(platformdirs.user_config_dir(APP)),
            Path(platformdirs.user_data_dir(APP)),
            Path(platformdirs.user_state_dir(APP)),
        )
