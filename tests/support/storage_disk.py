"""A real, tiny disk that fills up: a tmpfs mounted for one test (needs root, as CI has).

``SmallDisk(path, size).mount()`` mounts it; ``fill()`` writes a filler file until the
kernel answers ENOSPC; ``free()`` deletes it; ``unmount()`` cleans up (lazily if a child
still holds a file). Tests skip, saying why, only when mounting is impossible here.
"""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path


class MountImpossible(Exception):
    pass


class SmallDisk:
    def __init__(self, path: Path, size_bytes: int = 16 * 1024 * 1024) -> None:
        self.path = Path(path)
        self.size = size_bytes
        self.filler = self.path / ".filler"
        self.mounted = False

    def mount(self) -> SmallDisk:
        self.path.mkdir(parents=True, exist_ok=True)
        if os.geteuid() != 0:
            raise MountImpossible("mounting a tmpfs needs root (CI runs as root)")
        r = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={self.size},mode=0755", "tmpfs", str(self.path)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if r.returncode != 0:
            raise MountImpossible(f"mount -t tmpfs failed: {r.stderr.strip()}")
        self.mounted = True
        return self

    def fill(self, leave_bytes: int = 0) -> None:
        """Write until ENOSPC, then give back ``leave_bytes`` (0: the disk is full)."""
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        block = b"\0" * 65536
        try:
            while True:
                try:
                    os.write(fd, block)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    if len(block) == 1:
                        break
                    block = block[: len(block) // 2]
        finally:
            os.close(fd)
        if leave_bytes:
            os.truncate(self.filler, max(0, self.filler.stat().st_size - leave_bytes))

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)

    def unmount(self) -> None:
        if not self.mounted:
            return
        r = subprocess.run(["umount", str(self.path)], capture_output=True, timeout=30)
        if r.returncode != 0:
            subprocess.run(["umount", "-l", str(self.path)], capture_output=True, timeout=30)
        self.mounted = False
