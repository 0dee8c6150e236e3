"""Process and file hardening: no core dumps, private files written atomically, key wiping."""

from __future__ import annotations

import ctypes
import logging
import os
import resource
import threading
from pathlib import Path

log = logging.getLogger(__name__)

PR_SET_DUMPABLE = 4
_done = False


def disable_core_dumps() -> None:
    """No core file and no ptrace by other users' processes: secrets never hit a dump."""
    global _done
    if _done:
        return
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ValueError, OSError):
        log.warning("could not disable core dumps (RLIMIT_CORE)")
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
            log.warning("prctl(PR_SET_DUMPABLE) failed: errno %d", ctypes.get_errno())
    except (OSError, AttributeError):
        log.warning("prctl is not available")
    _done = True


def wipe(buf: bytearray | None) -> None:
    """Overwrite a secret we hold."""
    if buf is not None:
        for i in range(len(buf)):
            buf[i] = 0


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_private(tmp: Path, data: bytes) -> None:
    """Write ``data`` to the new file ``tmp``: mode 0600 before the first byte (whatever the
    umask), every byte, fsync; on any failure the partial file is removed and the error
    raised (ENOSPC, EROFS… for the caller to tell apart)."""
    tmp.unlink(missing_ok=True)  # left by a dead process that had our pid
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)


def atomic_write(path: Path, data: bytes, *, exclusive: bool = False) -> None:
    """Write ``data`` to ``path`` atomically: a 0600 temp file (mode set before the first
    byte), fsync, rename over, fsync the directory. ``exclusive``: link instead of rename,
    so an existing file is never replaced (``FileExistsError``)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    write_private(tmp, data)
    if exclusive:
        try:
            os.link(tmp, path)
        finally:
            tmp.unlink()
    else:
        try:
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    fsync_dir(path.parent)


def create_private(path: Path) -> None:
    """Create an empty 0600 file (fails if it exists)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.fchmod(fd, 0o600)
    os.close(fd)


def tighten(*paths: Path) -> None:
    """chmod 0600 on the files that exist (database, -wal, -shm)."""
    for p in paths:
        try:
            os.chmod(p, 0o600)
        except FileNotFoundError:
            pass
