"""Child processes for the case store's crash tests and reliability benchmark.

They run in a ``forkserver`` context with the storage modules preloaded, so each child
starts in milliseconds, and are killed with SIGKILL by the parent.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
from dataclasses import dataclass
from pathlib import Path

FAST = {"storage.unlock_target_ms": 1, "security.lock_idle_minutes": 0, "storage.auto_purge": False}
PRELOAD = [
    "storage.service",
    "storage.store",
    "core.config",
    "core.clock",
    "tests.support.storage_children",
]


def context() -> multiprocessing.context.BaseContext:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    return ctx


def _service(data_dir: str, overrides: dict | None = None):
    from core.clock import SystemClock
    from core.config import Config
    from core.events import EventBus
    from storage.service import StoreService

    return StoreService(
        Config({**FAST, **(overrides or {})}), SystemClock(), EventBus(), Path(data_dir)
    )


def typist(
    data_dir: str, passphrase: str, contact_id: str, text: str, rate_hz: float, conn
) -> None:
    """Unlock, then type ``text`` one keystroke at a time, reporting each keystroke's time."""
    svc = _service(data_dir)
    svc.unlock(passphrase)
    conn.send(("ready", time.monotonic()))
    t0 = time.monotonic()
    for i in range(1, len(text) + 1):
        svc.draft(contact_id, text[:i])
        conn.send((i, time.monotonic()))
        delay = t0 + i / rate_hz - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    conn.send(("done", time.monotonic()))
    time.sleep(60)  # wait to be killed


def rekeyer(data_dir: str, passphrase: str, conn) -> None:
    svc = _service(data_dir)
    conn.send(("ready", time.monotonic()))
    n = 0
    while True:
        svc.rekey(passphrase)
        n += 1
        conn.send(("rekeyed", n))


@dataclass
class KillResult:
    typed_at: list[tuple[int, float]]  # (chars typed, monotonic time) per keystroke
    killed_at: float
    saved: str
    check_ok: bool
    problems: list[str]
    wal_damaged: bool = False  # what storage.wal made of the WAL the kill left


def text_for(seed: int, n: int = 400) -> str:
    rnd = random.Random(seed)
    words = [
        "la",
        "persona",
        "llama",
        "angustiada",
        "dice",
        "que",
        "no",
        "duerme",
        "hermana",
        "plan",
        "seguridad",
        "noche",
        "trabajo",
        "miedo",
        "ayuda",
        "mañana",
    ]
    out = []
    while sum(len(w) + 1 for w in out) < n:
        out.append(rnd.choice(words))
    return " ".join(out)[:n]


def kill_while_typing(
    ctx,
    data_dir: Path,
    key: bytearray,
    passphrase: str,
    contact_id: str,
    text: str,
    rate_hz: float,
    kill_after: float,
) -> KillResult:
    """Start a typist, SIGKILL it ``kill_after`` s after its first keystroke, then reopen."""
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(
        target=typist,
        args=(str(data_dir), passphrase, contact_id, text, rate_hz, child),
        daemon=True,
    )
    proc.start()
    child.close()
    if not parent.poll(30):
        proc.kill()
        raise RuntimeError("typist did not start")
    parent.recv()
    time.sleep(kill_after)
    killed_at = time.monotonic()
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(10)
    typed: list[tuple[int, float]] = []
    while parent.poll(0):
        try:
            msg = parent.recv()
        except EOFError:
            break
        if isinstance(msg[0], int):
            typed.append(msg)
    parent.close()
    return _inspect(data_dir, key, contact_id, typed, killed_at)


def _inspect(data_dir: Path, key: bytearray, contact_id: str, typed, killed_at) -> KillResult:
    from storage import database, wal

    path = Path(data_dir) / "cases.db"
    found = wal.scan(path)
    db = database.connect(path, key, migrate=False, scan_wal=False)
    try:
        report = database.check(db)
        row = db.execute("SELECT text FROM notes WHERE contact_id=?", (contact_id,)).fetchone()
    finally:
        db.close()
    return KillResult(
        typed, killed_at, row[0] if row else "", report.ok, report.lines(), found.damaged
    )


def lost_seconds(result: KillResult, text: str) -> float:
    """How much typing (in seconds before the kill) is missing from what was saved."""
    n = len(result.saved)
    assert text.startswith(result.saved), "saved text is not what was typed"
    later = [t for i, t in result.typed_at if i > n]
    if not later:
        return 0.0
    return result.killed_at - min(later)
