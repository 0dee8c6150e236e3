"""Contacts logged from outside the system, and abusive / frequent-caller flags kept per
salted caller key in the ``settings`` table (no number anywhere but ``contacts.caller``)."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest

from storage.errors import StoreIsLocked
from storage.records import RecordError
from tests.support.storage_helpers import PASS, audit_rows, raw_connect, ring

NUMBER = "+52 55 5555 0101"
SAME_CALLER = "(55) 5555-0101"
OTHER = "+52 33 1234 5678"
NOTE = "Llamó desde el teléfono de su vecina; acordamos hablar mañana."


def _settings(data_dir) -> dict[str, str]:
    db = raw_connect(data_dir)
    try:
        return dict(db.execute("SELECT key, value FROM settings").fetchall())
    finally:
        db.close()


# -- contacts outside the system ----------------------------------------------------------------
def test_an_outside_contact_is_a_contact_with_its_note_searchable_and_audited(
    store, data_dir, fake_clock, caplog
):
    caplog.set_level(logging.DEBUG)
    at = fake_clock.now() - dt.timedelta(hours=2)
    cid = store.log_outside_contact(at, "in_person", 25, "support_given", NOTE)
    row = store.contact(cid)
    assert row["channel"] == "outside:in_person"
    assert row["disposition"] == "support_given"
    assert row["rung_at"] == row["answered_at"]
    began = dt.datetime.fromisoformat(row["rung_at"])
    assert began == at
    assert dt.datetime.fromisoformat(row["ended_at"]) - began == dt.timedelta(minutes=25)
    assert row["caller"] is None and row["caller_key"] is None
    # its note is version 1, in the history and in the search at once
    history = store.note_history(cid)
    assert [v.version for v in history] == [1] and history[0].text == NOTE
    assert store.notes(cid).text == NOTE
    assert [h.contact_id for h in store.search("vecina")] == [cid]
    assert cid in [c["id"] for c in store.contacts()]
    # audited with how, never what
    (subject, detail), *_ = audit_rows(data_dir, "contact.log_outside")
    assert subject == cid
    assert detail == {"channel": "outside:in_person", "disposition": "support_given", "minutes": 25}
    assert [s for s, _d in audit_rows(data_dir, "note.edit")] == [cid]
    db = raw_connect(data_dir)
    try:
        audit = "\n".join(str(r) for r in db.execute("SELECT * FROM audit").fetchall())
    finally:
        db.close()
    assert "vecina" not in audit and "vecina" not in caplog.text


def test_an_outside_contact_without_a_note_has_no_note(store, fake_clock):
    cid = store.log_outside_contact(fake_clock.now(), "phone", 0, "referred", "   ")
    assert store.contact(cid)["channel"] == "outside:phone"
    assert store.note_history(cid) == []


@pytest.mark.parametrize(
    ("kind", "minutes", "disposition", "ahead_h"),
    [
        ("fax", 10, "referred", 0),
        ("phone", -1, "referred", 0),
        ("phone", 24 * 60 + 1, "referred", 0),
        ("phone", 10, "", 0),
        ("other", 10, "referred", 2),
    ],
)
def test_an_outside_contact_is_refused_with_a_reason(
    store, fake_clock, kind, minutes, disposition, ahead_h
):
    at = fake_clock.now() + dt.timedelta(hours=ahead_h)
    with pytest.raises(RecordError):
        store.log_outside_contact(at, kind, minutes, disposition, NOTE)
    assert store.contacts() == []


def test_logging_an_outside_contact_is_refused_while_locked(store, fake_clock):
    store.lock("user")
    with pytest.raises(StoreIsLocked):
        store.log_outside_contact(fake_clock.now(), "phone", 5, "referred", NOTE)


# -- caller flags -----------------------------------------------------------------------------
def test_a_flag_follows_the_caller_to_their_next_call_and_is_audited(store, data_dir):
    ring(store, "c1", NUMBER)
    assert store.caller_flag("c1") is None
    store.set_caller_flag("c1", "abusive")
    assert store.caller_flag("c1") == "abusive"
    # the same number written another way rings again: the flag is found at once
    ring(store, "c2", SAME_CALLER)
    assert store.caller_flag("c2") == "abusive"
    ring(store, "c3", OTHER)
    assert store.caller_flag("c3") is None
    # replacing and removing, from the later contact
    store.set_caller_flag("c2", "frequent")
    assert store.caller_flag("c1") == "frequent"
    assert store.clear_caller_flag("c2") is True
    assert store.caller_flag("c1") is None
    assert store.clear_caller_flag("c2") is False
    assert audit_rows(data_dir, "caller.flag") == [
        ("c1", {"flag": "abusive", "replaced": None}),
        ("c2", {"flag": "frequent", "replaced": "abusive"}),
    ]
    assert audit_rows(data_dir, "caller.unflag") == [("c2", {"flag": "frequent"})]


def test_the_flag_is_stored_by_caller_key_without_the_number(store, data_dir, caplog):
    caplog.set_level(logging.DEBUG)
    ring(store, "c1", NUMBER)
    store.set_caller_flag("c1", "frequent")
    key = store.contact("c1")["caller_key"]
    settings = _settings(data_dir)
    stored = json.loads(settings["caller_flag." + key])
    assert stored["flag"] == "frequent" and stored["by"] and stored["set_at"]
    digits = "5555550101"
    flat = json.dumps(settings) + caplog.text
    db = raw_connect(data_dir)
    try:
        flat += "\n".join(str(r) for r in db.execute("SELECT * FROM audit").fetchall())
    finally:
        db.close()
    assert digits not in flat and "5555 0101" not in flat
    assert key not in "".join(str(d) for _s, d in audit_rows(data_dir, "caller.flag"))


def test_a_withheld_number_cannot_be_flagged(store):
    ring(store, "c1", None)
    ring(store, "c2", "911")
    for cid in ("c1", "c2", "never-rang"):
        with pytest.raises(RecordError):
            store.set_caller_flag(cid, "abusive")
        assert store.caller_flag(cid) is None
        assert store.clear_caller_flag(cid) is False


def test_an_unknown_flag_is_refused(store):
    ring(store, "c1", NUMBER)
    with pytest.raises(RecordError):
        store.set_caller_flag("c1", "vip")


def test_flags_survive_a_lock_and_need_the_store_unlocked(store):
    ring(store, "c1", NUMBER)
    store.set_caller_flag("c1", "abusive")
    store.lock("user")
    for call in (
        lambda: store.caller_flag("c1"),
        lambda: store.set_caller_flag("c1", "frequent"),
        lambda: store.clear_caller_flag("c1"),
    ):
        with pytest.raises(StoreIsLocked):
            call()
    store.unlock(PASS)
    assert store.caller_flag("c1") == "abusive"
