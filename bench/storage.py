"""Benchmark of the case store against raw sqlcipher3, in one run.

    /tmp/venv/bin/python -m bench.storage [--notes 100000] [--kills 200] [--quick]

Measures, on the same machine and in the same run:
- autosave: the GUI-thread cost of ``draft()`` per keystroke (also while the writer thread
  is stuck: a keystroke never waits for the disk), and ``draft()`` until the
  writer thread has committed it, against the one raw sqlcipher3 upsert (autocommit) a minimal
  autosave needs, same text, same PRAGMAs (cipher_memory_security, secure_delete, WAL,
  synchronous=FULL), interleaved; plus the search-index refresh a typing pause triggers;
- search over N notes: ``StoreService.search`` against a raw FTS5 MATCH + snippet + rank;
- unlock time (Argon2id tuned to ~0.5 s) against opening the raw database;
- reliability: SIGKILL while a child process types, K times: integrity and lost typing.
Writes bench/results/storage.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import sqlcipher3

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.clock import SystemClock  # noqa: E402
from core.config import Config  # noqa: E402
from core.events import EventBus  # noqa: E402
from storage import database  # noqa: E402
from storage.keys import sqlcipher_key_literal  # noqa: E402
from storage.search import fts_query  # noqa: E402
from storage.service import StoreService  # noqa: E402

PASS = "benchmark passphrase"
WORDS = (
    "la persona llama angustiada dice que no duerme hermana plan seguridad noche trabajo "
    "miedo ayuda mañana familia escuela médico policía vecino casa dinero deuda pareja "
    "violencia alcohol pastillas hospital amigo perro madre padre hijo hija calle frío "
    "trabajo jefe despido soledad tristeza rabia llanto respiración calma música"
).split()


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def text(rnd: random.Random, n: int) -> str:
    return " ".join(rnd.choice(WORDS) for _ in range(n))


def service(d: Path, fast: bool = False, extra: dict | None = None) -> StoreService:
    cfg = {"security.lock_idle_minutes": 0, "storage.auto_purge": False, **(extra or {})}
    if fast:
        cfg["storage.unlock_target_ms"] = 1
    return StoreService(Config(cfg), SystemClock(), EventBus(), d)


def raw_open(path: Path, key: bytearray) -> sqlcipher3.Connection:
    """A raw sqlcipher3 connection with the store's PRAGMAs (nothing else)."""
    db = sqlcipher3.connect(str(path), isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA cipher_memory_security = ON")
    db.execute(f"PRAGMA key = {sqlcipher_key_literal(key)}")
    db.execute("PRAGMA secure_delete = ON")
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    return db


RAW_UPSERT = (
    "INSERT INTO notes(contact_id, text, updated_at) VALUES ('c1', ?, ?) "
    "ON CONFLICT(contact_id) DO UPDATE SET text=excluded.text, "
    "updated_at=excluded.updated_at"
)


def bench_autosave(work: Path, n: int) -> dict:
    """Interleaved, one sample each per round, so both sides see the same machine noise.

    Faro: ``StoreService.draft()`` on this thread until the writer thread has committed it
    (timed in the ``AutosaveState(saved)`` listener, so the hand-over to the writer, the
    commit and the event are all inside). Autosave interval 0 and index pause 1 s: the
    commits come back to back like continuous typing, so no index refresh interferes.
    Raw: the one upsert a minimal autosave needs, autocommit, on this thread.
    """
    from storage.events import SAVED, AutosaveState

    d = work / "autosave"
    d.mkdir()
    svc = service(d, fast=True, extra={"storage.autosave_interval_ms": 0})
    svc.init(PASS)
    rnd = random.Random(1)
    note = text(rnd, 300)

    def keystrokes(contact: str, pause_every: int = 0) -> list[float]:
        """GUI-thread cost of each of n keystrokes."""
        took = []
        for i in range(1, n + 1):
            t0 = time.perf_counter()
            svc.draft(contact, note[: i % len(note) + 1])
            took.append(time.perf_counter() - t0)
            if pause_every and i % pause_every == 0:
                time.sleep(0.002)
        return took

    ui = keystrokes("typing", pause_every=20)
    svc.flush()
    # the same with the writer thread stuck (a slow disk): a keystroke never waits for it
    gate = threading.Event()
    svc.vault.store.writer.submit(lambda db: gate.wait(60))
    stuck = keystrokes("stuck")
    gate.set()
    svc.flush()
    saved = threading.Event()
    done_at = [0.0]

    class Listener:
        def on_state(self, e: AutosaveState) -> None:
            if e.state == SAVED and e.contact_id == "c1":
                done_at[0] = time.perf_counter()
                saved.set()

    listener = Listener()
    svc.bus.subscribe(AutosaveState, listener.on_state)
    key = bytearray(svc.vault.key)
    raw = raw_open(work / "raw-autosave.db", key)
    raw.execute(
        "CREATE TABLE notes(contact_id TEXT PRIMARY KEY, text TEXT NOT NULL, "
        "updated_at TEXT NOT NULL)"
    )
    svc.draft("c1", "first")  # the contact row exists from here on, like a call in progress
    svc.flush()
    raw.execute(RAW_UPSERT, ("first", "x"))
    ours, raws = [], []
    for i in range(n):
        body = note[: 200 + i % 1500] + str(i)
        saved.clear()
        t0 = time.perf_counter()
        svc.draft("c1", body)
        if not saved.wait(10):
            raise RuntimeError("autosave did not complete")
        ours.append(done_at[0] - t0)
        t0 = time.perf_counter()
        raw.execute(RAW_UPSERT, (body, "2026-01-01T00:00:00"))
        raws.append(time.perf_counter() - t0)
    # the search-index refresh after a typing pause (writer thread, off the keystroke path):
    # from asking for it until it is committed
    idx_full = []
    for i in range(max(50, n // 10)):
        body = note[: 200 + (i * 7) % 1500] + "refresh" + str(i)
        saved.clear()
        svc.draft("c1", body)
        saved.wait(10)
        t0 = time.perf_counter()
        svc.vault.store.writer.refresh_index(10)
        idx_full.append(time.perf_counter() - t0)
    raw.close()
    svc.lock()
    return {"ui": ui, "ui_stuck": stuck, "ours": ours, "raw": raws, "index": idx_full}


def bench_search(work: Path, notes: int, queries: int) -> dict:
    d = work / "search"
    d.mkdir()
    svc = service(d, fast=True)
    svc.init(PASS)
    rnd = random.Random(2)
    texts = [text(rnd, 40) for _ in range(notes)]
    store = svc.vault.store
    t0 = time.perf_counter()

    def bulk(db):
        db.executemany(
            "INSERT INTO contacts(id, channel, rung_at, updated_at) VALUES (?, 'phone', ?, 'x')",
            ((f"c{i}", f"2026-01-01T00:{i % 60:02d}") for i in range(notes)),
        )
        db.executemany(
            "INSERT INTO notes(contact_id, text, updated_at) VALUES (?, ?, 'x')",
            ((f"c{i}", t) for i, t in enumerate(texts)),
        )

    store.writer.call(bulk)
    build_rows = time.perf_counter() - t0
    t0 = time.perf_counter()
    indexed = store.writer.call(store.index_in)
    build_ours = time.perf_counter() - t0
    assert indexed == notes
    key = bytearray(svc.vault.key)
    raw = raw_open(work / "raw-search.db", key)
    t0 = time.perf_counter()
    raw.execute(
        "CREATE VIRTUAL TABLE fts USING fts5(text, tokenize='unicode61 remove_diacritics 2')"
    )
    raw.execute("BEGIN")
    raw.executemany("INSERT INTO fts(rowid, text) VALUES (?, ?)", enumerate(texts))
    raw.execute("COMMIT")
    build_raw = time.perf_counter() - t0
    qs = [" ".join(rnd.sample(WORDS, 2)) for _ in range(queries)]
    ours, raws = [], []
    for q in qs:  # interleaved, so both see the same machine noise
        t0 = time.perf_counter()
        hits = svc.search(q)
        ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        rows = raw.execute(
            "SELECT rowid, snippet(fts, 0, '[', ']', '…', 12) FROM fts "
            "WHERE fts MATCH ? ORDER BY rank LIMIT 50",
            (fts_query(q),),
        ).fetchall()
        raws.append(time.perf_counter() - t0)
        assert len(hits) == len(rows)
    raw.close()
    svc.lock()
    return {
        "ours": ours,
        "raw": raws,
        "build_ours": build_ours,
        "build_raw": build_raw,
        "build_rows": build_rows,
    }


def bench_unlock(work: Path, rounds: int) -> dict:
    d = work / "unlock"
    d.mkdir()
    svc = service(d)  # default target: ~0.5 s
    svc.init(PASS)
    key = bytearray(svc.vault.key)
    svc.lock()
    ours, raws = [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        svc.unlock(PASS)
        ours.append(time.perf_counter() - t0)
        svc.lock()
        t0 = time.perf_counter()
        db = database.connect(svc.db_path, key, migrate=False)
        db.close()
        raws.append(time.perf_counter() - t0)
    from storage.keys import KeyFile

    kdf = KeyFile.load(svc.key_path).kdf
    return {"ours": ours, "raw": raws, "kdf": kdf}


def bench_kills(work: Path, kills: int) -> dict:
    from tests.support import storage_children as kids
    from tests.support.storage_helpers import data_key

    lanes = []
    for n in range(4):
        d = work / f"kill{n}"
        d.mkdir()
        svc = service(d, fast=True)
        svc.init(PASS)
        svc.lock()
        lanes.append((d, data_key(d, PASS)))
    ctx = kids.context()
    rnd = random.Random(4)
    from concurrent.futures import ThreadPoolExecutor

    lost, bad = [], 0
    with ThreadPoolExecutor(len(lanes)) as pool:
        for r in range((kills + len(lanes) - 1) // len(lanes)):
            futs = []
            for n, (d, key) in enumerate(lanes):
                t = kids.text_for(r * 10 + n)
                futs.append(
                    (
                        t,
                        pool.submit(
                            kids.kill_while_typing,
                            ctx,
                            d,
                            key,
                            PASS,
                            f"k{r}",
                            t,
                            40.0,
                            rnd.uniform(1.1, 2.0),
                        ),
                    )
                )
            for t, f in futs:
                res = f.result()
                bad += not res.check_ok
                lost.append(kids.lost_seconds(res, t))
    return {"kills": len(lost), "bad": bad, "lost": lost}


def ms(x: float) -> str:
    return f"{x * 1000:.3f} ms"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notes", type=int, default=100_000)
    ap.add_argument("--kills", type=int, default=200)
    ap.add_argument("--keystrokes", type=int, default=2000)
    ap.add_argument("--quick", action="store_true", help="small sizes, results not written")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "storage.md")
    args = ap.parse_args(argv)
    if args.quick:
        args.notes, args.kills, args.keystrokes = 5000, 8, 300
    work = Path(tempfile.mkdtemp(prefix="faro-bench-storage-"))
    try:
        t_all = time.perf_counter()
        a = bench_autosave(work, args.keystrokes)
        s = bench_search(work, args.notes, 200)
        u = bench_unlock(work, 5)
        k = bench_kills(work, args.kills)
        total = time.perf_counter() - t_all
    finally:
        shutil.rmtree(work, ignore_errors=True)
    r_p50 = pct(a["ours"], 50) / pct(a["raw"], 50)
    r_p99 = pct(a["ours"], 99) / pct(a["raw"], 99)
    s_ratio = statistics.median(s["ours"]) / statistics.median(s["raw"])
    s_p95 = pct(s["ours"], 95) / pct(s["raw"], 95)
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in open("/proc/cpuinfo")
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    lines = [
        "# Case store benchmark",
        "",
        f"Machine: {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"SQLCipher {sqlcipher3.connect(':memory:').execute('PRAGMA cipher_version').fetchone()[0]} "
        f"(SQLite {sqlcipher3.sqlite_version}). Shared, noisy CI-class VM; "
        f"run took {total:.0f} s. Command: `python -m bench.storage`"
        + (" --quick" if args.quick else "")
        + ".",
        "",
        "## Autosave (target: p99 within 1.5x of a raw insert)",
        "",
        f"{len(a['ours'])} autosaves of the same note (200–1700 characters, growing), Faro and "
        "raw interleaved one by one in the same process so both see the same machine noise. "
        "Both databases: SQLCipher with a raw 256-bit key, `cipher_memory_security = ON`, "
        "`secure_delete = ON`, `journal_mode = WAL`, `synchronous = FULL` (one WAL fsync per "
        "commit), same file system.",
        "",
        "- **Faro**: `StoreService.draft(contact, text)` called on the benchmark thread, until "
        "the writer thread has committed it — timed in the `AutosaveState(saved)` listener, so "
        "the hand-over to the writer thread, the commit and the event publication are inside. "
        "The commit is the one upsert of `notes` (text, dirty, `indexed = 0`, updated_at; "
        "autocommit, no search-index work: the index is refreshed on a typing pause, see "
        "below). `storage.autosave_interval_ms = 0` so no deliberate coalescing delay is "
        "counted; the contact row already exists (a call in progress).",
        "- **raw**: `INSERT INTO notes(contact_id, text, updated_at) VALUES (…) ON CONFLICT"
        "(contact_id) DO UPDATE SET text=…, updated_at=…` in autocommit on a raw `sqlcipher3` "
        "connection, called on the benchmark thread.",
        "",
        "| measure | p50 | p99 | ratio p50 | ratio p99 |",
        "|---|---|---|---|---|",
        f"| `draft()` on the GUI thread alone ({len(a['ui'])} keystrokes) | {ms(pct(a['ui'], 50))} | "
        f"{ms(pct(a['ui'], 99))} | {pct(a['ui'], 50) / pct(a['raw'], 50):.3f} | "
        f"{pct(a['ui'], 99) / pct(a['raw'], 99):.3f} |",
        f"| `draft()` on the GUI thread, writer thread stuck ({len(a['ui_stuck'])} keystrokes) | "
        f"{ms(pct(a['ui_stuck'], 50))} | {ms(pct(a['ui_stuck'], 99))} | "
        f"{pct(a['ui_stuck'], 50) / pct(a['raw'], 50):.3f} | "
        f"{pct(a['ui_stuck'], 99) / pct(a['raw'], 99):.3f} |",
        f"| **Faro autosave**: `draft()` → writer thread → committed | "
        f"{ms(pct(a['ours'], 50))} | {ms(pct(a['ours'], 99))} | **{r_p50:.2f}** | **{r_p99:.2f}** |",
        f"| raw sqlcipher3 upsert, autocommit | "
        f"{ms(pct(a['raw'], 50))} | {ms(pct(a['raw'], 99))} | 1 | 1 |",
        f"| search-index refresh of that note after a typing pause (writer thread, own "
        f"transaction; not on the keystroke path) | {ms(pct(a['index'], 50))} | "
        f"{ms(pct(a['index'], 99))} | | |",
        "",
        f"Target p99 ≤ 1.5x: **{'met' if r_p99 <= 1.5 else 'NOT met'}** ({r_p99:.2f}x).",
        "",
        f"## Search over {args.notes:,} notes (target: within 1.2x of raw FTS5)",
        "",
        "| measure | median | p95 | ratio median | ratio p95 |",
        "|---|---|---|---|---|",
        f"| `StoreService.search` (FTS5 + join to contacts + snippet + rank, 50 hits) | "
        f"{ms(statistics.median(s['ours']))} | {ms(pct(s['ours'], 95))} | {s_ratio:.2f} | {s_p95:.2f} |",
        f"| raw FTS5 MATCH + snippet + rank, 50 hits | {ms(statistics.median(s['raw']))} | "
        f"{ms(pct(s['raw'], 95))} | 1 | 1 |",
        "",
        f"Index build for {args.notes:,} notes: store {s['build_ours']:.1f} s (one index "
        f"refresh of every unindexed note: `INSERT INTO notes_fts … SELECT … WHERE indexed=0` "
        f"+ flag update, one transaction; the {args.notes:,} contact and note rows took "
        f"{s['build_rows']:.1f} s before it), raw {s['build_raw']:.1f} s (FTS5 insert of the "
        f"same texts, one transaction).",
        "",
        "## Unlock",
        "",
        f"Argon2id m={u['kdf'].memory_kib} KiB, t={u['kdf'].time_cost}, p={u['kdf'].parallelism} "
        f"(tuned at init for ~0.5 s). Unlock median {ms(statistics.median(u['ours']))} "
        f"(min {ms(min(u['ours']))}, max {ms(max(u['ours']))}); opening the raw database with "
        f"the unwrapped key: {ms(statistics.median(u['raw']))}.",
        "",
        "## Reliability: SIGKILL while typing",
        "",
        f"{k['kills']} kills of a child typing 40 keystrokes/s (4 in parallel): "
        f"{k['kills'] - k['bad']} passed integrity_check + cipher_integrity_check + audit chain "
        f"({k['bad']} failed). Typing lost: max {max(k['lost']):.3f} s, "
        f"p99 {pct(k['lost'], 99):.3f} s, median {statistics.median(k['lost']):.3f} s "
        f"(limit 1 s; autosave interval 200 ms).",
        "",
    ]
    report = "\n".join(lines)
    print(report)
    if not args.quick:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(report)
    return 0 if k["bad"] == 0 and max(k["lost"]) <= 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
