"""Reading the ``-wal`` file ourselves, before SQLite does, to find damaged frames.

When SQLite opens a database after a crash it replays the write-ahead log frame by frame
and stops, without a word, at the first frame whose checksum is wrong: every transaction
after it is dropped, and the next checkpoint overwrites them for good. So before a store is
opened, :func:`scan` walks the frames (SQLite's documented format: a 32-byte header, then
frames of a 24-byte header and one page; checksums are cumulative and salted) and tells
"a damaged frame with committed transactions after it" (saved changes SQLite would drop)
from the normal leftovers of crashes (frames of an older generation, a torn last write).
:func:`preserve` then copies the WAL aside, byte for byte, for support; nothing deletes it.

Only page data and headers are read; pages are SQLCipher-encrypted, nothing is decrypted.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from pathlib import Path

from storage.hardening import atomic_write

HEADER = 32
FRAME_HEADER = 24
MAGIC = (0x377F0682, 0x377F0683)  # low bit: checksums over big-endian words
PRESERVED = ".damaged-"


@dataclass(frozen=True)
class WalScan:
    frames: int  # whole frames in the file
    valid: int  # frames SQLite will replay (up to the first bad one)
    damaged_frame: int  # 1-based frame at which replay stops (0: none)
    lost_commits: int  # committed transactions after it that SQLite would drop
    fingerprint: str = ""  # identifies the lost frames (one copy per distinct damage)

    @property
    def damaged(self) -> bool:
        return self.lost_commits > 0


CLEAN = WalScan(0, 0, 0, 0)


def _checksum(data: bytes, big_endian: bool, s1: int, s2: int) -> tuple[int, int]:
    words = struct.unpack((">" if big_endian else "<") + f"{len(data) // 4}I", data)
    m = 0xFFFFFFFF
    it = iter(words)
    for x0 in it:
        x1 = next(it)
        s1 = (s1 + x0 + s2) & m
        s2 = (s2 + x1 + s1) & m
    return s1, s2


def scan(db_path: Path) -> WalScan:
    """What SQLite would make of ``db_path``'s WAL. A missing or short WAL is clean. Reads
    frame by frame (a WAL can be large, and another process may truncate it meanwhile)."""
    wal = Path(str(db_path) + "-wal")
    try:
        f = open(wal, "rb")
    except FileNotFoundError:
        return CLEAN
    with f:
        header = f.read(HEADER)
        if len(header) < HEADER:
            return CLEAN
        magic, _version, page_size, _ckpt, salt1, salt2, c1, c2 = struct.unpack(">8I", header)
        if magic not in MAGIC or page_size < 512 or page_size & (page_size - 1):
            return CLEAN  # not a WAL header SQLite would use either: it starts a new log
        big = bool(magic & 1)
        if _checksum(header[:24], big, 0, 0) != (c1, c2):
            return CLEAN  # SQLite ignores such a log entirely (nothing in it was ever valid)
        size = FRAME_HEADER + page_size
        seed = (c1, c2)
        count = 0
        bad = -1  # 0-based index of the first frame SQLite rejects
        bad_commit = False
        lost = 0
        lost_frames = hashlib.sha256()
        while len(raw := f.read(size)) == size:
            pgno, commit, fs1, fs2, k1, k2 = struct.unpack(">6I", raw[:FRAME_HEADER])
            ok = (
                pgno != 0
                and (fs1, fs2) == (salt1, salt2)
                and _checksum(raw[FRAME_HEADER:], big, *_checksum(raw[:8], big, *seed)) == (k1, k2)
            )
            if bad < 0 and not ok:
                bad, bad_commit = count, bool(commit)
            elif bad >= 0 and ok:
                # after the bad frame, frames that still chain from the stored checksums
                # were written after it in the same log: committed ones are saved changes
                # SQLite drops. A torn last write has nothing verifiable after it; frames
                # of an older log have other salts; leftovers of a transaction a crash cut
                # short never end in a valid commit frame.
                lost_frames.update(raw)
                lost += bool(commit)
            seed = (k1, k2)
            count += 1
    if bad < 0:
        return WalScan(count, count, 0, 0)
    if lost and bad_commit:
        lost += 1  # the damaged frame itself ended a transaction
    return WalScan(count, bad, bad + 1, lost, lost_frames.hexdigest()[:16] if lost else "")


def preserved_copies(db_path: Path) -> list[Path]:
    """Damaged WALs kept aside earlier (oldest first)."""
    prefix = Path(db_path).name + "-wal" + PRESERVED
    found = [p for p in Path(db_path).parent.iterdir() if p.name.startswith(prefix)]
    return sorted(found, key=lambda p: p.stat().st_mtime)


def preserve(db_path: Path, found: WalScan) -> Path:
    """Copy the damaged WAL aside (0600, fsynced) before SQLite replays and then discards
    it. One copy per distinct damage: a second open of the same damaged log reuses it.
    Raises OSError (disk full...): the caller must then not open the store."""
    wal = Path(str(db_path) + "-wal")
    target = wal.with_name(wal.name + PRESERVED + found.fingerprint)
    if not target.exists():
        atomic_write(target, wal.read_bytes())
    return target
