"""Follow-ups in the case store: the next attempt after an unreached one, outcomes that
close a follow-up, due ones (also those that fell due while the laptop was off), the number
to call back (audited, never in a log or an audit row), each attempt in the audit log."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest

from calls.model import Call
from core.config import Config
from core.privacy import PLACEHOLDER, Personal
from storage.errors import StoreIsLocked
from storage.records import FOLLOW_UP_OUTCOMES, FOLLOW_UP_REACHED, RecordError
from tests.support.storage_helpers import FAST, PASS

NUMBER = "+52 55 5555 0199"
H = dt.timedelta(hours=1)


def _call(store, fake_clock, contact_id: str = "c1", number: str = NUMBER) -> None:
    """A contact row as a ringing call leaves it (the caller's number included)."""
    call = Call(contact_id, "phone", Personal(number), fake_clock.now(), fake_clock.monotonic())
    cs = store.vault.store
    cs.writer.call(lambda db: cs.record_call_in(db, call, {}))


def _audit(store, action: str) -> list[tuple[str, dict]]:
    rows = store.vault.store._read(
        "SELECT subject, detail FROM audit WHERE action=? ORDER BY id", (action,)
    )
    return [(subject, json.loads(detail)) for subject, detail in rows]


def test_an_unreached_attempt_is_due_again_after_the_retry_time(store, fake_clock):
    now = fake_clock.now()
    fid = store.add_follow_up("c1", now + 24 * H, max_attempts=3)
    fake_clock.advance(25 * 3600)
    f = store.record_follow_up_attempt(fid, "no_answer", reached=False)
    assert (f.attempts, f.done, f.outcome) == (1, False, "no_answer")
    assert f.due == fake_clock.now() + 4 * H  # clinical.follow_up_retry_h (4)
    assert f.last_attempt_at is not None
    assert store.due_follow_ups(fake_clock.now()) == []  # not due until the retry time
    fake_clock.advance(4 * 3600)
    assert [x.id for x in store.due_follow_ups(fake_clock.now())] == [fid]


def test_the_retry_time_is_the_organisations(make_service, fake_clock):
    svc = make_service(Config(dict(FAST, **{"clinical.follow_up_retry_h": 2.0})))
    svc.init(PASS)
    fid = svc.add_follow_up("c1", fake_clock.now(), max_attempts=3)
    f = svc.record_follow_up_attempt(fid, "voicemail", reached=False)
    assert f.due == fake_clock.now() + 2 * H


@pytest.mark.parametrize("outcome", FOLLOW_UP_OUTCOMES)
def test_each_outcome_closes_the_follow_up_or_keeps_it_open(store, fake_clock, outcome):
    fid = store.add_follow_up("c1", fake_clock.now(), max_attempts=3)
    f = store.record_follow_up_attempt(fid, outcome, reached=outcome in FOLLOW_UP_REACHED)
    closes = outcome in ("reached", "declined", "wrong_number")
    assert f.done is closes and f.attempts == 1 and f.outcome == outcome
    if closes:  # the due time stays as it was: the follow-up is finished, not rescheduled
        assert f.due == fake_clock.now()
        assert store.follow_ups(open_only=True) == []


def test_the_last_attempt_closes_it_and_no_attempt_follows_a_closed_one(store, fake_clock):
    fid = store.add_follow_up("c1", fake_clock.now(), max_attempts=2)
    assert not store.record_follow_up_attempt(fid, "no_answer", reached=False).done
    f = store.record_follow_up_attempt(fid, "voicemail", reached=False)
    assert f.done and f.attempts == 2
    with pytest.raises(RecordError, match="already closed"):
        store.record_follow_up_attempt(fid, "reached", reached=True)
    with pytest.raises(RecordError):
        store.record_follow_up_attempt(fid + 99, "reached", reached=True)
    with pytest.raises(RecordError):
        store.record_follow_up_attempt(fid, "", reached=False)
    assert store.follow_ups(follow_up_id=fid)[0].attempts == 2


def test_due_includes_those_that_fell_due_while_the_laptop_was_off(make_service, fake_clock):
    svc = make_service()
    svc.init(PASS)
    soon = svc.add_follow_up("c1", fake_clock.now() + 24 * H, max_attempts=3)
    later = svc.add_follow_up("c2", fake_clock.now() + 72 * H, max_attempts=3)
    earlier = svc.add_follow_up("c3", fake_clock.now() + 2 * H, max_attempts=3)
    assert svc.due_follow_ups(fake_clock.now()) == []
    svc.stop()  # the laptop goes off for 30 hours
    fake_clock.advance(30 * 3600)
    again = make_service()
    again.unlock(PASS)
    due = again.due_follow_ups(fake_clock.now())
    assert [f.id for f in due] == [earlier, soon]  # the most overdue first
    assert all(f.is_due(fake_clock.now()) for f in due)
    assert [f.id for f in again.follow_ups(open_only=True)] == [earlier, soon, later]


def test_a_follow_up_knows_when_its_call_was(store, fake_clock):
    _call(store, fake_clock)
    fid = store.add_follow_up("c1", fake_clock.now() + 24 * H, max_attempts=3)
    f = store.follow_ups(follow_up_id=fid)[0]
    assert f.contact_at is not None
    assert dt.datetime.fromisoformat(f.contact_at) == fake_clock.now()


def test_the_number_to_call_back_is_personal_audited_and_never_logged(store, fake_clock, caplog):
    caplog.set_level(logging.DEBUG)
    _call(store, fake_clock)
    fid = store.add_follow_up("c1", fake_clock.now() + 24 * H, max_attempts=3)
    number = store.follow_up_caller(fid)
    assert isinstance(number, Personal) and number.reveal() == NUMBER
    assert str(number) == PLACEHOLDER and NUMBER not in repr(store.follow_ups())
    store.flush()
    assert _audit(store, "follow_up.view") == [("c1", {"id": fid})]
    no_number = store.add_follow_up("c2", fake_clock.now(), max_attempts=3)
    assert store.follow_up_caller(no_number) is None
    with pytest.raises(RecordError):
        store.follow_up_caller(no_number + 99)
    db_text = json.dumps(store.vault.store._read("SELECT * FROM audit"))
    assert NUMBER not in db_text and "5555" not in caplog.text


def test_each_attempt_is_an_audit_row_with_its_outcome(store, fake_clock):
    fid = store.add_follow_up("c1", fake_clock.now(), max_attempts=3)
    store.record_follow_up_attempt(fid, "no_answer", reached=False)
    store.record_follow_up_attempt(fid, "reached", reached=True)
    created = _audit(store, "follow_up.create")
    assert created[0][1]["id"] == fid and created[0][1]["max_attempts"] == 3
    attempts = _audit(store, "follow_up.attempt")
    assert [(d["attempt"], d["outcome"], d["done"]) for _s, d in attempts] == [
        (1, "no_answer", False),
        (2, "reached", True),
    ]
    assert "due_at" in attempts[0][1] and "due_at" not in attempts[1][1]


def test_follow_ups_are_refused_while_locked(store, fake_clock):
    store.lock()
    with pytest.raises(StoreIsLocked):
        store.due_follow_ups(fake_clock.now())
    with pytest.raises(StoreIsLocked):
        store.follow_up_caller(1)
    with pytest.raises(StoreIsLocked):
        store.add_follow_up("c1", fake_clock.now())
