"""Child processes that die with Faro, even when Faro is killed with SIGKILL.

``faro demo`` starts helpers (an embedded Mosquitto, for one). When the console ends
normally it stops them by their PID; when it crashes or is killed, nothing runs to stop
them, and a broker left behind keeps a port, a folder and stale retained messages. So every
child is started with ``PR_SET_PDEATHSIG``: the kernel sends it SIGKILL the moment the thread
that started it exits, whatever killed that thread. Each child also gets a process group of
its own, so that Ctrl+C in the terminal reaches only Faro, which then stops its children in
order.

The kernel ties the signal to the *thread* that forked, so call :func:`spawn` from a thread
that lives as long as the child should (the main thread, in the console). The setting
survives ``exec`` but not a change of user: a child that drops privileges (Mosquitto
started as root without ``user root``) loses it.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from typing import Any

_PR_SET_PDEATHSIG = 1


def _libc_prctl() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    return ctypes.CDLL(None, use_errno=True).prctl


_prctl = _libc_prctl()


def _die_with(parent: int) -> None:  # runs in the child, between fork and exec
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)


def spawn(argv: list[str], **popen_kwargs: Any) -> subprocess.Popen:
    """``subprocess.Popen(argv, …)`` for a child that must not outlive this process."""
    if "preexec_fn" in popen_kwargs:
        raise TypeError("spawn() sets preexec_fn itself")
    parent = os.getpid()
    popen_kwargs.setdefault("process_group", 0)
    return subprocess.Popen(argv, preexec_fn=lambda: _die_with(parent), **popen_kwargs)


def stop(proc: subprocess.Popen, timeout: float = 5.0) -> int | None:
    """Stop a child started by :func:`spawn`: SIGTERM, then SIGKILL after ``timeout``."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
    return proc.returncode
