"""The search index follows autosave lazily: when typing pauses, at save, before a search,
at lock and at open — never inside the autosave commit — and purged notes leave nothing."""

from __future__ import annotations

import random
import threading
import time

import pytest

from core.config import Config
from storage import events as sev
from tests.support import storage_children as kids
from tests.support.storage_helpers import FAST, PASS, data_key, raw_connect
from tests.support.toolkit import Recorder, wait_until

NEVER_MS = 60_000  # an index pause no test waits for


def _service(make_service, pause_ms: int, **extra):
    svc = make_service(config=Config({**FAST, "storage.index_pause_ms": pause_ms, **extra}))
    svc.init(PASS)
    return svc


class Saved:
    """Drafts, then waits for AutosaveState(saved) of that contact (the commit happened,
    nothing flushed)."""

    def __init__(self, bus) -> None:
        self.rec = Recorder(bus, sev.AutosaveState)

    def draft(self, svc, contact: str, text: str) -> None:
        self.rec.clear()
        svc.draft(contact, text)
        self.rec.wait_event(
            sev.AutosaveState, lambda e: e.state == sev.SAVED and e.contact_id == contact, 10
        )


def _indexed(svc, contact: str) -> tuple[int, str | None]:
    """(notes.indexed, the text the index holds) read without asking the writer for anything."""
    [(nid, flag)] = svc.vault.store._read(
        "SELECT id, indexed FROM notes WHERE contact_id=?", (contact,)
    )
    row = svc.vault.store._read("SELECT text FROM notes_fts WHERE rowid=?", (nid,))
    return flag, row[0][0] if row else None


def test_autosave_commit_does_not_index_but_a_search_sees_it(make_service):
    svc = _service(make_service, NEVER_MS)
    saved = Saved(svc.bus)
    saved.draft(svc, "c1", "primera versión del texto")
    assert svc.search("primera")  # indexed before the search ran
    saved.draft(svc, "c1", "segunda versión con hermana")
    assert _indexed(svc, "c1") == (0, "primera versión del texto")  # commit left the index alone
    assert svc.vault.store._read("PRAGMA integrity_check") == [
        ("ok",)
    ]  # a lagging index is consistent
    hits = svc.search("hermana")
    assert [h.contact_id for h in hits] == ["c1"] and "<b>hermana</b>" in hits[0].html()
    assert svc.search("primera") == []  # never the stale text
    assert _indexed(svc, "c1") == (1, "segunda versión con hermana")


def test_a_typing_pause_refreshes_the_index_and_typing_does_not(make_service):
    svc = _service(make_service, 2000, **{"storage.autosave_interval_ms": 0})
    saved = Saved(svc.bus)
    saved.draft(svc, "c1", "base")
    assert svc.flush()  # flush indexes too
    assert _indexed(svc, "c1") == (1, "base")
    t_end = time.monotonic() + 1.0
    n = 0
    while time.monotonic() < t_end:  # continuous typing: the next keystroke once committed
        n += 1
        saved.draft(svc, "c1", "base" + " palabra" * n)
    assert svc.vault.store._read("SELECT count(*) FROM notes WHERE indexed=0") == [(1,)]
    assert _indexed(svc, "c1")[1] == "base", "the index was refreshed while typing went on"
    wait_until(lambda: _indexed(svc, "c1")[0] == 1, 10, what="a pause refreshing the index")
    assert _indexed(svc, "c1") == (1, "base" + " palabra" * n)


def test_save_and_lock_index_what_was_committed(make_service, data_dir):
    svc = _service(make_service, NEVER_MS)
    saved = Saved(svc.bus)
    saved.draft(svc, "a", "nota guardada al cerrar")
    assert svc.save_note("a") == 1
    assert _indexed(svc, "a") == (1, "nota guardada al cerrar")  # same transaction as the version
    saved.draft(svc, "b", "escrita justo antes de bloquear")
    svc.draft("c", "todavía en memoria al bloquear")  # not even committed yet
    svc.lock()
    db = raw_connect(data_dir)
    try:
        assert db.execute("SELECT count(*) FROM notes WHERE indexed=0").fetchone()[0] == 0
        rows = db.execute(
            "SELECT n.contact_id FROM notes_fts f JOIN notes n ON n.id=f.rowid "
            "WHERE f.text = n.text ORDER BY 1"
        ).fetchall()
        assert rows == [("a",), ("b",), ("c",)]
    finally:
        db.close()


def test_notes_committed_but_not_indexed_before_a_crash_are_indexed_at_unlock(
    make_service, data_dir
):
    svc = _service(make_service, NEVER_MS)
    svc.draft("c1", "texto viejo")
    svc.lock()
    db = raw_connect(data_dir)  # exactly what an autosave commit leaves before a SIGKILL
    db.execute("UPDATE notes SET text='texto nuevo con quokka', indexed=0 WHERE contact_id='c1'")
    db.close()
    svc.unlock(PASS)
    wait_until(
        lambda: _indexed(svc, "c1") == (1, "texto nuevo con quokka"),
        10,
        what="opening the store indexing what the crash left behind",
    )


@pytest.mark.slow
def test_after_a_real_sigkill_the_saved_text_is_searchable(make_service, tmp_path):
    d = tmp_path / "kill"
    d.mkdir()
    svc = make_service(directory=d)
    svc.init(PASS)
    svc.lock()
    key = data_key(d)
    text = kids.text_for(7) + " zorzal"
    res = kids.kill_while_typing(
        kids.context(), d, key, PASS, "k1", text, 40.0, random.Random(8).uniform(1.2, 1.5)
    )
    assert res.check_ok, res.problems
    assert res.saved and kids.lost_seconds(res, text) <= 1.0
    svc.unlock(PASS)
    wait_until(lambda: _indexed(svc, "k1") == (1, res.saved), 10)
    last_word = res.saved.split()[-1]
    assert "k1" in [h.contact_id for h in svc.search(last_word, limit=1000)]


def test_purge_leaves_nothing_of_an_indexed_or_lagging_note(make_service, fake_clock, data_dir):
    svc = _service(make_service, NEVER_MS)
    saved = Saved(svc.bus)
    svc.draft("old", "zebraindexed words")
    assert svc.flush()
    saved.draft(svc, "old", "quokkalagging words")  # committed, index still has the first text
    saved.draft(svc, "held", "quokkalagging held words")
    svc.set_legal_hold("held", True, "court order")
    fake_clock.advance(400 * 86400)
    assert _indexed(svc, "old") == (0, "zebraindexed words")
    assert svc.purge().contacts == 1
    assert svc.search("zebraindexed") == []
    assert [h.contact_id for h in svc.search("quokkalagging")] == ["held"]
    svc.lock()
    db = raw_connect(data_dir)
    try:
        blob = b"".join(bytes(r[0]) for r in db.execute("SELECT block FROM notes_fts_data"))
        content = " ".join(r[0] for r in db.execute("SELECT c0 FROM notes_fts_content"))
    finally:
        db.close()
    assert b"zebraindexed" not in blob and "zebraindexed" not in content
    assert "quokkalagging held" in content and "quokkalagging words" not in content


def test_a_failed_refresh_keeps_the_text_and_search_does_not_hang(make_service, monkeypatch):
    import sqlcipher3

    svc = _service(make_service, NEVER_MS)
    saved = Saved(svc.bus)
    store = svc.vault.store
    real = store.index_in
    failures = []

    def failing(db):
        if not failures:
            failures.append(1)
            raise sqlcipher3.OperationalError("disk I/O error")
        return real(db)

    monkeypatch.setattr(store.writer, "_index", failing)
    saved.draft(svc, "c1", "texto con golondrina")
    hits: list = []
    searcher = threading.Thread(target=lambda: hits.append(svc.search("golondrina")))
    searcher.start()  # the refresh fails: the search gives up waiting and runs on the old index
    wait_until(lambda: not searcher.is_alive(), what="the search returning")
    assert hits == [[]]
    assert failures and svc.notes("c1").text == "texto con golondrina"
    assert svc.flush()  # the text is saved; indexing is only late
    wait_until(lambda: [h.contact_id for h in svc.search("golondrina")] == ["c1"], 10)
