"""Notes: autosave, versions, search with highlights, clinical records, outbox, audit."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from storage import events as sev
from storage.records import RecordError, RiskAssessment, SafetyPlan
from tests.support.storage_helpers import PASS, raw_connect
from tests.support.toolkit import Recorder, wait_until


def test_draft_never_waits_on_the_writer(store):
    """200 keystrokes all return while the writer is stuck (bench/storage.py times them)."""
    gate = threading.Event()
    store.vault.store.writer.submit(lambda db: gate.wait(10))  # the writer is stuck on "disk"
    typist = threading.Thread(target=lambda: [store.draft("c1", "x" * i) for i in range(200)])
    typist.start()
    try:
        wait_until(lambda: not typist.is_alive(), what="200 keystrokes with the writer stuck")
    finally:
        gate.set()
        typist.join()
    assert store.flush()
    assert store.notes("c1").text == "x" * 199


def test_autosave_publishes_saving_then_saved(store, bus):
    rec = Recorder(bus, sev.AutosaveState)
    store.draft("c1", "a")
    store.draft("c1", "ab")
    assert store.flush()
    states = [(e.contact_id, e.state) for e in rec.events]
    assert states[0] == ("c1", sev.SAVING) and states[-1] == ("c1", sev.SAVED)
    assert store.notes("c1").text == "ab" and store.notes("c1").dirty


def test_pending_draft_is_what_notes_returns(store):
    gate = threading.Event()
    store.vault.store.writer.submit(lambda db: gate.wait(10))
    store.draft("c2", "not on disk yet")
    assert store.notes("c2").text == "not on disk yet"
    gate.set()


def test_versions_and_history(store):
    store.draft("c1", "first")
    assert store.save_note("c1") == 1
    assert store.save_note("c1") == 1  # nothing changed: no new version
    assert store.save_note("c1", "second") == 2
    hist = store.note_history("c1")
    assert [(v.version, v.text) for v in hist] == [(1, "first"), (2, "second")]
    assert store.notes("c1").version == 2 and not store.notes("c1").dirty


def test_search_highlights_and_is_empty_while_locked(store):
    store.draft("a", "La persona llamó muy angustiada por la noche")
    store.draft("b", "Plan de seguridad acordado con la hermana")
    store.draft("c", "Nothing relevant here")
    assert store.flush()
    hits = store.search("angustiada")
    assert [h.contact_id for h in hits] == ["a"]
    assert ("angustiada", True) in hits[0].parts()
    assert "<b>angustiada</b>" in hits[0].html()
    assert [h.contact_id for h in store.search("segur")] == ["b"]  # prefix while typing
    assert [h.contact_id for h in store.search("llamo")] == ["a"]  # accents folded
    assert store.search('" OR * NEAR(') == []  # user text is never FTS syntax
    assert store.search("") == []
    store.lock()
    assert store.search("angustiada") == []


def test_risk_assessment_four_areas_and_imminence(store):
    imminent = RiskAssessment(
        desire=frozenset({"hopelessness", "feeling_trapped"}),
        capability=frozenset({"lethal_means"}),
        intent=frozenset({"plan_with_known_method"}),
        buffers=frozenset({"ambivalence"}),
        comment="talked 40 min",
    )
    assert imminent.imminent
    assert not RiskAssessment(
        desire=imminent.desire,
        capability=imminent.capability,
        intent=imminent.intent,
        buffers=frozenset({"ambivalence", "social_supports"}),
    ).imminent
    with pytest.raises(RecordError, match="Unknown desire"):  # not a well-formed code
        RiskAssessment(desire=frozenset({"Sad!"}))
    with pytest.raises(RecordError, match="Unknown desire"):  # in no form the store knows
        store.add_risk_assessment("c1", RiskAssessment(desire=frozenset({"sad"})))
    saved = Recorder(store.bus, sev.RiskAssessmentSaved)
    aid = store.add_risk_assessment("c1", imminent)
    [back] = store.risk_assessments("c1")
    assert back.desire == imminent.desire and back.imminent and back.comment == "talked 40 min"
    assert saved.events == [sev.RiskAssessmentSaved("c1", aid, True)]
    store.add_risk_assessment("c1", RiskAssessment(desire=frozenset({"hopelessness"})))
    assert [e.imminent for e in saved.events] == [True, False]


def test_safety_plan_and_follow_ups(store, fake_clock):
    plan = SafetyPlan(warning_signs=("no sleep",), reasons_for_living=("her dog",))
    store.set_safety_plan("c1", plan)
    assert store.safety_plan("c1") == plan
    due = fake_clock.now() + dt.timedelta(hours=24)
    fid = store.add_follow_up("c1", due, max_attempts=3)
    assert store.follow_ups(due_before=due, open_only=True)[0].id == fid
    store.record_follow_up_attempt(fid, "no answer", reached=False)
    f = store.record_follow_up_attempt(fid, "voicemail", reached=False)
    assert (f.attempts, f.done) == (2, False)
    f = store.record_follow_up_attempt(fid, "no answer", reached=False)
    assert (f.attempts, f.done, f.outcome) == (3, True, "no answer")
    assert store.follow_ups(open_only=True) == []


def test_outbox_is_idempotent_and_escalations_mirror(store):
    assert store.outbox_add("escalation", "m1", b"\x00payload")
    assert not store.outbox_add("escalation", "m1", b"other")
    store.outbox_add("presence", "m2", b"p")
    assert [i.message_id for i in store.outbox_pending("escalation")] == ["m1"]
    assert store.outbox_pending()[0].payload == b"\x00payload"
    store.outbox_attempted("m1")
    assert store.outbox_pending("escalation")[0].attempts == 1
    assert store.outbox_mark_sent("m1") and not store.outbox_mark_sent("m1")
    assert [i.message_id for i in store.outbox_pending()] == ["m2"]
    store.record_escalation("e1", "c1", "urgent", "raised", {"to": "sup-1"})
    store.record_escalation("e1", "c1", "urgent", "acknowledged", {"by": "sup-1"})
    store.add_whisper("e1", "in", "ask about means")
    esc = store.escalation("e1")
    assert esc["state"] == "acknowledged" and esc["history"] == ["raised", "acknowledged"]
    assert store.whispers("e1")[0][:2] == ("in", "ask about means")
    with pytest.raises(RecordError):
        store.add_whisper("nope", "in", "x")
    store.set_contact_health("c1", {"mos": 4.1, "loss_pct": 0.5})
    assert store.contact("c1")["health"] == {"mos": 4.1, "loss_pct": 0.5}


def test_audit_chain_covers_actions(store, data_dir):
    store.draft("c1", "x")
    store.save_note("c1")
    store.notes("c1")
    store.search("x")
    store.audit("export", "c1", {"format": "pdf"})
    store.flush()
    store.lock()
    db = raw_connect(data_dir)
    actions = [r[0] for r in db.execute("SELECT action FROM audit ORDER BY id")]
    db.close()
    for a in ("store.init", "note.edit", "note.view", "note.search", "export"):
        assert a in actions
    store.unlock(PASS)
    assert store.check().ok


def test_purge_respects_retention_and_legal_hold_and_shreds(store, fake_clock, data_dir):
    store.draft("old", "zebracanary quokkapurged words")
    store.draft("held", "zebracanary held words")
    store.set_legal_hold("held", True, "court order")
    store.save_note("old")
    assert store.flush()
    fake_clock.advance(400 * 86400)
    store.draft("new", "recent words")
    assert store.flush()
    dry = store.purge(dry_run=True)
    assert (dry.contacts, dry.held) == (1, 1)
    assert store.contact("old") is not None
    done = store.purge()
    assert (done.contacts, done.held) == (1, 1)
    assert store.contact("old") is None and store.notes("old") is None
    assert store.note_history("old") == []
    assert [h.contact_id for h in store.search("zebracanary")] == ["held"]
    store.lock()
    db = raw_connect(data_dir)
    shadow = b"".join(bytes(r[0]) for r in db.execute("SELECT block FROM notes_fts_data"))
    actions = [r[0] for r in db.execute("SELECT action FROM audit")]
    db.close()
    assert (
        b"zebracanary" in shadow and b"quokkapurged" not in shadow
    )  # the FTS index kept no token of the purged note
    assert "purge" in actions
